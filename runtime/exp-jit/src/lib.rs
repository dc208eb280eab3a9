//! A cranelift JIT for elementwise scalar functions: compiles an IR [`ScalarFn`] to a native
//! loop over `f32` slices, four lanes (`F32X4`) at a time.
//!
//! [`Kernel::compile`] builds one kernel; [`kernel`] goes through a process-wide cache keyed
//! by the function's printed body. [`Kernel::run`] takes one [`Input`] per function input (a
//! slice, or a scalar that broadcasts) and one output slice per function output, all of the
//! same length. The last `n % 4` elements run through the same vector code on padded copies,
//! so the tail computes bit-identically to the body.
//!
//! Which ops are inline code and which call back into Rust is documented in [`math`].

// Running generated machine code needs `unsafe`: transmuting the finalized code pointer to a
// function type, calling it, and freeing the JIT memory. All of it is confined to this file,
// except the one call into `gemm` behind the checked views of `gemm.rs`.
#![allow(unsafe_code)]

mod codegen;
pub mod gemm;
mod math;

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::sync::{Arc, Mutex, OnceLock};

use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};
use exp_ir::ScalarFn;
use rayon::prelude::*;

/// Why a function could not be compiled or a kernel could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JitError {
    /// The function is malformed (an undefined operand, a wrong operand count).
    #[error("cannot compile `{name}`: {reason}")]
    Invalid {
        /// The function's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Cranelift rejected the generated code.
    #[error("cranelift failed on `{name}`: {reason}")]
    Codegen {
        /// The function's name.
        name: String,
        /// Cranelift's message.
        reason: String,
    },
    /// [`Kernel::run`] got the wrong number of inputs or outputs.
    #[error("kernel `{name}` takes {expected} {what}, got {got}")]
    Arity {
        /// The function's name.
        name: String,
        /// `"inputs"` or `"outputs"`.
        what: &'static str,
        /// The function's count.
        expected: usize,
        /// The count passed.
        got: usize,
    },
    /// The slices passed to [`Kernel::run`] differ in length.
    #[error("kernel `{name}`: {what} has {got} elements, expected {expected}")]
    Length {
        /// The function's name.
        name: String,
        /// Which argument, like `input 2` or `output 0`.
        what: String,
        /// The common length.
        expected: usize,
        /// This argument's length.
        got: usize,
    },
}

/// One argument of [`Kernel::run`].
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// One value per element.
    Slice(&'a [f32]),
    /// The same value for every element.
    Scalar(f32),
}

/// One argument of [`Kernel::run_in_place`].
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// An ordinary input.
    Input(Input<'a>),
    /// The current contents of output `j`, read before the kernel overwrites them.
    Output(usize),
}

/// Below this many elements a kernel runs on one thread: waking another costs more than it saves.
pub const PARALLEL_MIN: usize = 1 << 15;

type KernelFn = unsafe extern "C" fn(*const *const f32, *const usize, *const *mut f32, usize);

/// A compiled [`ScalarFn`], owning its executable memory.
pub struct Kernel {
    name: String,
    inputs: usize,
    outputs: usize,
    func: KernelFn,
    module: Option<JITModule>,
}

// SAFETY: after `finalize_definitions` the module is never touched again except by `Drop`,
// which has exclusive access; the code it owns is immutable and reentrant (it only reads its
// arguments and writes through the output pointers it is given).
unsafe impl Send for Kernel {}
// SAFETY: see `Send`; `run` only reads `func`.
unsafe impl Sync for Kernel {}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("name", &self.name)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish()
    }
}

