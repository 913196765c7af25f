//! The pure arithmetic against independent references: Python `math.isqrt`
//! vectors committed in `tests/vectors`, and the defining inequality
//! `r^2 <= n * 10^(2d) < (r+1)^2` on random inputs.

use proptest::prelude::*;
use rug::ops::Pow;
use rug::Integer;
use sqrt_memo::{isqrt_rem, parse_integer, sqrt_decimal, ArithmeticError};

const VECTORS: &str = include_str!("vectors/isqrt_vectors.txt");

#[test]
fn matches_python_isqrt_vectors() {
    let mut checked = 0;
    for line in VECTORS.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let n = parse_integer(fields[0]).unwrap();
        let digits: u32 = fields[1].parse().unwrap();
        let expected = parse_integer(fields[2]).unwrap();
        let root = sqrt_decimal(&n, digits).unwrap();
        assert_eq!(root.scaled(), &expected, "n={} digits={digits}", fields[0]);
        assert!(root.is_root_of(&n));
        if digits == 0 {
            let r = isqrt_rem(&n).unwrap();
            assert_eq!(r.root, expected);
            assert_eq!(r.remainder, Integer::from(&n - r.root.square_ref()));
        }
        checked += 1;
    }
    assert_eq!(checked, 156);
}

#[test]
fn demo_number_prints_truncated_digits() {
    // From the original pymemcache demo, whose float version printed
    // 3162277531121885532860585114766575939878912.0000000000.
    let n = parse_integer(
        "9999999183838328567567689828757567669797060958585737272727311111199911188888889953113",
    )
    .unwrap();
    let root = sqrt_decimal(&n, 10).unwrap();
    let text = root.to_string();
    assert!(text.starts_with("3162277531121885666105508200120652888910779."));
    assert_eq!(text.len(), 43 + 1 + 10);
    assert_eq!(root.fractional_digits().len(), 10);
    assert!(!root.is_exact());
}

#[test]
fn perfect_squares_are_reported_exact() {
    let base = Integer::from(10u32).pow(500) + 12345u32;
    let square = Integer::from(base.square_ref());
    let r = isqrt_rem(&square).unwrap();
    assert!(r.is_perfect_square());
    assert_eq!(r.root, base);
    let d = sqrt_decimal(&square, 7).unwrap();
    assert!(d.is_exact());
    assert_eq!(d.fractional_digits(), "0000000");
    assert_eq!(d.integer_part(), base);
    let not_square = Integer::from(&square - 1u32);
    assert!(!isqrt_rem(&not_square).unwrap().is_perfect_square());
    assert!(!sqrt_decimal(&not_square, 7).unwrap().is_exact());
}

#[test]
fn bad_inputs_are_typed_errors() {
    assert_eq!(
        isqrt_rem(&Integer::from(-9)),
        Err(ArithmeticError::Negative)
    );
    assert!(parse_integer("").is_err());
    assert!(parse_integer("abc").is_err());
    assert!(parse_integer("-12").is_err());
    assert_eq!(parse_integer(" +1_000 ").unwrap(), 1000);
}

fn decimal_number() -> impl Strategy<Value = String> {
    "[1-9][0-9]{0,400}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn root_satisfies_the_defining_inequality(text in decimal_number(), digits in 0u32..120) {
        let n = parse_integer(&text).unwrap();
        let root = sqrt_decimal(&n, digits).unwrap();
        let target = n.clone() * Integer::from(10u32).pow(2 * digits);
        let r = root.scaled().clone();
        prop_assert!(Integer::from(r.square_ref()) <= target);
        let next = Integer::from(&r + 1u32);
        prop_assert!(Integer::from(next.square_ref()) > target);
        prop_assert_eq!(root.fractional_digits().len(), digits as usize);
        // Display is the scaled root with a dot inserted.
        let shown = root.to_string().replace('.', "");
        prop_assert_eq!(parse_integer(&shown).unwrap(), r);
    }

    #[test]
    fn more_digits_extend_fewer_digits(text in decimal_number(), digits in 0u32..60) {
        // Truncation means the d-digit expansion is a prefix of the (d+k)-digit one.
        let n = parse_integer(&text).unwrap();
        let short = sqrt_decimal(&n, digits).unwrap().to_string();
        let long = sqrt_decimal(&n, digits + 7).unwrap().to_string();
        prop_assert!(long.starts_with(&short));
    }
}

/// Issue 13.4: limits are typed errors, checked before any allocation.
#[test]
fn requests_beyond_the_limits_are_typed_errors() {
    use sqrt_memo::{sqrt_decimal_within, ArithmeticError, CanonicalDecimal, Limits, ParseError};
    let two = rug::Integer::from(2u32);
    assert_eq!(
        sqrt_memo::sqrt_decimal(&two, u32::MAX),
        Err(ArithmeticError::TooManyDigits {
            requested: u64::from(u32::MAX),
            limit: 1_000_000
        })
    );
    let small = Limits {
        max_digits: 5,
        max_number_digits: 3,
    };
    assert!(sqrt_decimal_within(&two, 5, &small).is_ok());
    assert!(matches!(
        sqrt_decimal_within(&two, 6, &small),
        Err(ArithmeticError::TooManyDigits { .. })
    ));
    assert!(sqrt_decimal_within(&rug::Integer::from(999u32), 0, &small).is_ok());
    assert!(matches!(
        sqrt_decimal_within(&(rug::Integer::from(1u32) << 100u32), 0, &small),
        Err(ArithmeticError::NumberTooLarge { .. })
    ));
    assert!(CanonicalDecimal::parse_within("0_000_999", &small).is_ok());
    assert_eq!(
        CanonicalDecimal::parse_within("1000", &small),
        Err(ParseError::TooLong { limit: 3 })
    );
    // A text far beyond the limit is refused without being scanned.
    let huge = "9".repeat(5_000_000);
    assert_eq!(
        CanonicalDecimal::parse(&huge),
        Err(ParseError::TooLong { limit: 2_000_000 })
    );
}
