//! Checking a stored root against its stored remainder in linear time.
//!
//! A root `r` of `t = n*10^(2d)` is right exactly when `t = r^2 + s` with
//! `0 <= s <= 2r`. Checked directly that is a squaring, about a quarter of
//! computing the root. With `s` stored beside `r`, the range is two
//! comparisons, and the equation is checked modulo a random prime `p` of
//! [`PRIME_BITS`] bits drawn afresh for every check: three reductions,
//! linear in the size of the numbers. Drawing the
//! prime costs about 90 µs, so small roots are still squared
//! ([`Method::for_root`]).
//!
//! Why that is enough even when whoever wrote the value chose `r` and `s` to
//! fool it: if `t != r^2 + s`, the difference is a non-zero integer of at
//! most `b = bits(t) + 2` bits, so at most `b / 191` primes of 192 bits
//! divide it. The writer does not know `p` (it is drawn from the thread's
//! CSPRNG after the value was read), and no prime is drawn with probability
//! above `20,000 / 2^191` (see `random_prime`), so a wrong value passes with
//! probability below `b * 2^-184`: under 2^-160 for the largest number and
//! digit count the default [`crate::Limits`] admit. Each check draws a new
//! prime, so failed attempts teach nothing about the next one.

use rand::Rng;
use rug::integer::Order;
use rug::Integer;

use crate::arith::ExactSqrt;

/// Size of the random prime modulus: three 64-bit words.
pub const PRIME_BITS: u32 = 192;

/// Longest distance from the random start to the prime taken (see
/// [`random_prime`]); gaps this long between 192-bit primes are so rare
/// that a redraw practically never happens.
const MAX_GAP: u32 = 20_000;

/// Below this many bits of `n*10^(2d)` (about 40,000 decimal digits),
/// squaring the root costs less than drawing the prime (about 90 µs here),
/// so the stored remainder is not used.
pub const REMAINDER_MIN_BITS: u32 = 1 << 17;

/// How a root read from the cache is checked against its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `r^2 <= n*10^2d < (r+1)^2`: one squaring ([`ExactSqrt::is_root_of`]).
    Squaring,
    /// Against the stored remainder, in linear time
    /// ([`is_root_with_remainder`]).
    Remainder,
}

impl Method {
    /// How `root` is checked, given whether its remainder was stored: the
    /// one place that decides.
    pub fn for_root(root: &ExactSqrt, has_remainder: bool) -> Method {
        // bits(r^2) is within one of 2 * bits(r), and r^2 ~ n*10^2d.
        let bits = u64::from(root.scaled().significant_bits()) * 2;
        if has_remainder && bits >= u64::from(REMAINDER_MIN_BITS) {
            Method::Remainder
        } else {
            Method::Squaring
        }
    }

    /// `squaring` or `remainder`, as recorded on the `sqrt.verify` span.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Squaring => "squaring",
            Method::Remainder => "remainder",
        }
    }
}

/// Whether `root` is the root of `n` at its digit count, checked the way
/// [`Method::for_root`] chooses.
pub fn verify(root: &ExactSqrt, remainder: Option<&Integer>, n: &Integer) -> bool {
    match (Method::for_root(root, remainder.is_some()), remainder) {
        (Method::Remainder, Some(remainder)) => is_root_with_remainder(root, remainder, n),
        _ => root.is_root_of(n),
    }
}

/// Whether `root` is `floor(sqrt(n) * 10^digits)` given the claimed
/// remainder `n*10^(2d) - root^2`, and its exactness flag says whether the
/// remainder is zero. False for any inconsistent input; never panics.
pub fn is_root_with_remainder(root: &ExactSqrt, remainder: &Integer, n: &Integer) -> bool {
    let r = root.scaled();
    if *n < 0 || *r < 0 || *remainder < 0 {
        return false;
    }
    if root.is_exact() != (*remainder == 0) {
        return false;
    }
    if *remainder > Integer::from(r << 1u32) {
        return false;
    }
    let p = random_prime(&mut rand::rng());
    congruent_mod(n, root.digits(), r, remainder, &p)
}

