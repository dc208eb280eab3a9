//! Process-wide settings every program that trains with the runtime should apply first
//! (`expc` and the benchmarks, so that they measure what `expc` does).

/// `mi_option_purge_delay` in the mimalloc 2 `mi_option_e` enum that `libmimalloc-sys` builds.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells mimalloc never to hand freed memory back to the OS. A training step frees and
/// reallocates the same large buffers every few milliseconds; with the default 10 ms purge
/// delay the kernel zeroes their pages again each time (10% of a step in profiles, 3-6% of
/// training speed in bench/README.md). The cost is that the process keeps its peak footprint.
fn keep_freed_memory() {
    // SAFETY: `mi_option_set` only stores an integer in mimalloc's option table; any value is
    // valid for this option (-1: never purge), and it may be called at any time.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1)
    };
}

/// Leaves the cores to the runtime's own kernels (products, convolutions, compiled
/// elementwise functions and optimizer steps, all on the rayon pool that `RAYON_NUM_THREADS`
/// sizes): Candle's elementwise ops run on one thread unless `CANDLE_NUM_THREADS` says
/// otherwise. Candle's pool otherwise keeps a worker spinning between ops, which on a 2-core
/// machine took a core from the products (2-thread training was no faster than 1-thread).
fn quiet_candle_pool() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // Set before any thread starts and before Candle reads it (lazily, on its first op).
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

/// Applies the settings above: call it first thing in `main`, before any thread starts.
pub fn process_settings() {
    keep_freed_memory();
    quiet_candle_pool();
}
