//! Seeds: one base seed per run and one derived seed per purpose.
//!
//! Derivation lives here, not in the runtime, so that the compiler (which prints the derived
//! seeds into the IR) and the runtime (which may re-derive them, for example per sweep point)
//! can never disagree.
//! The function is fixed forever: changing it would silently change every run's randomness
//! while leaving the recipe text identical.
//!
//! `derive_seed(base, purpose) = splitmix64(base XOR fnv1a64(purpose name))`, where the purpose
//! name is the lowercase word printed in the IR (`init`, `shuffle`, ...).
//! FNV-1a separates the purposes; SplitMix64 (Steele, Lea and Flood, 2014) then mixes the bits
//! so nearby base seeds (0, 1, 2 in a sweep) give unrelated streams.

use serde::{Deserialize, Serialize};

/// What a derived seed is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SeedPurpose {
    /// Parameter initialization.
    Init,
    /// Shuffling the training split each epoch.
    Shuffle,
    /// Dropout masks.
    Dropout,
    /// Noise drawn by optimizer update rules (the `noise` input of a scalar function).
    Noise,
    /// Random data augmentation.
    Augment,
    /// Synthetic data generation and random splits.
    Data,
}

impl SeedPurpose {
    /// Every purpose, in the order the IR prints them.
    pub const ALL: [SeedPurpose; 6] = [
        SeedPurpose::Init,
        SeedPurpose::Shuffle,
        SeedPurpose::Dropout,
        SeedPurpose::Noise,
        SeedPurpose::Augment,
        SeedPurpose::Data,
    ];

    /// The lowercase word used in the text form and hashed by [`derive_seed`].
    pub fn name(self) -> &'static str {
        match self {
            SeedPurpose::Init => "init",
            SeedPurpose::Shuffle => "shuffle",
            SeedPurpose::Dropout => "dropout",
            SeedPurpose::Noise => "noise",
            SeedPurpose::Augment => "augment",
            SeedPurpose::Data => "data",
        }
    }

    /// The purpose printed as `name`, if any.
    pub fn from_name(name: &str) -> Option<SeedPurpose> {
        SeedPurpose::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The SplitMix64 finalizer: a bijective mix of all 64 bits.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 64-bit FNV-1a hash of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01B3))
}

/// The seed for `purpose` in a run whose base seed is `base`.
pub fn derive_seed(base: u64, purpose: SeedPurpose) -> u64 {
    splitmix64(base ^ fnv1a64(purpose.name().as_bytes()))
}

/// The base seed and the seed derived from it for each purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seeds {
    /// The experiment's `seed`.
    pub base: u64,
    /// `derive_seed(base, Init)`.
    pub init: u64,
    /// `derive_seed(base, Shuffle)`.
    pub shuffle: u64,
    /// `derive_seed(base, Dropout)`.
    pub dropout: u64,
    /// `derive_seed(base, Noise)`.
    pub noise: u64,
    /// `derive_seed(base, Augment)`.
    pub augment: u64,
    /// `derive_seed(base, Data)`.
    pub data: u64,
}

impl Seeds {
    /// All seeds derived from `base`.
    pub fn from_base(base: u64) -> Seeds {
        let d = |p| derive_seed(base, p);
        Seeds {
            base,
            init: d(SeedPurpose::Init),
            shuffle: d(SeedPurpose::Shuffle),
            dropout: d(SeedPurpose::Dropout),
            noise: d(SeedPurpose::Noise),
            augment: d(SeedPurpose::Augment),
            data: d(SeedPurpose::Data),
        }
    }

    /// The stored seed for `purpose`.
    pub fn get(&self, purpose: SeedPurpose) -> u64 {
        match purpose {
            SeedPurpose::Init => self.init,
            SeedPurpose::Shuffle => self.shuffle,
            SeedPurpose::Dropout => self.dropout,
            SeedPurpose::Noise => self.noise,
            SeedPurpose::Augment => self.augment,
            SeedPurpose::Data => self.data,
        }
    }

    /// A mutable reference to the stored seed for `purpose` (used by the parser).
    pub fn get_mut(&mut self, purpose: SeedPurpose) -> &mut u64 {
        match purpose {
            SeedPurpose::Init => &mut self.init,
            SeedPurpose::Shuffle => &mut self.shuffle,
            SeedPurpose::Dropout => &mut self.dropout,
            SeedPurpose::Noise => &mut self.noise,
            SeedPurpose::Augment => &mut self.augment,
            SeedPurpose::Data => &mut self.data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the derivation: if this test changes, every recorded run changes its randomness.
    #[test]
    fn derivation_is_pinned() {
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(fnv1a64(b""), 0xCBF2_9CE4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xAF63_DC4C_8601_EC8C);
        assert_eq!(derive_seed(0, SeedPurpose::Init), splitmix64(fnv1a64(b"init")));
    }

    #[test]
    fn purposes_and_bases_give_distinct_seeds() {
        let mut seen = std::collections::BTreeSet::new();
        for base in 0..50 {
            let s = Seeds::from_base(base);
            for p in SeedPurpose::ALL {
                assert!(seen.insert(s.get(p)), "collision at base {base} {p:?}");
            }
        }
    }
}
