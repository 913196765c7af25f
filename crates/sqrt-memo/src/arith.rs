//! Exact integer square roots and exact truncated decimal expansions.
//!
//! Everything here is pure and needs no memcached: `isqrt_rem` gives
//! `floor(sqrt(n))` and the remainder, `sqrt_decimal` the first `digits`
//! fractional digits of `sqrt(n)` computed as the integer root of
//! `n * 10^(2 * digits)`. Every printed digit is a true digit: the expansion is
//! TRUNCATED, never rounded (sqrt(2) to 2 digits is `1.41`, and sqrt(8) to 1
//! digit is `2.8` although 2.828... rounds to 2.83 at two).

use std::fmt;

use rug::ops::Pow;
use rug::Integer;

use crate::error::ArithmeticError;
use crate::limits::Limits;

/// `floor(sqrt(n))` and `n - floor(sqrt(n))^2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsqrtRem {
    /// The floor of the square root.
    pub root: Integer,
    /// `n - root^2`, in `0..=2*root`.
    pub remainder: Integer,
}

impl IsqrtRem {
    /// Whether `n` was a perfect square (`remainder == 0`).
    pub fn is_perfect_square(&self) -> bool {
        self.remainder == 0
    }
}

/// The exact integer square root of `n` with its remainder.
pub fn isqrt_rem(n: &Integer) -> Result<IsqrtRem, ArithmeticError> {
    if *n < 0 {
        return Err(ArithmeticError::Negative);
    }
    let (root, remainder) = n.clone().sqrt_rem(Integer::new());
    Ok(IsqrtRem { root, remainder })
}

/// `sqrt(n)` to a fixed number of fractional decimal digits, truncated.
///
/// Held as the scaled integer `floor(sqrt(n) * 10^digits)`, which is exactly
/// the integer root of `n * 10^(2*digits)`; `exact` says the expansion stops
/// there (the remainder was zero), which for an integer `n` happens exactly
/// when `n` is a perfect square.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactSqrt {
    scaled: Integer,
    digits: u32,
    exact: bool,
}

/// The result of [`sqrt_decimal`]; the same type the memo engine returns.
pub type DecimalRoot = ExactSqrt;

impl ExactSqrt {
    /// A root as given, unchecked (a stored value, a test's forgery):
    /// [`ExactSqrt::is_root_of`] tells whether it is right.
    pub fn from_parts(scaled: Integer, digits: u32, exact: bool) -> Self {
        ExactSqrt {
            scaled,
            digits,
            exact,
        }
    }

    /// `floor(sqrt(n) * 10^digits)`.
    pub fn scaled(&self) -> &Integer {
        &self.scaled
    }

    /// The number of fractional digits held.
    pub fn digits(&self) -> u32 {
        self.digits
    }

    /// Whether the root is exactly the printed value (no further non-zero
    /// digits), i.e. `n` is a perfect square.
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    /// `floor(sqrt(n))`.
    pub fn integer_part(&self) -> Integer {
        &self.scaled / Integer::from(10u32).pow(self.digits)
    }

    /// The fractional digits, exactly `digits` of them (zero-padded), truncated.
    pub fn fractional_digits(&self) -> String {
        let text = self.scaled.to_string();
        split_decimal(&text, self.digits).1
    }

    /// Checks `r^2 <= n * 10^(2d) < (r+1)^2` and the exactness flag against
    /// `n`: the root is correct for `n` whatever produced it.
    pub fn is_root_of(&self, n: &Integer) -> bool {
        if *n < 0 || self.scaled < 0 {
            return false;
        }
        // With t = n * 10^(2d): r^2 <= t < (r+1)^2 = r^2 + 2r + 1 is
        // 0 <= t - r^2 <= 2r, which needs one squaring instead of two.
        let mut remainder = scale(n, self.digits);
        remainder -= self.scaled.square_ref();
        if remainder < 0 {
            return false;
        }
        let twice_root = Integer::from(&self.scaled << 1u32);
        remainder <= twice_root && self.exact == (remainder == 0)
    }
}

