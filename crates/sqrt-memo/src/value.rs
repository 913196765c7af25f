//! The binary value format stored in memcached (not decimal text).
//!
//! Every value starts with a 10-byte header:
//!
//! | bytes | field |
//! |-------|-------|
//! | 0..4  | magic `SQRT` |
//! | 4     | format version (1) |
//! | 5     | kind: 1 = root, 2 = chunk manifest |
//! | 6..10 | CRC-32C (Castagnoli), little-endian, over bytes 10.. (the payload) |
//!
//! Root payload: trace id (16), span id (8) of the span that computed it,
//! digits (u32 LE), flags (u8, bit 0 = exact), root length (u64 LE), then the
//! scaled root `floor(sqrt(n) * 10^digits)` as GMP's little-endian base-256
//! digits (`Integer::to_digits::<u8>(Order::Lsf)`).
//!
//! Manifest payload: trace id (16), span id (8), digits (u32 LE), write
//! generation (u64 LE), chunk count (u32 LE), total length (u64 LE) and
//! CRC-32C (u32 LE) of the assembled root value, whose bytes are stored in
//! chunks under [`crate::MemoKey::chunk_key`].
//!
//! Decoding checks magic, version, kind, checksum and every length, so a
//! truncated, corrupt or foreign value is an error (a cache miss), never a
//! wrong root.

use rug::integer::Order;
use rug::Integer;

use crate::arith::ExactSqrt;
use crate::error::FormatError;
use crate::trace_context::TraceContext;

/// First four bytes of every value.
pub const MAGIC: [u8; 4] = *b"SQRT";
/// The format version written and read by this crate.
pub const FORMAT_VERSION: u8 = 1;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 10;

const KIND_ROOT: u8 = 1;
const KIND_MANIFEST: u8 = 2;
const FLAG_EXACT: u8 = 1;
const TRACE_LEN: usize = 16 + 8;
const ROOT_FIXED_LEN: usize = TRACE_LEN + 4 + 1 + 8;
const MANIFEST_LEN: usize = TRACE_LEN + 4 + 8 + 4 + 8 + 4;

/// A root as stored, with the trace context of the span that computed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRoot {
    /// The root.
    pub root: ExactSqrt,
    /// Where it was computed.
    pub source: TraceContext,
}

/// The main-key value of a result too large for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Manifest {
    /// Where the root was computed.
    pub source: TraceContext,
    /// Fractional digits of the root.
    pub digits: u32,
    /// Random id of the write; only chunks of this generation are read.
    pub generation: u64,
    /// How many chunks.
    pub chunk_count: u32,
    /// Length of the assembled root value.
    pub total_len: u64,
    /// CRC-32C of the assembled root value.
    pub total_crc: u32,
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredValue {
    /// The root itself.
    Root(StoredRoot),
    /// A pointer to chunks holding an encoded root value.
    Manifest(Manifest),
}

/// Encodes a root value.
pub fn encode_root(root: &ExactSqrt, source: &TraceContext) -> Vec<u8> {
    let magnitude = root.scaled().to_digits::<u8>(Order::Lsf);
    let mut payload = Vec::with_capacity(ROOT_FIXED_LEN + magnitude.len());
    push_trace(&mut payload, source);
    payload.extend_from_slice(&root.digits().to_le_bytes());
    payload.push(if root.is_exact() { FLAG_EXACT } else { 0 });
    payload.extend_from_slice(&(magnitude.len() as u64).to_le_bytes());
    payload.extend_from_slice(&magnitude);
    frame(KIND_ROOT, &payload)
}

/// Encodes a chunk manifest.
pub fn encode_manifest(manifest: &Manifest) -> Vec<u8> {
    let mut payload = Vec::with_capacity(MANIFEST_LEN);
    push_trace(&mut payload, &manifest.source);
    payload.extend_from_slice(&manifest.digits.to_le_bytes());
    payload.extend_from_slice(&manifest.generation.to_le_bytes());
    payload.extend_from_slice(&manifest.chunk_count.to_le_bytes());
    payload.extend_from_slice(&manifest.total_len.to_le_bytes());
    payload.extend_from_slice(&manifest.total_crc.to_le_bytes());
    frame(KIND_MANIFEST, &payload)
}

/// Decodes and checks a value; `digits` is what the key asked for.
pub fn decode(bytes: &[u8], digits: u32) -> Result<StoredValue, FormatError> {
    if bytes.len() < HEADER_LEN {
        if !bytes.is_empty() && !MAGIC.starts_with(&bytes[..bytes.len().min(4)]) {
            return Err(FormatError::BadMagic);
        }
        return Err(FormatError::Truncated("shorter than the header"));
    }
    if bytes[0..4] != MAGIC {
        return Err(FormatError::BadMagic);
    }
    if bytes[4] != FORMAT_VERSION {
        return Err(FormatError::UnsupportedVersion(bytes[4]));
    }
    let kind = bytes[5];
    let stored_crc = u32::from_le_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
    let payload = &bytes[HEADER_LEN..];
    if crc32c::crc32c(payload) != stored_crc {
        return Err(FormatError::ChecksumMismatch);
    }
    let mut reader = Reader(payload);
    let value = match kind {
        KIND_ROOT => StoredValue::Root(read_root(&mut reader)?),
        KIND_MANIFEST => StoredValue::Manifest(read_manifest(&mut reader)?),
        other => return Err(FormatError::UnknownKind(other)),
    };
    if !reader.0.is_empty() {
        return Err(FormatError::Inconsistent("bytes after the payload"));
    }
    let stored_digits = match &value {
        StoredValue::Root(r) => r.root.digits(),
        StoredValue::Manifest(m) => m.digits,
    };
    if stored_digits != digits {
        return Err(FormatError::Inconsistent("digits differ from the key's"));
    }
    Ok(value)
}