impl Kernel {
    /// Compiles `f` into a fresh JIT module.
    pub fn compile(f: &ScalarFn) -> Result<Kernel, JitError> {
        codegen::validate(f)?;
        let fail = |reason: String| JitError::Codegen { name: f.name.clone(), reason };
        let mut builder = JITBuilder::with_flags(&[("opt_level", "speed")], default_libcall_names())
            .map_err(|e| fail(e.to_string()))?;
        for call in math::Libcall::ALL {
            let (sym, _, ptr) = call.symbol();
            builder.symbol(sym, ptr);
        }
        let mut module = JITModule::new(builder);
        let mut imports = Vec::new();
        for call in codegen::libcalls(f) {
            let (sym, arity, _) = call.symbol();
            let sig = codegen::libcall_signature(&module, arity);
            let id = module.declare_function(sym, Linkage::Import, &sig).map_err(|e| fail(e.to_string()))?;
            imports.push((call, id));
        }
        let id = codegen::define(&mut module, f, &imports).map_err(fail)?;
        module.finalize_definitions().map_err(|e| fail(e.to_string()))?;
        let ptr = module.get_finalized_function(id);
        // SAFETY: `define` built this function with exactly the `KernelFn` signature in the
        // module's default (C) calling convention.
        let func = unsafe { std::mem::transmute::<*const u8, KernelFn>(ptr) };
        Ok(Kernel {
            name: f.name.clone(),
            inputs: f.inputs.len(),
            outputs: f.outputs.len(),
            func,
            module: Some(module),
        })
    }