impl fmt::Display for ExactSqrt {
    /// `integer.fraction` with exactly `digits` fractional digits (no dot when
    /// `digits == 0`), e.g. `1.4142135623`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.scaled.to_string();
        let (integer, fraction) = split_decimal(&text, self.digits);
        if self.digits == 0 {
            f.write_str(&integer)
        } else {
            write!(f, "{integer}.{fraction}")
        }
    }
}

/// `sqrt(n)` truncated to `digits` fractional decimal digits, exactly,
/// within the default [`Limits`].
pub fn sqrt_decimal(n: &Integer, digits: u32) -> Result<DecimalRoot, ArithmeticError> {
    sqrt_decimal_within(n, digits, &Limits::default())
}

/// Whether `n` and `digits` are within `limits`; checked before any work.
pub fn check_limits(n: &Integer, digits: u32, limits: &Limits) -> Result<(), ArithmeticError> {
    if *n < 0 {
        return Err(ArithmeticError::Negative);
    }
    if digits > limits.max_digits {
        return Err(ArithmeticError::TooManyDigits {
            requested: u64::from(digits),
            limit: limits.max_digits,
        });
    }
    let bits = u64::from(n.significant_bits());
    if bits > limits.max_number_bits() {
        return Err(ArithmeticError::NumberTooLarge {
            bits,
            limit: limits.max_number_bits(),
        });
    }
    Ok(())
}

/// [`sqrt_decimal`] within `limits`.
pub fn sqrt_decimal_within(
    n: &Integer,
    digits: u32,
    limits: &Limits,
) -> Result<DecimalRoot, ArithmeticError> {
    sqrt_decimal_rem_within(n, digits, limits).map(|(root, _)| root)
}

/// [`sqrt_decimal_within`] with the remainder `n*10^(2d) - r^2`, which lets
/// a reader check the root in linear time ([`crate::certificate`]).
pub fn sqrt_decimal_rem_within(
    n: &Integer,
    digits: u32,
    limits: &Limits,
) -> Result<(DecimalRoot, Integer), ArithmeticError> {
    check_limits(n, digits, limits)?;
    let (scaled, remainder) = scale(n, digits).sqrt_rem(Integer::new());
    let exact = remainder == 0;
    let root = ExactSqrt {
        scaled,
        digits,
        exact,
    };
    Ok((root, remainder))
}

/// The number of decimal digits of `n` (1 for zero; the sign is not
/// counted), without converting a large `n` to decimal: base conversion of a
/// million-digit number costs several times its square root, a power of ten
/// and a comparison do not.
pub fn decimal_digit_count(n: &Integer) -> u64 {
    let magnitude = Integer::from(n.abs_ref());
    if magnitude.significant_bits() <= 4096 {
        return magnitude.to_string().len() as u64;
    }
    // 10^k <= n < 10^(k+1) gives k+1 digits; start from the estimate
    // k ~ bits * log10(2) and correct it exactly.
    let estimate = (f64::from(magnitude.significant_bits() - 1) * std::f64::consts::LOG10_2) as u32;
    let mut k = estimate;
    let mut power = Integer::from(10u32).pow(k);
    while magnitude < power {
        k -= 1;
        power /= 10u32;
    }
    loop {
        let next = Integer::from(&power * 10u32);
        if magnitude < next {
            return u64::from(k) + 1;
        }
        power = next;
        k += 1;
    }
}

/// `n * 10^(2*digits)`, built as `n * (10^digits)^2` so the exponent never
/// overflows `u32`.
fn scale(n: &Integer, digits: u32) -> Integer {
    if digits == 0 {
        return n.clone();
    }
    let power = Integer::from(10u32).pow(digits);
    let square = Integer::from(power.square_ref());
    Integer::from(n * &square)
}

