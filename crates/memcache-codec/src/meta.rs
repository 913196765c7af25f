//! The meta protocol's flags: typed builders for the flags a request sends
//! (`mg`, `ms`, `md`, `ma`) and the parsed return flags of a reply.
//!
//! Each builder is `Copy + Default`, so a caller writes
//! `MetaGetFlags { return_value: true, vivify: Some(30), ..Default::default() }`.

use bytes::{BufMut, Bytes, BytesMut};

use crate::request::put_u64;
use crate::DecodeError;

/// Flags of `mg` (meta get).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetaGetFlags {
    /// `b`: the key is binary; the encoder sends it base64-encoded.
    pub base64_key: bool,
    /// `c`: return the CAS value.
    pub return_cas: bool,
    /// `f`: return the client flags.
    pub return_flags: bool,
    /// `h`: return whether the item was hit before.
    pub return_hit: bool,
    /// `k`: return the key.
    pub return_key: bool,
    /// `l`: return seconds since last access.
    pub return_last_access: bool,
    /// `s`: return the value's size.
    pub return_size: bool,
    /// `t`: return the remaining TTL (-1: never expires).
    pub return_ttl: bool,
    /// `v`: return the value.
    pub return_value: bool,
    /// `u`: do not bump the item in the LRU.
    pub no_lru_bump: bool,
    /// `q`: quiet mode: a miss (`EN`) is not sent at all.
    pub quiet: bool,
    /// `O`: opaque token echoed back in the reply.
    pub opaque: Option<u32>,
    /// `E`: CAS value to use if the item is modified (e.g. vivified).
    pub new_cas: Option<u64>,
    /// `N`: vivify on miss with this TTL; the first missing caller gets `W`.
    pub vivify: Option<u32>,
    /// `R`: win the right to recache if the TTL is below this.
    pub recache: Option<u32>,
    /// `T`: update the TTL.
    pub touch: Option<u32>,
}

/// `M` mode of `ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaSetMode {
    /// `MS`: store unconditionally.
    Set,
    /// `ME`: store only if the key is absent.
    Add,
    /// `MR`: store only if the key is present.
    Replace,
    /// `MA`: add the value after the stored one.
    Append,
    /// `MP`: add the value before the stored one.
    Prepend,
}

/// Flags of `ms` (meta set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetaSetFlags {
    /// `b`: the key is binary; the encoder sends it base64-encoded.
    pub base64_key: bool,
    /// `c`: return the CAS value of the stored item.
    pub return_cas: bool,
    /// `k`: return the key.
    pub return_key: bool,
    /// `q`: quiet mode: success (`HD`) is not sent.
    pub quiet: bool,
    /// `I`: invalidate: with `C`, a CAS older than the item's marks it stale.
    pub invalidate: bool,
    /// `O`: opaque token echoed back.
    pub opaque: Option<u32>,
    /// `C`: store only if the item's CAS equals this.
    pub compare_cas: Option<u64>,
    /// `E`: CAS value to give the new item.
    pub new_cas: Option<u64>,
    /// `F`: client flags.
    pub client_flags: Option<u32>,
    /// `T`: TTL.
    pub ttl: Option<u32>,
    /// `M`: mode (set, add, replace, append, prepend).
    pub mode: Option<MetaSetMode>,
    /// `N`: in append mode, vivify a missing item with this TTL.
    pub vivify_on_append: Option<u32>,
}

/// Flags of `md` (meta delete).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetaDeleteFlags {
    /// `b`: the key is binary; the encoder sends it base64-encoded.
    pub base64_key: bool,
    /// `k`: return the key.
    pub return_key: bool,
    /// `q`: quiet mode: success (`HD`) is not sent.
    pub quiet: bool,
    /// `I`: invalidate: mark the item stale instead of removing it.
    pub invalidate: bool,
    /// `x`: remove the value but keep the item.
    pub remove_value_only: bool,
    /// `O`: opaque token echoed back.
    pub opaque: Option<u32>,
    /// `C`: delete only if the item's CAS equals this.
    pub compare_cas: Option<u64>,
    /// `E`: CAS value to use when the item is modified.
    pub new_cas: Option<u64>,
    /// `T`: with `I`, the TTL of the stale item.
    pub ttl: Option<u32>,
}

/// `M` mode of `ma`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithmeticMode {
    /// `MI`: add the delta.
    Increment,
    /// `MD`: subtract the delta (stopping at 0).
    Decrement,
}