/// `n * 10^(2*digits) == r^2 + s (mod p)` for a prime `p > 10`. `n` is the
/// largest number, so it is compared with GMP's congruence test instead of
/// being reduced: the scale moves to the other side as its inverse.
fn congruent_mod(n: &Integer, digits: u32, r: &Integer, s: &Integer, p: &Integer) -> bool {
    let r_mod = Integer::from(r % p);
    let s_mod = Integer::from(s % p);
    let rhs = (Integer::from(r_mod.square_ref()) + s_mod) % p;
    let exponent = Integer::from(digits) * 2u32;
    let Ok(scale) = Integer::from(10u32).pow_mod(&exponent, p) else {
        return false;
    };
    let Ok(inverse) = scale.invert(p) else {
        return false;
    };
    let expected = (rhs * inverse) % p;
    n.is_congruent(&expected, p)
}

/// A prime of exactly [`PRIME_BITS`] bits: the first prime after a
/// uniformly random start, kept only if it lies within [`MAX_GAP`] of the
/// start. The starts that lead to a given prime then lie in an interval of
/// at most `MAX_GAP` numbers, so no prime comes out with probability above
/// `MAX_GAP / 2^191`, whatever the gaps between primes are (a sieve-driven
/// `next_prime` costs a third of testing random candidates one by one).
fn random_prime(rng: &mut impl Rng) -> Integer {
    const WORDS: usize = (PRIME_BITS / 64) as usize;
    loop {
        let words: [u64; WORDS] = rng.random();
        let mut start = Integer::from_digits(&words, Order::Lsf);
        start.set_bit(PRIME_BITS - 1, true);
        let prime = Integer::from(start.next_prime_ref());
        if prime.significant_bits() == PRIME_BITS && Integer::from(&prime - &start) <= MAX_GAP {
            return prime;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::sqrt_decimal_rem_within;
    use crate::limits::Limits;
    use rug::ops::Pow;

    /// `n * 10^(2*digits)`, the number whose root the forgeries claim.
    fn scaled_number(n: &Integer, digits: u32) -> Integer {
        n * Integer::from(10u32).pow(2 * digits)
    }

    fn root(n: &Integer, digits: u32) -> (ExactSqrt, Integer) {
        sqrt_decimal_rem_within(n, digits, &Limits::default()).unwrap()
    }

    fn forged(r: &Integer, digits: u32, exact: bool) -> ExactSqrt {
        ExactSqrt::from_parts(r.clone(), digits, exact)
    }

    #[test]
    fn the_true_root_and_remainder_pass() {
        for (text, digits) in [("0", 0), ("1", 5), ("2", 30), ("144", 4), ("1000003", 20)] {
            let n = Integer::from_str_radix(text, 10).unwrap();
            let (r, s) = root(&n, digits);
            assert!(is_root_with_remainder(&r, &s, &n), "{text} at {digits}");
        }
        let big = (Integer::from(7u32).pow(40_000)) + 12_345u32;
        let (r, s) = root(&big, 100);
        assert!(is_root_with_remainder(&r, &s, &big));
    }

    #[test]
    fn every_neighbour_and_lie_is_refused() {
        let n = (Integer::from(3u32).pow(5_000)) + 1u32;
        let digits = 25;
        let (r, s) = root(&n, digits);
        let t = scaled_number(&n, digits);
        let exact = r.is_exact();
        for delta in [-2i32, -1, 1, 2] {
            let other = Integer::from(r.scaled() + delta);
            // The remainder that makes the equation hold for the wrong root
            // is out of range, and the true one fails the equation.
            let balancing = &t - Integer::from(other.square_ref());
            assert!(!is_root_with_remainder(
                &forged(&other, digits, exact),
                &balancing,
                &n
            ));
            assert!(!is_root_with_remainder(
                &forged(&other, digits, exact),
                &s,
                &n
            ));
        }
        for delta in [-1i32, 1, 1 << 20] {
            let wrong = Integer::from(&s + delta);
            assert!(
                !is_root_with_remainder(&r, &wrong, &n),
                "remainder {delta:+}"
            );
        }
        assert!(!is_root_with_remainder(
            &forged(r.scaled(), digits, !exact),
            &s,
            &n
        ));
        assert!(!is_root_with_remainder(&r, &s, &Integer::from(&n + 1u32)));
        assert!(!is_root_with_remainder(&r, &Integer::from(-1), &n));
        assert!(!is_root_with_remainder(
            &forged(r.scaled(), digits + 1, exact),
            &s,
            &n
        ));
    }

    #[test]
    fn perfect_squares_need_a_zero_remainder() {
        let n = Integer::from(10u32).pow(600);
        let (r, s) = root(&n, 3);
        assert!(r.is_exact() && s == 0);
        assert!(is_root_with_remainder(&r, &s, &n));
        // A remainder of 2r + 1 is out of range (r + 1 would be the root).
        let too_big = Integer::from(r.scaled() * 2u32) + 1u32;
        assert!(!is_root_with_remainder(
            &forged(r.scaled(), 3, false),
            &too_big,
            &n
        ));
    }

    #[test]
    fn agrees_with_squaring_on_small_numbers() {
        for value in 0u32..400 {
            let n = Integer::from(value);
            let (r, s) = root(&n, 1);
            for claimed in [
                Integer::from(r.scaled() - 1u32),
                r.scaled().clone(),
                Integer::from(r.scaled() + 1u32),
            ] {
                let t = scaled_number(&n, 1);
                let rem = &t - Integer::from(claimed.square_ref());
                let exact = rem == 0;
                let candidate = forged(&claimed, 1, exact);
                assert_eq!(
                    is_root_with_remainder(&candidate, &rem, &n),
                    candidate.is_root_of(&n),
                    "n = {value}, r = {claimed}"
                );
            }
            assert!(is_root_with_remainder(&r, &s, &n));
        }
    }

    #[test]
    fn small_roots_are_squared_and_large_ones_checked_by_remainder() {
        let small = root(&Integer::from(2u32), 10).0;
        assert_eq!(Method::for_root(&small, true), Method::Squaring);
        let large_n = Integer::from(7u32).pow(50_000);
        let (large, s) = root(&large_n, 10);
        assert_eq!(Method::for_root(&large, true), Method::Remainder);
        assert_eq!(Method::for_root(&large, false), Method::Squaring);
        assert!(verify(&large, Some(&s), &large_n));
        assert!(verify(&large, None, &large_n));
        let wrong = Integer::from(&s + 1u32);
        assert!(!verify(&large, Some(&wrong), &large_n));
    }

    #[test]
    fn primes_are_prime_and_of_the_full_size() {
        let mut rng = rand::rng();
        let a = random_prime(&mut rng);
        let b = random_prime(&mut rng);
        for p in [&a, &b] {
            assert_eq!(p.significant_bits(), PRIME_BITS);
            assert_ne!(p.is_probably_prime(40), rug::integer::IsPrime::No);
        }
        assert_ne!(a, b);
    }

    #[test]
    fn a_difference_divisible_by_the_prime_would_pass_which_is_why_it_is_secret() {
        // The equation is only checked modulo p: a forgery off by a multiple
        // of p passes the congruence. Drawing p afresh, unseen by the
        // writer, is what makes that a 2^-166 event.
        let n = Integer::from(1_000_003u32);
        let (r, s) = root(&n, 0);
        let p = random_prime(&mut rand::rng());
        let shifted = Integer::from(&s + &p);
        assert!(congruent_mod(&n, 0, r.scaled(), &shifted, &p));
        assert!(!congruent_mod(
            &n,
            0,
            r.scaled(),
            &Integer::from(&s + 1u32),
            &p
        ));
    }
}