/// Splits the decimal text of a scaled value into integer and fractional
/// parts, padding with zeros on the left when the value is below one.
fn split_decimal(text: &str, digits: u32) -> (String, String) {
    let digits = digits as usize;
    if text.len() > digits {
        let (integer, fraction) = text.split_at(text.len() - digits);
        (integer.to_owned(), fraction.to_owned())
    } else {
        let mut fraction = "0".repeat(digits - text.len());
        fraction.push_str(text);
        ("0".to_owned(), fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isqrt_rem_small_values() {
        for n in 0u64..2000 {
            let r = isqrt_rem(&Integer::from(n)).unwrap();
            let root = r.root.to_u64().unwrap();
            assert!(root * root <= n && (root + 1) * (root + 1) > n, "n={n}");
            assert_eq!(r.remainder, n - root * root);
            assert_eq!(r.is_perfect_square(), root * root == n);
        }
    }

    #[test]
    fn negative_is_an_error() {
        assert_eq!(
            isqrt_rem(&Integer::from(-4)),
            Err(ArithmeticError::Negative)
        );
        assert_eq!(
            sqrt_decimal(&Integer::from(-1), 3),
            Err(ArithmeticError::Negative)
        );
    }

    #[test]
    fn decimal_expansion_is_truncated_not_rounded() {
        // sqrt(2) = 1.41421356237309504880..., the 10th digit is 7 then 3.
        let two = sqrt_decimal(&Integer::from(2), 10).unwrap();
        assert_eq!(two.to_string(), "1.4142135623");
        // sqrt(8) = 2.8284271247...: rounding to 2 digits would give 2.83.
        assert_eq!(
            sqrt_decimal(&Integer::from(8), 2).unwrap().to_string(),
            "2.82"
        );
        // sqrt(3) = 1.7320508075688772...: 5 digits rounded is 1.73205, 6 digits 1.732051.
        assert_eq!(
            sqrt_decimal(&Integer::from(3), 6).unwrap().to_string(),
            "1.732050"
        );
        assert!(!two.is_exact());
    }

    #[test]
    fn perfect_squares_are_exact_and_padded() {
        let r = sqrt_decimal(&Integer::from(144), 4).unwrap();
        assert_eq!(r.to_string(), "12.0000");
        assert!(r.is_exact());
        assert_eq!(r.integer_part(), 12);
        assert_eq!(r.fractional_digits(), "0000");
        let zero = sqrt_decimal(&Integer::new(), 3).unwrap();
        assert_eq!(zero.to_string(), "0.000");
        assert!(zero.is_exact());
        assert_eq!(
            sqrt_decimal(&Integer::from(49), 0).unwrap().to_string(),
            "7"
        );
    }

    #[test]
    fn values_below_one_keep_leading_fraction_zeros() {
        // There are no integers in (0, 1), but the scaled form must still
        // print its zero padding correctly: floor(sqrt(1) * 10^3) = 1000.
        let one = sqrt_decimal(&Integer::from(1), 3).unwrap();
        assert_eq!(one.to_string(), "1.000");
        assert_eq!(split_decimal("5", 3), ("0".to_owned(), "005".to_owned()));
    }

    #[test]
    fn decimal_digit_count_is_exact_around_powers_of_ten() {
        assert_eq!(decimal_digit_count(&Integer::new()), 1);
        assert_eq!(decimal_digit_count(&Integer::from(9)), 1);
        assert_eq!(decimal_digit_count(&Integer::from(-10)), 2);
        for k in [1000u32, 1233, 1234, 5000, 20_000] {
            let power = Integer::from(10u32).pow(k);
            let below = Integer::from(&power - 1u32);
            let above = Integer::from(&power + 1u32);
            assert_eq!(decimal_digit_count(&below), u64::from(k), "10^{k} - 1");
            assert_eq!(decimal_digit_count(&power), u64::from(k) + 1, "10^{k}");
            assert_eq!(decimal_digit_count(&above), u64::from(k) + 1, "10^{k} + 1");
            assert_eq!(decimal_digit_count(&below), below.to_string().len() as u64);
        }
    }

    #[test]
    fn is_root_of_accepts_the_root_and_rejects_neighbours() {
        let n = Integer::from(1_000_003u32);
        let r = sqrt_decimal(&n, 20).unwrap();
        assert!(r.is_root_of(&n));
        let high = ExactSqrt::from_parts(Integer::from(r.scaled() + 1u32), 20, false);
        let low = ExactSqrt::from_parts(Integer::from(r.scaled() - 1u32), 20, false);
        let lying = ExactSqrt::from_parts(r.scaled().clone(), 20, true);
        assert!(!high.is_root_of(&n));
        assert!(!low.is_root_of(&n));
        assert!(!lying.is_root_of(&n));
        assert!(!r.is_root_of(&Integer::from(1_000_004u32)));
    }
}
