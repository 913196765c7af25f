//! Decimal text to a canonical non-negative integer.
//!
//! Accepted: surrounding whitespace, an optional leading `+`, decimal digits
//! grouped with single `_` separators between digits (`1_000_000`). The
//! canonical form (no sign, no separators, no leading zeros, `0` for zero) is
//! what short cache keys spell out, so `+0001_0` and `10` share one entry.

use rug::Integer;

use crate::error::ParseError;
use crate::limits::Limits;

/// A non-negative integer as canonical decimal text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CanonicalDecimal(String);

impl CanonicalDecimal {
    /// Parses and canonicalizes `text`; see the module docs for the grammar.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Self::parse_within(text, &Limits::default())
    }

    /// [`CanonicalDecimal::parse`], refusing more than
    /// `limits.max_number_digits` digits before converting anything.
    pub fn parse_within(text: &str, limits: &Limits) -> Result<Self, ParseError> {
        let too_long = ParseError::TooLong {
            limit: limits.max_number_digits,
        };
        // Separators are at most every other byte: a text twice the limit
        // (plus a sign) cannot be within it, and is not even scanned.
        if text.len()
            > limits
                .max_number_digits
                .saturating_mul(2)
                .saturating_add(64)
        {
            return Err(too_long);
        }
        let digit_count = text.bytes().filter(u8::is_ascii_digit).count();
        let leading_zeros = text
            .trim()
            .trim_start_matches(['+', '-'])
            .bytes()
            .take_while(|b| *b == b'0' || *b == b'_')
            .filter(|b| *b == b'0')
            .count();
        if digit_count.saturating_sub(leading_zeros) > limits.max_number_digits {
            return Err(too_long);
        }
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(ParseError::Empty);
        }
        let (negative, body, offset) = match trimmed.as_bytes()[0] {
            b'+' => (false, &trimmed[1..], 1),
            b'-' => (true, &trimmed[1..], 1),
            _ => (false, trimmed, 0),
        };
        if body.is_empty() {
            return Err(ParseError::Malformed("sign without digits"));
        }
        let mut digits = String::with_capacity(body.len());
        let mut previous_was_digit = false;
        for (index, byte) in body.bytes().enumerate() {
            match byte {
                b'0'..=b'9' => {
                    // Leading zeros are dropped as they come, keeping one pass.
                    if !(byte == b'0' && digits.is_empty()) {
                        digits.push(char::from(byte));
                    }
                    previous_was_digit = true;
                }
                b'_' if previous_was_digit => previous_was_digit = false,
                b'_' => {
                    return Err(ParseError::Malformed(
                        "`_` must separate digits (no leading or doubled `_`)",
                    ))
                }
                _ => {
                    return Err(ParseError::InvalidCharacter {
                        position: index + offset,
                    })
                }
            }
        }
        if !previous_was_digit {
            return Err(ParseError::Malformed("trailing `_`"));
        }
        if digits.is_empty() {
            // Only zeros: `-0` is zero, which is not negative.
            digits.push('0');
        } else if negative {
            return Err(ParseError::Negative);
        }
        Ok(CanonicalDecimal(digits))
    }

    /// The canonical form of an integer that is already known; `None` for a
    /// negative one.
    pub fn from_integer(n: &Integer) -> Option<Self> {
        if *n < 0 {
            None
        } else {
            Some(CanonicalDecimal(n.to_string()))
        }
    }

    /// The canonical text: digits only, no leading zeros.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number of decimal digits (1 for zero).
    pub fn digit_count(&self) -> usize {
        self.0.len()
    }

    /// The value as an integer.
    pub fn to_integer(&self) -> Integer {
        // The text is digits only by construction, so parsing cannot fail;
        // zero is the defensive fallback rather than a panic.
        Integer::from_str_radix(&self.0, 10).unwrap_or_default()
    }
}

/// Parses decimal text (see [`CanonicalDecimal::parse`]) into an integer.
pub fn parse_integer(text: &str) -> Result<Integer, ParseError> {
    CanonicalDecimal::parse(text).map(|c| c.to_integer())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> Result<String, ParseError> {
        CanonicalDecimal::parse(text).map(|c| c.as_str().to_owned())
    }

    #[test]
    fn accepts_sign_separators_whitespace_and_leading_zeros() {
        assert_eq!(canon("  +0001_000_000\n").unwrap(), "1000000");
        assert_eq!(canon("0").unwrap(), "0");
        assert_eq!(canon("000").unwrap(), "0");
        assert_eq!(canon("-0").unwrap(), "0");
        assert_eq!(canon("-0_0").unwrap(), "0");
        assert_eq!(
            canon("12345678901234567890").unwrap(),
            "12345678901234567890"
        );
    }

    #[test]
    fn rejects_bad_text_with_typed_errors() {
        assert_eq!(canon(""), Err(ParseError::Empty));
        assert_eq!(canon(" \t "), Err(ParseError::Empty));
        assert_eq!(canon("-5"), Err(ParseError::Negative));
        assert_eq!(
            canon("+"),
            Err(ParseError::Malformed("sign without digits"))
        );
        assert!(matches!(canon("_1"), Err(ParseError::Malformed(_))));
        assert!(matches!(canon("1__2"), Err(ParseError::Malformed(_))));
        assert!(matches!(canon("12_"), Err(ParseError::Malformed(_))));
        assert_eq!(
            canon("12a4"),
            Err(ParseError::InvalidCharacter { position: 2 })
        );
        assert_eq!(
            canon("+1.5"),
            Err(ParseError::InvalidCharacter { position: 2 })
        );
        assert!(matches!(
            canon("1e9"),
            Err(ParseError::InvalidCharacter { .. })
        ));
        assert!(matches!(
            canon("١٢"),
            Err(ParseError::InvalidCharacter { .. })
        ));
    }

    #[test]
    fn integer_round_trip() {
        let n = parse_integer("9_999_999_183_838_328_567").unwrap();
        assert_eq!(n, Integer::from(9_999_999_183_838_328_567u128));
        let c = CanonicalDecimal::from_integer(&n).unwrap();
        assert_eq!(c.as_str(), "9999999183838328567");
        assert_eq!(c.digit_count(), 19);
        assert!(CanonicalDecimal::from_integer(&Integer::from(-1)).is_none());
    }
}
