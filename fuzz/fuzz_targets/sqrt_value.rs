//! Fuzz target: hostile values for the sqrt memo, and hostile remainders.
//!
//! The first byte picks one of two checks.
//!
//! * Even: the rest is a stored value under the key of `sqrt(2)` at 10
//!   digits, its checksum and binding fixed up first so that the fuzzer
//!   reaches the layout behind them. Decoding never panics, and a root it
//!   returns is checked (remainder or squaring) without panicking.
//! * Odd: the rest is a number `n`, a digit count, and a claimed root and
//!   remainder, either arbitrary or the true ones nudged by small amounts.
//!   The linear-time check against the remainder must agree with the exact
//!   truth (`r` is the root and `s` its remainder), which is computed here
//!   by squaring. A forged pair passes only if the random 192-bit prime
//!   divides their error, which the fuzzer cannot arrange.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rug::integer::Order;
use rug::ops::Pow;
use rug::Integer;
use sqrt_memo::certificate;
use sqrt_memo::value::{self, DecodeRules, Decoded, StoredValue};
use sqrt_memo::{sqrt_decimal_rem_within, ExactSqrt, Limits, MemoKey};

/// Bytes before the payload, and the binding's length (see `value.rs`).
const HEADER_LEN: usize = 10;
const BINDING_LEN: usize = 32;

fn hostile_value(bytes: &[u8]) {
    let two = Integer::from(2u32);
    let Some(key) = MemoKey::for_integer(&two, 10) else {
        return;
    };
    let mut bytes = bytes.to_vec();
    if bytes.len() >= HEADER_LEN + BINDING_LEN {
        let binding = blake3::hash(key.as_str().as_bytes());
        bytes[HEADER_LEN..HEADER_LEN + BINDING_LEN].copy_from_slice(binding.as_bytes());
        let crc = crc32c::crc32c(&bytes[HEADER_LEN..]);
        bytes[6..HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    }
    let rules = DecodeRules {
        key: &key,
        digits: 10,
        secret: None,
        max_value_len: 1 << 16,
        max_chunks: 16,
    };
    if let Ok(Decoded {
        value: StoredValue::Root(stored),
        ..
    }) = value::decode(&bytes, &rules)
    {
        let verified = certificate::verify(&stored.root, stored.remainder.as_ref(), &two);
        // Only the true root of 2 (to 10 digits) can pass either check.
        if verified {
            assert_eq!(stored.root.scaled(), &Integer::from(14_142_135_623u64));
        }
    }
}

/// Splits off a length-prefixed (one byte) chunk.
fn chunk<'a>(data: &mut &'a [u8]) -> &'a [u8] {
    let Some((&len, rest)) = data.split_first() else {
        return &[];
    };
    let len = usize::from(len).min(rest.len());
    let (head, tail) = rest.split_at(len);
    *data = tail;
    head
}

fn hostile_remainder(mut data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    data = rest;
    let digits = u32::from(control & 0x0f);
    let n = Integer::from_digits(chunk(&mut data), Order::Lsf);
    let (r, s, exact) = if control & 0x10 != 0 {
        // The true pair, nudged: each delta is -8..=7.
        let Ok((root, remainder)) = sqrt_decimal_rem_within(&n, digits, &Limits::default()) else {
            return;
        };
        let nudge = |x: &Integer, byte: Option<&u8>| {
            let delta = i32::from(byte.copied().unwrap_or(8) & 0x0f) - 8;
            Integer::from(x + delta)
        };
        let r = nudge(root.scaled(), data.first());
        let s = nudge(&remainder, data.get(1));
        let exact = if control & 0x20 != 0 {
            !root.is_exact()
        } else {
            root.is_exact()
        };
        (r, s, exact)
    } else {
        let r = Integer::from_digits(chunk(&mut data), Order::Lsf);
        let s = Integer::from_digits(chunk(&mut data), Order::Lsf);
        (r, s, control & 0x20 != 0)
    };
    let root = ExactSqrt::from_parts(r.clone(), digits, exact);
    let t = &n * Integer::from(10u32).pow(2 * digits);
    let true_remainder = t - Integer::from(r.square_ref());
    let truth = root.is_root_of(&n) && s == true_remainder;
    assert_eq!(
        certificate::is_root_with_remainder(&root, &s, &n),
        truth,
        "n = {n}, r = {r}, s = {s}, digits = {digits}, exact = {exact}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        hostile_value(rest);
    } else {
        hostile_remainder(rest);
    }
});