/// Flags of `ma` (meta arithmetic).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetaArithmeticFlags {
    /// `b`: the key is binary; the encoder sends it base64-encoded.
    pub base64_key: bool,
    /// `k`: return the key.
    pub return_key: bool,
    /// `c`: return the CAS value.
    pub return_cas: bool,
    /// `t`: return the remaining TTL.
    pub return_ttl: bool,
    /// `v`: return the new value.
    pub return_value: bool,
    /// `q`: quiet mode: success (`HD`) is not sent.
    pub quiet: bool,
    /// `O`: opaque token echoed back.
    pub opaque: Option<u32>,
    /// `C`: apply only if the item's CAS equals this.
    pub compare_cas: Option<u64>,
    /// `E`: CAS value to use when the item is modified.
    pub new_cas: Option<u64>,
    /// `N`: create a missing item with this TTL.
    pub vivify: Option<u32>,
    /// `J`: initial value when vivifying.
    pub initial: Option<u64>,
    /// `D`: delta (default 1).
    pub delta: Option<u64>,
    /// `T`: update the TTL.
    pub ttl: Option<u32>,
    /// `M`: increment (default) or decrement.
    pub mode: Option<ArithmeticMode>,
}

/// Appends ` F` / ` Ftoken` pieces.
struct FlagWriter<'a>(&'a mut BytesMut);

impl FlagWriter<'_> {
    fn bare(&mut self, on: bool, flag: u8) -> &mut Self {
        if on {
            self.0.put_slice(&[b' ', flag]);
        }
        self
    }
    fn num(&mut self, value: Option<u64>, flag: u8) -> &mut Self {
        if let Some(v) = value {
            self.0.put_slice(&[b' ', flag]);
            put_u64(self.0, v);
        }
        self
    }
    fn letter(&mut self, value: Option<u8>, flag: u8) -> &mut Self {
        if let Some(v) = value {
            self.0.put_slice(&[b' ', flag, v]);
        }
        self
    }
}

fn wide(v: Option<u32>) -> Option<u64> {
    v.map(u64::from)
}

impl MetaGetFlags {
    pub(crate) fn write(&self, dst: &mut BytesMut) {
        FlagWriter(dst)
            .bare(self.base64_key, b'b')
            .bare(self.return_cas, b'c')
            .bare(self.return_flags, b'f')
            .bare(self.return_hit, b'h')
            .bare(self.return_key, b'k')
            .bare(self.return_last_access, b'l')
            .bare(self.return_size, b's')
            .bare(self.return_ttl, b't')
            .bare(self.return_value, b'v')
            .bare(self.no_lru_bump, b'u')
            .bare(self.quiet, b'q')
            .num(wide(self.opaque), b'O')
            .num(self.new_cas, b'E')
            .num(wide(self.vivify), b'N')
            .num(wide(self.recache), b'R')
            .num(wide(self.touch), b'T');
    }
}

impl MetaSetFlags {
    pub(crate) fn write(&self, dst: &mut BytesMut) {
        let mode = self.mode.map(|m| match m {
            MetaSetMode::Set => b'S',
            MetaSetMode::Add => b'E',
            MetaSetMode::Replace => b'R',
            MetaSetMode::Append => b'A',
            MetaSetMode::Prepend => b'P',
        });
        FlagWriter(dst)
            .bare(self.base64_key, b'b')
            .bare(self.return_cas, b'c')
            .bare(self.return_key, b'k')
            .bare(self.quiet, b'q')
            .bare(self.invalidate, b'I')
            .num(wide(self.opaque), b'O')
            .num(self.compare_cas, b'C')
            .num(self.new_cas, b'E')
            .num(wide(self.client_flags), b'F')
            .num(wide(self.ttl), b'T')
            .letter(mode, b'M')
            .num(wide(self.vivify_on_append), b'N');
    }
}

impl MetaDeleteFlags {
    pub(crate) fn write(&self, dst: &mut BytesMut) {
        FlagWriter(dst)
            .bare(self.base64_key, b'b')
            .bare(self.return_key, b'k')
            .bare(self.quiet, b'q')
            .bare(self.invalidate, b'I')
            .bare(self.remove_value_only, b'x')
            .num(wide(self.opaque), b'O')
            .num(self.compare_cas, b'C')
            .num(self.new_cas, b'E')
            .num(wide(self.ttl), b'T');
    }
}

