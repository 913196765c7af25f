//! The binary value format stored in memcached (not decimal text).
//!
//! Every value starts with a 10-byte header:
//!
//! | bytes | field |
//! |-------|-------|
//! | 0..4  | magic `SQRT` |
//! | 4     | format version (2) |
//! | 5     | kind: 1 = root, 2 = chunk manifest |
//! | 6..10 | CRC-32C (Castagnoli), little-endian, over bytes 10.. (payload and tag) |
//!
//! Every payload starts with the **binding**: the BLAKE3 hash (32 bytes) of
//! the value's key, which names the number and the digit count
//! ([`crate::MemoKey`]). A value copied or forged under another key, for
//! another number or digit count, is refused however valid it is otherwise.
//! Every value ends with a 32-byte **tag**: a keyed BLAKE3 MAC over bytes
//! 0..6 and the payload under the key derived from the configured secret
//! ([`crate::MemoSecret`]), or zeros when the writer had no secret. CRC-32C
//! catches corruption; only the tag shows who wrote a value.
//!
//! Root payload (after the binding): trace id (16), span id (8) of the span that computed it,
//! digits (u32 LE), flags (u8, bit 0 = exact, bit 1 = remainder follows),
//! root length (u64 LE), then the scaled root `r = floor(sqrt(n) * 10^digits)`
//! as GMP's little-endian base-256 digits
//! (`Integer::to_digits::<u8>(Order::Lsf)`); with bit 1, the remainder
//! `n * 10^(2*digits) - r^2` follows the same way (length u64 LE, then its
//! digits). The remainder lets a reader without the secret check the root in
//! linear time instead of squaring it ([`crate::certificate`]); writers
//! include it when their own hits would be verified.
//!
//! Manifest payload (after the binding): trace id (16), span id (8), digits (u32 LE), write
//! generation (u64 LE), chunk count (u32 LE), total length (u64 LE) and
//! CRC-32C (u32 LE) of the assembled root value, whose bytes are stored in
//! chunks under [`crate::MemoKey::chunk_key`].
//!
//! Decoding checks magic, version, kind, checksum, binding, tag (when a
//! secret is configured) and every length against [`DecodeRules`], so a
//! truncated, corrupt, foreign, swapped or forged value is an error (a cache
//! miss), never a wrong root. Whether a decoded root may skip arithmetic
//! verification is the caller's decision ([`Decoded::authenticated`]).

use rug::Integer;

use crate::arith::ExactSqrt;
use crate::error::FormatError;
use crate::key::MemoKey;
use crate::magnitude;
use crate::secret::MemoSecret;
use crate::trace_context::TraceContext;

/// First four bytes of every value.
pub const MAGIC: [u8; 4] = *b"SQRT";
/// The format version written and read by this crate.
pub const FORMAT_VERSION: u8 = 2;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 10;

const KIND_ROOT: u8 = 1;
const KIND_MANIFEST: u8 = 2;
const FLAG_EXACT: u8 = 1;
const FLAG_REMAINDER: u8 = 2;
const BINDING_LEN: usize = 32;
const TAG_LEN: usize = 32;
const TRACE_LEN: usize = 16 + 8;
const ROOT_FIXED_LEN: usize = BINDING_LEN + TRACE_LEN + 4 + 1;
const MANIFEST_LEN: usize = BINDING_LEN + TRACE_LEN + 4 + 8 + 4 + 8 + 4;

/// What a stored value must satisfy to be read.
#[derive(Debug, Clone, Copy)]
pub struct DecodeRules<'a> {
    /// The key it was read under (binds the number and digit count).
    pub key: &'a MemoKey,
    /// The digit count the key asked for.
    pub digits: u32,
    /// The secret whose tag the value must carry, if one is configured.
    pub secret: Option<&'a MemoSecret>,
    /// Longest root value accepted (also bounds a manifest's total length).
    pub max_value_len: usize,
    /// Most chunks a manifest may announce.
    pub max_chunks: u32,
}

/// A value that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// What it holds.
    pub value: StoredValue,
    /// Its tag was checked against the configured secret: written by a
    /// holder of the secret.
    pub authenticated: bool,
}

/// A root as stored, with the trace context of the span that computed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRoot {
    /// The root.
    pub root: ExactSqrt,
    /// `n * 10^(2*digits) - root^2` as the writer claims it, if it stored
    /// one: checked in linear time by [`crate::certificate`].
    pub remainder: Option<Integer>,
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

/// Encodes a root value for `key`, tagged with `secret` if given.
pub fn encode_root(
    root: &ExactSqrt,
    source: &TraceContext,
    key: &MemoKey,
    secret: Option<&MemoSecret>,
) -> Vec<u8> {
    encode_root_with_remainder(root, None, source, key, secret)
}

