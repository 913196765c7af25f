//! The fast path of [`crate::Decoder::decode`] for the line a multi-get
//! reply is made of: `VALUE <key> <flags> <bytes> [<cas>]\r\n`.
//!
//! The general path finds the line end, splits off the first word, matches
//! it against every response word, then walks the fields again. A plain
//! `VALUE` line is instead read in one forward walk. Anything unusual (an
//! incomplete or over-long line, an odd byte in the key, an empty, long or
//! out-of-range number, extra spaces) is left to the general path, which
//! then decides exactly as it always has: this path only ever accepts lines
//! the general path decodes to the same header.

use crate::decode::ValueHeader;

/// `VALUE `, the prefix this path looks for.
pub(crate) const PREFIX: &[u8] = b"VALUE ";

/// Digits this path reads per number: 19 always fit a `u64`; longer
/// numbers go to the general path.
const MAX_DIGITS: usize = 19;

/// The line's length (without `\r\n`) and its fields, when `window` (the
/// read buffer, cut to the longest line allowed plus `\r\n`) starts with a
/// whole plain `VALUE` line; `None` leaves the line to the general path.
#[inline]
pub(crate) fn parse(window: &[u8]) -> Option<(usize, ValueHeader)> {
    let rest = window.strip_prefix(PREFIX)?;
    let key_len = key_len(rest)?;
    let mut at = PREFIX.len() + key_len + 1;
    let (flags, end) = number(window, &mut at)?;
    if end != b' ' {
        return None;
    }
    let flags = u32::try_from(flags).ok()?;
    let (len, mut end) = number(window, &mut at)?;
    let mut cas = None;
    if end == b' ' {
        let (value, cas_end) = number(window, &mut at)?;
        cas = Some(value);
        end = cas_end;
    }
    // `at` is past the `\r`: the line is whole once its `\n` is there.
    if end != b'\r' || window.get(at) != Some(&b'\n') {
        return None;
    }
    let header = ValueHeader {
        key_len,
        flags,
        cas,
        len: usize::try_from(len).ok()?,
    };
    Some((at - 1, header))
}

/// Length of the key at the front of `rest`: bytes above `' '`, then a
/// space. Looked at eight bytes at a time: keys are often 20+ bytes.
#[inline]
fn key_len(rest: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(chunk) = rest.get(i..i + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // The high bit of each byte <= b' ' (bytes >= 0x80 never count):
        // a subtraction borrows only out of such a byte, so the lowest bit
        // set is exactly the first one, whatever follows it.
        let low = x.wrapping_sub(0x2121_2121_2121_2121) & !x & 0x8080_8080_8080_8080;
        if low != 0 {
            return key_end(rest, i + (low.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while let Some(&b) = rest.get(i) {
        if b <= b' ' {
            return key_end(rest, i);
        }
        i += 1;
    }
    None
}

/// The key length when the first byte <= `' '` (at `at`) is the space
/// that ends a non-empty key.
#[inline]
fn key_end(rest: &[u8], at: usize) -> Option<usize> {
    (at > 0 && rest[at] == b' ').then_some(at)
}

/// The decimal number at `window[*at..]` and the byte after its digits;
/// `*at` moves past that byte. `None` when there is no digit, more than
/// [`MAX_DIGITS`], or the window ends first.
#[inline]
fn number(window: &[u8], at: &mut usize) -> Option<(u64, u8)> {
    let start = *at;
    let mut n: u64 = 0;
    loop {
        let b = *window.get(*at)?;
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            let count = *at - start;
            *at += 1;
            return (count > 0 && count <= MAX_DIGITS).then_some((n, b));
        }
        // Wrapping: a number too long to fit is refused above anyway.
        n = n.wrapping_mul(10).wrapping_add(u64::from(digit));
        *at += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &[u8]) -> Option<(usize, usize, u32, Option<u64>, usize)> {
        parse(line).map(|(line_len, h)| (line_len, h.key_len, h.flags, h.cas, h.len))
    }

    #[test]
    fn reads_plain_value_lines() {
        assert_eq!(fields(b"VALUE k 5 3\r\n"), Some((11, 1, 5, None, 3)));
        assert_eq!(
            fields(b"VALUE peers-bench:many:42 0 32 77\r\nxx"),
            Some((33, 19, 0, Some(77), 32))
        );
        assert_eq!(
            fields(b"VALUE 0123456789abcdef 4294967295 0\r\n"),
            Some((35, 16, u32::MAX, None, 0))
        );
        assert_eq!(
            fields("VALUE clé 1 2 18446744073709551\r\n".as_bytes()),
            Some((32, 4, 1, Some(18_446_744_073_709_551), 2))
        );
    }

    #[test]
    fn leaves_everything_else_to_the_general_path() {
        for line in [
            &b"VALUE k 5 3\r"[..],
            b"VALUE k 5 3",
            b"VALUE k 5 3\n",
            b"VALUE  5 3\r\n",
            b"VALUE k  5 3\r\n",
            b"VALUE k 5 3 \r\n",
            b"VALUE k 5 3 7 \r\n",
            b"VALUE k\t 5 3\r\n",
            b"VALUE a\rb 5 3\r\n",
            b"VALUE k 4294967296 3\r\n",
            b"VALUE k 5 12345678901234567890\r\n",
            b"VALUE k 5 3 12345678901234567890\r\n",
            b"VALUE k 5 -3\r\n",
            b"VALUE k 5 3x\r\n",
            b"VALUE k\r\n",
            b"VALUES k 5 3\r\n",
            b"END\r\n",
        ] {
            assert_eq!(fields(line), None, "{:?}", String::from_utf8_lossy(line));
        }
    }
}