impl MetaArithmeticFlags {
    pub(crate) fn write(&self, dst: &mut BytesMut) {
        let mode = self.mode.map(|m| match m {
            ArithmeticMode::Increment => b'I',
            ArithmeticMode::Decrement => b'D',
        });
        FlagWriter(dst)
            .bare(self.base64_key, b'b')
            .bare(self.return_key, b'k')
            .bare(self.return_cas, b'c')
            .bare(self.return_ttl, b't')
            .bare(self.return_value, b'v')
            .bare(self.quiet, b'q')
            .num(wide(self.opaque), b'O')
            .num(self.compare_cas, b'C')
            .num(self.new_cas, b'E')
            .num(wide(self.vivify), b'N')
            .num(self.initial, b'J')
            .num(self.delta, b'D')
            .num(wide(self.ttl), b'T')
            .letter(mode, b'M');
    }
}

/// Return flags of a meta reply (`VA`, `HD`, `EN`, ...). Flags the server
/// did not send are `None`/`false`; unknown flags are ignored so a newer
/// server does not break an older client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetaReturnFlags {
    /// `c`: CAS value.
    pub cas: Option<u64>,
    /// `f`: client flags.
    pub client_flags: Option<u32>,
    /// `h`: whether the item had been hit before.
    pub hit_before: Option<bool>,
    /// `k`: the key as the server sent it (base64 when `base64_key`).
    pub key: Option<Bytes>,
    /// `b`: the returned key is base64-encoded.
    pub base64_key: bool,
    /// `l`: seconds since last access.
    pub last_access: Option<u64>,
    /// `O`: the request's opaque token.
    pub opaque: Option<u32>,
    /// `s`: value size.
    pub size: Option<u64>,
    /// `t`: remaining TTL; -1 means no expiry.
    pub ttl: Option<i64>,
    /// `W`: this client won the right to recompute the value.
    pub win: bool,
    /// `X`: the item is stale.
    pub stale: bool,
    /// `Z`: another client already won; wait for its value.
    pub already_won: bool,
}

impl MetaReturnFlags {
    /// Parses space-separated flag tokens; `line` is a slice of `frame`
    /// (for zero-copy keys).
    pub(crate) fn parse(frame: &Bytes, start: usize, end: usize) -> Result<Self, DecodeError> {
        let mut flags = MetaReturnFlags::default();
        let line = &frame[start..end];
        let mut offset = start;
        for token in line.split(|&b| b == b' ') {
            let token_start = offset;
            offset += token.len() + 1;
            let Some((&flag, rest)) = token.split_first() else {
                continue; // tolerate doubled spaces
            };
            match flag {
                b'c' => flags.cas = Some(parse_num(rest, "bad c flag")?),
                b'f' => flags.client_flags = Some(parse_num(rest, "bad f flag")?),
                b'h' => {
                    flags.hit_before = Some(match rest {
                        b"0" => false,
                        b"1" => true,
                        _ => return Err(DecodeError::Malformed("bad h flag")),
                    })
                }
                b'k' => flags.key = Some(frame.slice(token_start + 1..token_start + token.len())),
                b'b' => flags.base64_key = true,
                b'l' => flags.last_access = Some(parse_num(rest, "bad l flag")?),
                b'O' => flags.opaque = Some(parse_num(rest, "bad O flag")?),
                b's' => flags.size = Some(parse_num(rest, "bad s flag")?),
                b't' => flags.ttl = Some(parse_signed(rest)?),
                b'W' => flags.win = true,
                b'X' => flags.stale = true,
                b'Z' => flags.already_won = true,
                _ => {}
            }
        }
        Ok(flags)
    }
}

/// Parses an unsigned decimal that must fit `T`.
pub(crate) fn parse_num<T: TryFrom<u64>>(
    digits: &[u8],
    what: &'static str,
) -> Result<T, DecodeError> {
    if digits.is_empty() || digits.len() > 20 {
        return Err(DecodeError::Malformed(what));
    }
    let mut n: u64 = 0;
    // 19 digits always fit a u64: only the 20th needs overflow checks.
    let (head, tail) = digits.split_at(digits.len().min(19));
    for &d in head {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return Err(DecodeError::Malformed(what));
        }
        n = n * 10 + u64::from(digit);
    }
    if let Some(&d) = tail.first() {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return Err(DecodeError::Malformed(what));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(digit)))
            .ok_or(DecodeError::Malformed(what))?;
    }
    T::try_from(n).map_err(|_| DecodeError::Malformed(what))
}

fn parse_signed(text: &[u8]) -> Result<i64, DecodeError> {
    const WHAT: &str = "bad t flag";
    match text.split_first() {
        Some((b'-', digits)) => {
            let n: u64 = parse_num(digits, WHAT)?;
            i64::try_from(n)
                .map(|n| -n)
                .map_err(|_| DecodeError::Malformed(WHAT))
        }
        _ => parse_num(text, WHAT),
    }
}