    /// Like [`Kernel::run`], split over up to `threads` threads of the rayon pool in chunks of
    /// a multiple of 4 elements (each element is computed by the same code either way, so the
    /// results do not depend on the thread count). Small inputs run on the calling thread.
    pub fn run_parallel(
        &self,
        inputs: &[Input<'_>],
        outputs: &mut [&mut [f32]],
        threads: usize,
    ) -> Result<(), JitError> {
        let args: Vec<Arg<'_>> = inputs.iter().map(|i| Arg::Input(*i)).collect();
        self.run_in_place(&args, outputs, threads)
    }

    /// The compiled function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the kernel elementwise: `outputs[j][e] = f(inputs[..][e])[j]`. All slices must
    /// have the same length; scalars broadcast. Nothing is written when the arguments are
    /// invalid.
    pub fn run(&self, inputs: &[Input<'_>], outputs: &mut [&mut [f32]]) -> Result<(), JitError> {
        let args: Vec<Arg<'_>> = inputs.iter().map(|i| Arg::Input(*i)).collect();
        self.run_in_place(&args, outputs, 1)
    }

    /// Like [`Kernel::run_parallel`], but an input given as [`Arg::Output`]`(j)` is read from
    /// output `j`, which the kernel then overwrites: an update in place, such as an optimizer
    /// step writing the parameter and its state over their old values with no new buffers.
    pub fn run_in_place(&self, args: &[Arg<'_>], outputs: &mut [&mut [f32]], threads: usize) -> Result<(), JitError> {
        let inputs: Vec<Input<'_>> = args
            .iter()
            .map(|a| match a {
                Arg::Input(i) => *i,
                Arg::Output(_) => Input::Scalar(0.0),
            })
            .collect();
        let n = self.check(&inputs, outputs)?;
        if let Some(j) = args.iter().find_map(|a| match a {
            Arg::Output(j) if *j >= outputs.len() => Some(*j),
            _ => None,
        }) {
            return Err(JitError::Invalid {
                name: self.name.clone(),
                reason: format!("no output {j} to read in place"),
            });
        }
        // SAFETY: the kernel writes only initialized `f32` values through these views, so the
        // slices stay initialized; `Arg::Output` inputs read them before they are overwritten.
        let mut outs: Vec<&mut [MaybeUninit<f32>]> = outputs
            .iter_mut()
            .map(|o| unsafe { std::slice::from_raw_parts_mut(o.as_mut_ptr().cast::<MaybeUninit<f32>>(), o.len()) })
            .collect();
        self.split_run(args, &mut outs, n, threads);
        Ok(())
    }

    /// Runs the kernel on `n` elements into fresh buffers, one per output, split over up to
    /// `threads` threads like [`Kernel::run_parallel`]. The buffers are not zeroed first: the
    /// kernel writes every element.
    pub fn run_new(&self, inputs: &[Input<'_>], n: usize, threads: usize) -> Result<Vec<Vec<f32>>, JitError> {
        if inputs.len() != self.inputs {
            return Err(JitError::Arity {
                name: self.name.clone(),
                what: "inputs",
                expected: self.inputs,
                got: inputs.len(),
            });
        }
        for (i, input) in inputs.iter().enumerate() {
            if let Input::Slice(s) = input {
                if s.len() != n {
                    let (name, what) = (self.name.clone(), format!("input {i}"));
                    return Err(JitError::Length { name, what, expected: n, got: s.len() });
                }
            }
        }
        let mut bufs: Vec<Vec<f32>> = (0..self.outputs).map(|_| Vec::with_capacity(n)).collect();
        {
            let mut outs: Vec<&mut [MaybeUninit<f32>]> =
                bufs.iter_mut().map(|b| &mut b.spare_capacity_mut()[..n]).collect();
            let args: Vec<Arg<'_>> = inputs.iter().map(|i| Arg::Input(*i)).collect();
            self.split_run(&args, &mut outs, n, threads);
        }
        for b in &mut bufs {
            // SAFETY: `split_run` wrote all `n` elements of every output: the vector loop the
            // first `n - n % 4`, the tail step the rest.
            unsafe { b.set_len(n) };
        }
        Ok(bufs)
    }

    /// Splits a checked run over threads in chunks of a multiple of 4 elements.
    fn split_run(&self, args: &[Arg<'_>], outputs: &mut [&mut [MaybeUninit<f32>]], n: usize, threads: usize) {
        if threads <= 1 || n < PARALLEL_MIN {
            self.run_unchecked(args, outputs, n);
            return;
        }
        let chunk = n.div_ceil(threads).next_multiple_of(4);
        let mut per_thread: Vec<Vec<&mut [MaybeUninit<f32>]>> = (0..n.div_ceil(chunk)).map(|_| Vec::new()).collect();
        for out in outputs.iter_mut() {
            for (t, piece) in out.chunks_mut(chunk).enumerate() {
                per_thread[t].push(piece);
            }
        }
        per_thread.into_par_iter().enumerate().for_each(|(t, mut outs)| {
            let (a, b) = (t * chunk, ((t + 1) * chunk).min(n));
            let args: Vec<Arg<'_>> = args
                .iter()
                .map(|x| match x {
                    Arg::Input(Input::Slice(s)) => Arg::Input(Input::Slice(&s[a..b])),
                    other => *other,
                })
                .collect();
            self.run_unchecked(&args, &mut outs, b - a);
        });
    }

    /// The loop behind every `run`: arguments already checked to have `n` elements each. It
    /// writes every element of every output; an `Arg::Output` input must be initialized.
    fn run_unchecked(&self, args: &[Arg<'_>], outputs: &mut [&mut [MaybeUninit<f32>]], n: usize) {
        let n4 = n - n % 4;
        let splats: Vec<[f32; 4]> =
            args.iter().map(|a| if let Arg::Input(Input::Scalar(s)) = a { [*s; 4] } else { [0.0; 4] }).collect();
        if n4 > 0 {
            let mut ins = Vec::with_capacity(args.len());
            let mut masks = Vec::with_capacity(args.len());
            for (arg, splat) in args.iter().zip(&splats) {
                let (ptr, mask) = match arg {
                    Arg::Input(Input::Slice(s)) => (s.as_ptr(), usize::MAX),
                    Arg::Input(Input::Scalar(_)) => (splat.as_ptr(), 0),
                    Arg::Output(j) => (outputs[*j].as_ptr().cast::<f32>(), usize::MAX),
                };
                ins.push(ptr);
                masks.push(mask);
            }
            let outs: Vec<*mut f32> = outputs.iter_mut().map(|o| o.as_mut_ptr().cast::<f32>()).collect();
            // SAFETY: every slice input and output holds at least `n4` elements, every scalar
            // input points at 4 elements and is read with a zero offset mask, and `n4` is a
            // multiple of 4, so each 16-byte load and store is in bounds. An input read from an
            // output aliases it only at the same offset: the generated loop loads every input
            // of a group of 4 before it stores any output of that group (the loads carry no
            // `readonly` flag, so cranelift keeps them ordered before the stores), so each
            // element is read before it is overwritten.
            unsafe { (self.func)(ins.as_ptr(), masks.as_ptr(), outs.as_ptr(), n4) };
        }
        if n4 < n {
            let tail = n - n4;
            let mut bufs = splats;
            for (arg, buf) in args.iter().zip(&mut bufs) {
                match arg {
                    Arg::Input(Input::Slice(s)) => buf[..tail].copy_from_slice(&s[n4..]),
                    Arg::Output(j) => {
                        for (d, v) in buf[..tail].iter_mut().zip(&outputs[*j][n4..]) {
                            // SAFETY: an output read in place is initialized (`run_in_place`
                            // takes `&mut [f32]`); this tail has not been written yet.
                            *d = unsafe { v.assume_init() };
                        }
                    }
                    Arg::Input(Input::Scalar(_)) => {}
                }
            }
            let mut outs = vec![[0.0f32; 4]; outputs.len()];
            let ins: Vec<*const f32> = bufs.iter().map(|b| b.as_ptr()).collect();
            let masks = vec![0usize; args.len()];
            let out_ptrs: Vec<*mut f32> = outs.iter_mut().map(|o| o.as_mut_ptr()).collect();
            // SAFETY: every buffer holds exactly one group of 4 elements, which is all that
            // `n = 4` touches.
            unsafe { (self.func)(ins.as_ptr(), masks.as_ptr(), out_ptrs.as_ptr(), 4) };
            for (o, buf) in outputs.iter_mut().zip(&outs) {
                for (d, v) in o[n4..].iter_mut().zip(&buf[..tail]) {
                    d.write(*v);
                }
            }
        }
    }

    /// Validates arity and lengths; returns the common length.
    fn check(&self, inputs: &[Input<'_>], outputs: &[&mut [f32]]) -> Result<usize, JitError> {
        let arity = |what, expected, got| JitError::Arity { name: self.name.clone(), what, expected, got };
        if inputs.len() != self.inputs {
            return Err(arity("inputs", self.inputs, inputs.len()));
        }
        if outputs.len() != self.outputs {
            return Err(arity("outputs", self.outputs, outputs.len()));
        }
        let lens = inputs
            .iter()
            .enumerate()
            .filter_map(|(i, x)| match x {
                Input::Slice(s) => Some((format!("input {i}"), s.len())),
                Input::Scalar(_) => None,
            })
            .chain(outputs.iter().enumerate().map(|(j, o)| (format!("output {j}"), o.len())));
        let mut n = None;
        for (what, len) in lens {
            match n {
                None => n = Some(len),
                Some(expected) if expected != len => {
                    return Err(JitError::Length { name: self.name.clone(), what, expected, got: len });
                }
                Some(_) => {}
            }
        }
        Ok(n.unwrap_or(0))
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: `func` points into this module and dies with `self`; no call can be in
            // flight because `run` borrows `self`.
            unsafe { module.free_memory() };
        }
    }
}

/// The cache key: everything that determines the generated code, printed.
fn cache_key(f: &ScalarFn) -> String {
    format!("{}|{:?}|{:?}", f.inputs.len(), f.body, f.outputs.iter().map(|o| o.value).collect::<Vec<_>>())
}

/// The kernel for `f` from the process-wide cache, compiling it on first use. Functions with
/// the same body share a kernel whatever their names; a function is compiled at most once.
pub fn kernel(f: &ScalarFn) -> Result<Arc<Kernel>, JitError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Kernel>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = cache_key(f);
    // Compiling under the lock (well under a millisecond) keeps concurrent first uses from
    // compiling the same function twice.
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = map.get(&key) {
        return Ok(Arc::clone(k));
    }
    let k = Arc::new(Kernel::compile(f)?);
    map.insert(key, Arc::clone(&k));
    Ok(k)
}

#[cfg(test)]
mod tests;