/// [`encode_root`], with the root's remainder `n * 10^(2*digits) - r^2`
/// when given.
pub fn encode_root_with_remainder(
    root: &ExactSqrt,
    remainder: Option<&Integer>,
    source: &TraceContext,
    key: &MemoKey,
    secret: Option<&MemoSecret>,
) -> Vec<u8> {
    let mut payload = Vec::with_capacity(ROOT_FIXED_LEN);
    payload.extend_from_slice(&binding(key));
    push_trace(&mut payload, source);
    payload.extend_from_slice(&root.digits().to_le_bytes());
    let mut flags = if root.is_exact() { FLAG_EXACT } else { 0 };
    if remainder.is_some() {
        flags |= FLAG_REMAINDER;
    }
    payload.push(flags);
    for number in std::iter::once(root.scaled()).chain(remainder) {
        magnitude::with_le_bytes(number, |bytes| {
            payload.reserve(8 + bytes.len());
            payload.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            payload.extend_from_slice(bytes);
        });
    }
    frame(KIND_ROOT, &payload, secret)
}

/// Encodes a chunk manifest for `key`, tagged with `secret` if given.
pub fn encode_manifest(manifest: &Manifest, key: &MemoKey, secret: Option<&MemoSecret>) -> Vec<u8> {
    let mut payload = Vec::with_capacity(MANIFEST_LEN);
    payload.extend_from_slice(&binding(key));
    push_trace(&mut payload, &manifest.source);
    payload.extend_from_slice(&manifest.digits.to_le_bytes());
    payload.extend_from_slice(&manifest.generation.to_le_bytes());
    payload.extend_from_slice(&manifest.chunk_count.to_le_bytes());
    payload.extend_from_slice(&manifest.total_len.to_le_bytes());
    payload.extend_from_slice(&manifest.total_crc.to_le_bytes());
    frame(KIND_MANIFEST, &payload, secret)
}

/// The binding of a value stored under `key`.
fn binding(key: &MemoKey) -> [u8; BINDING_LEN] {
    *blake3::hash(key.as_str().as_bytes()).as_bytes()
}

/// Decodes and checks a value against `rules`.
pub fn decode(bytes: &[u8], rules: &DecodeRules<'_>) -> Result<Decoded, FormatError> {
    let digits = rules.digits;
    if bytes.len()
        > rules
            .max_value_len
            .saturating_add(HEADER_LEN + MANIFEST_LEN + TAG_LEN)
    {
        return Err(FormatError::TooLarge);
    }
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
    let body = &bytes[HEADER_LEN..];
    if crc32c::crc32c(body) != stored_crc {
        return Err(FormatError::ChecksumMismatch);
    }
    if body.len() < BINDING_LEN + TAG_LEN {
        return Err(FormatError::Truncated("no room for binding and tag"));
    }
    let (payload, stored_tag) = body.split_at(body.len() - TAG_LEN);
    if payload[..BINDING_LEN] != binding(rules.key) {
        return Err(FormatError::ForeignBinding);
    }
    let authenticated = match rules.secret {
        Some(secret) => {
            // Constant-time comparison (blake3::Hash's PartialEq).
            if tag(secret, &bytes[..6], payload)
                != blake3::Hash::from_slice(stored_tag).map_err(|_| FormatError::BadTag)?
            {
                return Err(FormatError::BadTag);
            }
            true
        }
        None => false,
    };
    let mut reader = Reader(&payload[BINDING_LEN..]);
    let value = match kind {
        KIND_ROOT => StoredValue::Root(read_root(&mut reader)?),
        KIND_MANIFEST => StoredValue::Manifest(read_manifest(&mut reader, rules)?),
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
    Ok(Decoded {
        value,
        authenticated,
    })
}

/// The tag of a value: keyed BLAKE3 over the header's first six bytes
/// (magic, version, kind) and the payload.
fn tag(secret: &MemoSecret, head: &[u8], payload: &[u8]) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new_keyed(secret.mac_key());
    hasher.update(head);
    hasher.update(payload);
    hasher.finalize()
}

fn read_root(reader: &mut Reader<'_>) -> Result<StoredRoot, FormatError> {
    let source = reader.trace()?;
    let digits = reader.u32()?;
    let flags = reader.take(1)?[0];
    if flags & !(FLAG_EXACT | FLAG_REMAINDER) != 0 {
        return Err(FormatError::Inconsistent("unknown flag bits"));
    }
    let scaled = reader.magnitude()?;
    let remainder = if flags & FLAG_REMAINDER != 0 {
        Some(reader.magnitude()?)
    } else {
        None
    };
    Ok(StoredRoot {
        root: ExactSqrt::from_parts(scaled, digits, flags & FLAG_EXACT != 0),
        remainder,
        source,
    })
}

