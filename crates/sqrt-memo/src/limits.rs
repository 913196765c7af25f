//! Size limits on what the arithmetic and the memo accept, checked before
//! anything is allocated: a request for four billion digits, or a number
//! read from an endless file, is a typed error, not an out-of-memory abort
//! in GMP after a minute of work.

/// What the arithmetic and the memo accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most fractional digits of a root (default 1,000,000: about 4 s of
    /// GMP time for a number of that size on a 2026 laptop core).
    pub max_digits: u32,
    /// Most decimal digits of the number (default 2,000,000).
    pub max_number_digits: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_digits: 1_000_000,
            max_number_digits: 2_000_000,
        }
    }
}

impl Limits {
    /// Most bits of a number of `max_number_digits` decimal digits
    /// (`10^d < 2^(3.33 d)`), the bound checked on integers.
    pub fn max_number_bits(&self) -> u64 {
        // log2(10) < 3.3219281; rounded up so the bound never rejects a
        // number with exactly `max_number_digits` digits.
        (self.max_number_digits as u64).saturating_mul(33_220) / 10_000 + 1
    }
}