fn read_root(reader: &mut Reader<'_>) -> Result<StoredRoot, FormatError> {
    let source = reader.trace()?;
    let digits = reader.u32()?;
    let flags = reader.take(1)?[0];
    if flags & !FLAG_EXACT != 0 {
        return Err(FormatError::Inconsistent("unknown flag bits"));
    }
    let len = usize::try_from(reader.u64()?)
        .map_err(|_| FormatError::Inconsistent("root length overflows"))?;
    let magnitude = reader.take(len)?;
    if magnitude.last() == Some(&0) {
        // GMP never writes a most significant zero byte.
        return Err(FormatError::Inconsistent("non-canonical root bytes"));
    }
    let scaled = Integer::from_digits(magnitude, Order::Lsf);
    Ok(StoredRoot {
        root: ExactSqrt::from_parts(scaled, digits, flags & FLAG_EXACT != 0),
        source,
    })
}

fn read_manifest(reader: &mut Reader<'_>) -> Result<Manifest, FormatError> {
    let source = reader.trace()?;
    let digits = reader.u32()?;
    let generation = reader.u64()?;
    let chunk_count = reader.u32()?;
    let total_len = reader.u64()?;
    let total_crc = reader.u32()?;
    if chunk_count == 0 {
        return Err(FormatError::Inconsistent("manifest without chunks"));
    }
    if u64::from(chunk_count) > total_len {
        // Every chunk holds at least one byte; this bounds the reads a
        // manifest can ask for by the length it announces.
        return Err(FormatError::Inconsistent("more chunks than bytes"));
    }
    Ok(Manifest {
        source,
        digits,
        generation,
        chunk_count,
        total_len,
        total_crc,
    })
}

fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.push(FORMAT_VERSION);
    out.push(kind);
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

fn push_trace(out: &mut Vec<u8>, trace: &TraceContext) {
    out.extend_from_slice(&trace.trace_id);
    out.extend_from_slice(&trace.span_id);
}

/// A bounds-checked cursor over the payload.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], FormatError> {
        if self.0.len() < len {
            return Err(FormatError::Truncated("payload shorter than announced"));
        }
        let (head, tail) = self.0.split_at(len);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FormatError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, FormatError> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, FormatError> {
        self.array().map(u64::from_le_bytes)
    }

    fn trace(&mut self) -> Result<TraceContext, FormatError> {
        Ok(TraceContext {
            trace_id: self.array()?,
            span_id: self.array()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::sqrt_decimal;

    fn sample() -> (ExactSqrt, TraceContext) {
        let root = sqrt_decimal(&Integer::from(2u32), 50).unwrap();
        let trace = TraceContext {
            trace_id: [7; 16],
            span_id: [9; 8],
        };
        (root, trace)
    }

    #[test]
    fn root_round_trips() {
        let (root, trace) = sample();
        let bytes = encode_root(&root, &trace);
        assert_eq!(&bytes[..4], b"SQRT");
        let StoredValue::Root(decoded) = decode(&bytes, 50).unwrap() else {
            panic!("expected a root");
        };
        assert_eq!(decoded.root, root);
        assert_eq!(decoded.source, trace);
        let exact = sqrt_decimal(&Integer::from(81u32), 3).unwrap();
        let StoredValue::Root(d) = decode(&encode_root(&exact, &trace), 3).unwrap() else {
            panic!("expected a root");
        };
        assert!(d.root.is_exact());
        let zero = sqrt_decimal(&Integer::new(), 0).unwrap();
        let StoredValue::Root(d) = decode(&encode_root(&zero, &trace), 0).unwrap() else {
            panic!("expected a root");
        };
        assert_eq!(d.root, zero);
    }

    #[test]
    fn manifest_round_trips() {
        let manifest = Manifest {
            source: TraceContext::default(),
            digits: 12,
            generation: 0xdead_beef_0123_4567,
            chunk_count: 3,
            total_len: 2_500_000,
            total_crc: 42,
        };
        let bytes = encode_manifest(&manifest);
        assert_eq!(decode(&bytes, 12), Ok(StoredValue::Manifest(manifest)));
    }

    #[test]
    fn every_truncation_is_rejected() {
        let (root, trace) = sample();
        let bytes = encode_root(&root, &trace);
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len], 50).is_err(), "accepted {len} bytes");
        }
    }

    #[test]
    fn every_single_bit_flip_is_rejected() {
        let (root, trace) = sample();
        let bytes = encode_root(&root, &trace);
        for position in 0..bytes.len() {
            for bit in 0..8 {
                let mut corrupt = bytes.clone();
                corrupt[position] ^= 1 << bit;
                assert!(decode(&corrupt, 50).is_err(), "flip {position}:{bit}");
            }
        }
    }

    #[test]
    fn foreign_and_mismatched_values_are_rejected() {
        let (root, trace) = sample();
        assert_eq!(decode(b"1.4142135623", 50), Err(FormatError::BadMagic));
        assert_eq!(
            decode(b"", 50),
            Err(FormatError::Truncated("shorter than the header"))
        );
        let mut future = encode_root(&root, &trace);
        future[4] = 2;
        assert_eq!(decode(&future, 50), Err(FormatError::UnsupportedVersion(2)));
        assert!(matches!(
            decode(&encode_root(&root, &trace), 49),
            Err(FormatError::Inconsistent(_))
        ));
        let mut extended = encode_root(&root, &trace);
        extended.push(0);
        assert!(decode(&extended, 50).is_err());
    }
}
