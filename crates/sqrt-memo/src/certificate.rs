//! Checking a stored root against its stored remainder in linear time.
//!
//! A root `r` of `t = n*10^(2d)` is right exactly when `t = r^2 + s` with
//! `0 <= s <= 2r`. Checked directly that is a squaring, about a quarter of
//! computing the root. With `s` stored beside `r`, the range is two
//! comparisons, and the equation is checked modulo a prime `p` of
//! [`PRIME_BITS`] bits drawn afresh, uniformly among such primes, for every
//! check: three reductions, linear in the size of the numbers.
//!
//! Why that is enough even when whoever wrote the value chose `r` and `s` to
//! fool it: if `t != r^2 + s`, the difference is a non-zero integer of at
//! most `b = bits(t) + 2` bits, so at most `b / 191` primes of 192 bits
//! divide it, out of more than 2^183 such primes. The writer does not know
//! `p` (it is drawn from the thread's CSPRNG after the value was read), so
//! a wrong value passes with probability below `b * 2^-190`: under 2^-166
//! for the largest number and digit count the default [`crate::Limits`]
//! admit. Each check draws a new prime, so failed attempts teach nothing
//! about the next one.

use rand::Rng;
use rug::integer::{IsPrime, Order};
use rug::Integer;

use crate::arith::ExactSqrt;

/// Size of the random prime modulus: three 64-bit words.
pub const PRIME_BITS: u32 = 192;

/// Miller-Rabin rounds after GMP's Baillie-PSW test, for the candidates the
/// CSPRNG draws (not an adversary's numbers, so this is ample).
const PRIME_TEST_REPS: u32 = 25;

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

/// A prime of exactly [`PRIME_BITS`] bits, uniform among them: candidates
/// are drawn until one is prime (rejection sampling; starting from a random
/// number and taking the next prime would favour primes after long gaps).
fn random_prime(rng: &mut impl Rng) -> Integer {
    const WORDS: usize = (PRIME_BITS / 64) as usize;
    loop {
        let words: [u64; WORDS] = rng.random();
        let mut candidate = Integer::from_digits(&words, Order::Lsf);
        candidate.set_bit(PRIME_BITS - 1, true);
        candidate.set_bit(0, true);
        if candidate.is_probably_prime(PRIME_TEST_REPS) != IsPrime::No {
            return candidate;
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
    fn primes_are_prime_and_of_the_full_size() {
        let mut rng = rand::rng();
        let a = random_prime(&mut rng);
        let b = random_prime(&mut rng);
        for p in [&a, &b] {
            assert_eq!(p.significant_bits(), PRIME_BITS);
            assert_ne!(p.is_probably_prime(40), IsPrime::No);
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