fn read_manifest(
    reader: &mut Reader<'_>,
    rules: &DecodeRules<'_>,
) -> Result<Manifest, FormatError> {
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
    // And both by what this configuration would ever write: a manifest
    // announcing more is corrupt (or hostile), not work to do.
    if chunk_count > rules.max_chunks {
        return Err(FormatError::Inconsistent(
            "more chunks than the configuration allows",
        ));
    }
    if total_len > rules.max_value_len as u64 {
        return Err(FormatError::TooLarge);
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

fn frame(kind: u8, payload: &[u8], secret: Option<&MemoSecret>) -> Vec<u8> {
    let head = [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], FORMAT_VERSION, kind];
    let tag = secret.map_or([0; TAG_LEN], |s| *tag(s, &head, payload).as_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(payload), &tag);
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + TAG_LEN);
    out.extend_from_slice(&head);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&tag);
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

    /// A length (u64 LE) and that many canonical little-endian bytes.
    fn magnitude(&mut self) -> Result<Integer, FormatError> {
        let len = usize::try_from(self.u64()?)
            .map_err(|_| FormatError::Inconsistent("number length overflows"))?;
        let bytes = self.take(len)?;
        if bytes.last() == Some(&0) {
            // GMP never writes a most significant zero byte.
            return Err(FormatError::Inconsistent("non-canonical number bytes"));
        }
        Ok(magnitude::from_le_bytes(bytes))
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

    fn key(n: u32, digits: u32) -> MemoKey {
        MemoKey::for_integer(&Integer::from(n), digits).unwrap()
    }

    fn rules<'a>(key: &'a MemoKey, digits: u32, secret: Option<&'a MemoSecret>) -> DecodeRules<'a> {
        DecodeRules {
            key,
            digits,
            secret,
            max_value_len: 1 << 20,
            max_chunks: 64,
        }
    }

    fn sample() -> (ExactSqrt, TraceContext, MemoKey) {
        let root = sqrt_decimal(&Integer::from(2u32), 50).unwrap();
        let trace = TraceContext {
            trace_id: [7; 16],
            span_id: [9; 8],
        };
        (root, trace, key(2, 50))
    }

    fn root_of(decoded: Result<Decoded, FormatError>) -> StoredRoot {
        match decoded.unwrap().value {
            StoredValue::Root(root) => root,
            other => panic!("expected a root, got {other:?}"),
        }
    }

    #[test]
    fn root_round_trips() {
        let (root, trace, k) = sample();
        let bytes = encode_root(&root, &trace, &k, None);
        assert_eq!(&bytes[..4], b"SQRT");
        let decoded = decode(&bytes, &rules(&k, 50, None)).unwrap();
        assert!(!decoded.authenticated);
        let StoredValue::Root(decoded) = decoded.value else {
            panic!("expected a root");
        };
        assert_eq!(decoded.root, root);
        assert_eq!(decoded.source, trace);
        let exact = sqrt_decimal(&Integer::from(81u32), 3).unwrap();
        let k81 = key(81, 3);
        let d = root_of(decode(
            &encode_root(&exact, &trace, &k81, None),
            &rules(&k81, 3, None),
        ));
        assert!(d.root.is_exact());
        let zero = sqrt_decimal(&Integer::new(), 0).unwrap();
        let k0 = key(0, 0);
        let d = root_of(decode(
            &encode_root(&zero, &trace, &k0, None),
            &rules(&k0, 0, None),
        ));
        assert_eq!(d.root, zero);
    }

    #[test]
    fn a_root_with_its_remainder_round_trips_and_every_truncation_is_rejected() {
        let n = Integer::from(2u32);
        let (root, remainder) =
            crate::arith::sqrt_decimal_rem_within(&n, 50, &Default::default()).unwrap();
        let trace = TraceContext::default();
        let k = key(2, 50);
        let bytes = encode_root_with_remainder(&root, Some(&remainder), &trace, &k, None);
        let decoded = root_of(decode(&bytes, &rules(&k, 50, None)));
        assert_eq!(decoded.root, root);
        assert_eq!(decoded.remainder, Some(remainder));
        assert_eq!(
            root_of(decode(
                &encode_root(&root, &trace, &k, None),
                &rules(&k, 50, None)
            ))
            .remainder,
            None
        );
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len], &rules(&k, 50, None)).is_err(),
                "accepted {len} bytes"
            );
        }
    }

    #[test]
    fn manifest_round_trips() {
        let manifest = Manifest {
            source: TraceContext::default(),
            digits: 12,
            generation: 0xdead_beef_0123_4567,
            chunk_count: 3,
            total_len: 250_000,
            total_crc: 42,
        };
        let k = key(5, 12);
        let bytes = encode_manifest(&manifest, &k, None);
        assert_eq!(
            decode(&bytes, &rules(&k, 12, None)).map(|d| d.value),
            Ok(StoredValue::Manifest(manifest))
        );
    }

    #[test]
    fn every_truncation_is_rejected() {
        let (root, trace, k) = sample();
        let bytes = encode_root(&root, &trace, &k, None);
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len], &rules(&k, 50, None)).is_err(),
                "accepted {len} bytes"
            );
        }
    }

    #[test]
    fn every_single_bit_flip_is_rejected() {
        let (root, trace, k) = sample();
        let bytes = encode_root(&root, &trace, &k, None);
        for position in 0..bytes.len() {
            for bit in 0..8 {
                let mut corrupt = bytes.clone();
                corrupt[position] ^= 1 << bit;
                assert!(
                    decode(&corrupt, &rules(&k, 50, None)).is_err(),
                    "flip {position}:{bit}"
                );
            }
        }
    }

    #[test]
    fn foreign_and_mismatched_values_are_rejected() {
        let (root, trace, k) = sample();
        let r = rules(&k, 50, None);
        assert_eq!(decode(b"1.4142135623", &r), Err(FormatError::BadMagic));
        assert_eq!(
            decode(b"", &r),
            Err(FormatError::Truncated("shorter than the header"))
        );
        let mut old = encode_root(&root, &trace, &k, None);
        old[4] = 1;
        assert_eq!(decode(&old, &r), Err(FormatError::UnsupportedVersion(1)));
        let mut extended = encode_root(&root, &trace, &k, None);
        extended.push(0);
        assert!(decode(&extended, &r).is_err());
    }

    #[test]
    fn a_value_is_bound_to_its_number_and_digits() {
        // A perfectly valid value for sqrt(3) (or for sqrt(2) at 49 digits),
        // copied under the key of sqrt(2) at 50 digits, is refused.
        let (_, trace, k2) = sample();
        let k3 = key(3, 50);
        let root3 = sqrt_decimal(&Integer::from(3u32), 50).unwrap();
        let swapped = encode_root(&root3, &trace, &k3, None);
        assert_eq!(
            decode(&swapped, &rules(&k2, 50, None)),
            Err(FormatError::ForeignBinding)
        );
        let k2_49 = key(2, 49);
        let other_digits = encode_root(
            &sqrt_decimal(&Integer::from(2u32), 49).unwrap(),
            &trace,
            &k2_49,
            None,
        );
        assert_eq!(
            decode(&other_digits, &rules(&k2, 50, None)),
            Err(FormatError::ForeignBinding)
        );
    }

    #[test]
    fn with_a_secret_only_tagged_values_are_read_and_they_are_authenticated() {
        let (root, trace, k) = sample();
        let secret = MemoSecret::new("correct horse battery staple");
        let tagged = encode_root(&root, &trace, &k, Some(&secret));
        let decoded = decode(&tagged, &rules(&k, 50, Some(&secret))).unwrap();
        assert!(decoded.authenticated);
        // Written without the secret, or with another one: refused.
        let untagged = encode_root(&root, &trace, &k, None);
        assert_eq!(
            decode(&untagged, &rules(&k, 50, Some(&secret))),
            Err(FormatError::BadTag)
        );
        let other = MemoSecret::new("another secret");
        let foreign = encode_root(&root, &trace, &k, Some(&other));
        assert_eq!(
            decode(&foreign, &rules(&k, 50, Some(&secret))),
            Err(FormatError::BadTag)
        );
        // A reader without the secret still reads it, unauthenticated.
        assert!(!decode(&tagged, &rules(&k, 50, None)).unwrap().authenticated);
    }

    #[test]
    fn manifests_are_bounded_by_the_configuration() {
        let k = key(5, 12);
        let manifest = |chunk_count: u32, total_len: u64| Manifest {
            source: TraceContext::default(),
            digits: 12,
            generation: 1,
            chunk_count,
            total_len,
            total_crc: 0,
        };
        let r = rules(&k, 12, None);
        let huge = encode_manifest(&manifest(u32::MAX, u64::MAX), &k, None);
        assert!(matches!(
            decode(&huge, &r),
            Err(FormatError::Inconsistent(_))
        ));
        let too_long = encode_manifest(&manifest(2, 2 << 20), &k, None);
        assert_eq!(decode(&too_long, &r), Err(FormatError::TooLarge));
        let fits = encode_manifest(&manifest(64, 1 << 20), &k, None);
        assert!(decode(&fits, &r).is_ok());
    }
}
