//! The incremental response decoder.
//!
//! [`Decoder::decode`] looks at the front of the read buffer. If a whole
//! response item is there, it is split off (values become zero-copy slices)
//! and returned; if not, nothing is consumed and the caller reads more. The
//! decoder keeps no state between calls, so it can never be left half-way.
//! Every length the server announces is checked against [`Limits`] before
//! anything waits for it.

use bytes::{Buf, Bytes, BytesMut};

use crate::meta::parse_num;
use crate::plain_value;
use crate::{DecodeError, Limits, MetaResponse, MetaReturnFlags, MetaStatus, Response, Value};

/// Extra room reserved after an incomplete data block, for the line that
/// usually follows it in the same server write.
const FOLLOWING_LINE_ROOM: usize = 64;

/// Decodes memcached responses (text and meta protocol) from a byte buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decoder {
    /// The longest line and value it accepts.
    pub limits: Limits,
}

/// The shape of a response line, found before anything is consumed.
enum Line {
    /// A line with no data block, decoded straight from the line.
    Simple(Response),
    /// A line whose payload is kept as `Bytes` (split off the buffer); its
    /// text after the first word starts at `rest_start`.
    Owned { kind: Owned, rest_start: usize },
    /// A line followed by a data block.
    Data(DataLine),
}

/// The lines decoded into slices of their own frame, told apart once (by
/// [`Decoder::classify`]).
#[derive(Clone, Copy)]
enum Owned {
    Stat,
    Version,
    ClientError,
    ServerError,
    Meta(MetaStatus),
    MetaDebug,
}

/// A line announcing a data block, parsed once.
enum DataLine {
    /// `VALUE <key> <flags> <bytes> [<cas>]`.
    Value(ValueHeader),
    /// `VA <bytes> <flags>*`; the return flags start at `flags_start`.
    Meta { len: usize, flags_start: usize },
}

impl DataLine {
    fn len(&self) -> usize {
        match self {
            DataLine::Value(h) => h.len,
            DataLine::Meta { len, .. } => *len,
        }
    }
}

/// The fields of `VALUE <key> <flags> <bytes> [<cas>]`; the key starts right
/// after `VALUE `.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ValueHeader {
    pub key_len: usize,
    pub flags: u32,
    pub cas: Option<u64>,
    pub len: usize,
}

const VALUE_PREFIX: usize = plain_value::PREFIX.len();

impl Decoder {
    /// A decoder with the given limits.
    pub fn new(limits: Limits) -> Self {
        Decoder { limits }
    }

    /// Takes one response item off the front of `buf`.
    ///
    /// - `Ok(Some(item))`: the item's bytes were consumed.
    /// - `Ok(None)`: `buf` holds only part of an item; nothing was consumed.
    /// - `Err(_)`: the stream cannot be decoded; drop the connection.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Response>, DecodeError> {
        match self.plain_value_line(buf) {
            Some((line_len, header)) => self.take_data(buf, line_len, DataLine::Value(header)),
            None => self.decode_line(buf),
        }
    }

    /// [`Decoder::decode`] of any item: the line is found, then told apart.
    fn decode_line(&self, buf: &mut BytesMut) -> Result<Option<Response>, DecodeError> {
        let Some(line_len) = self.find_line(buf)? else {
            return Ok(None);
        };
        match self.classify(&buf[..line_len])? {
            Line::Simple(response) => {
                buf.advance(line_len + 2);
                Ok(Some(response))
            }
            Line::Owned { kind, rest_start } => {
                let frame = buf.split_to(line_len + 2).freeze();
                parse_owned(&frame, line_len, kind, rest_start).map(Some)
            }
            Line::Data(data_line) => self.take_data(buf, line_len, data_line),
        }
    }

    /// The item of a line announcing a data block, once the block is there.
    #[inline]
    fn take_data(
        &self,
        buf: &mut BytesMut,
        line_len: usize,
        data_line: DataLine,
    ) -> Result<Option<Response>, DecodeError> {
        let len = data_line.len();
        let data_start = line_len + 2;
        let total = data_start + len + 2;
        if buf.len() < total {
            // Reserve now so the socket reads land in one buffer, with room
            // for the short line that usually follows (`END`, `MN`):
            // otherwise it takes one more read.
            buf.reserve(total - buf.len() + FOLLOWING_LINE_ROOM);
            return Ok(None);
        }
        if &buf[total - 2..total] != b"\r\n" {
            return Err(DecodeError::Malformed(
                "data block not followed by \\r\\n (wrong length)",
            ));
        }
        match data_line {
            DataLine::Value(h) => Ok(Some(Response::Value(split_value(buf, line_len, &h)))),
            DataLine::Meta { flags_start, .. } => {
                let frame = buf.split_to(total).freeze();
                Ok(Some(Response::Meta(MetaResponse {
                    status: MetaStatus::Value,
                    flags: MetaReturnFlags::parse(&frame, flags_start, line_len)?,
                    value: Some(frame.slice(data_start..data_start + len)),
                })))
            }
        }
    }

    /// Takes a whole plain `VALUE` item (`VALUE <key> <flags> <bytes>
    /// [<cas>]`, its data block and `\r\n`) off the front of `buf`, the
    /// common item of a multi-get reply: the value [`Decoder::decode`] would
    /// have returned as a [`Response::Value`], with the same bytes consumed.
    /// `None`, with nothing consumed, for anything else (another response,
    /// an incomplete or unusual item, an error): call `decode` then.
    ///
    /// For read loops over many values: a [`Value`] is about half the size
    /// of a [`Response`], and this is inlined, so the value is built where
    /// the caller uses it instead of being returned through memory and
    /// copied again.
    #[inline(always)]
    pub fn decode_value(&self, buf: &mut BytesMut) -> Option<Value> {
        let (line_len, header) = self.plain_value_line(buf)?;
        let total = line_len + 2 + header.len + 2;
        if buf.len() < total || &buf[total - 2..total] != b"\r\n" {
            return None;
        }
        Some(split_value(buf, line_len, &header))
    }

    /// A whole plain `VALUE` line at the front of `buf` within the line
    /// limit, with a length within the value limit (see
    /// [`plain_value`](crate::plain_value)); `None` leaves it to the
    /// general path, errors included.
    #[inline]
    fn plain_value_line(&self, buf: &[u8]) -> Option<(usize, ValueHeader)> {
        let limit = self.limits.max_line_len;
        let (line_len, header) = plain_value::parse(&buf[..buf.len().min(limit + 2)])?;
        (line_len <= limit && header.len <= self.limits.max_value_len).then_some((line_len, header))
    }

    /// Length of the first line (without `\r\n`), if a whole line is there.
    fn find_line(&self, buf: &[u8]) -> Result<Option<usize>, DecodeError> {
        let limit = self.limits.max_line_len;
        let window = &buf[..buf.len().min(limit + 2)];
        match memchr::memchr(b'\n', window) {
            Some(nl) if nl > 0 && window[nl - 1] == b'\r' => Ok(Some(nl - 1)),
            Some(_) => Err(DecodeError::Malformed("line ends with a bare \\n")),
            None if buf.len() > limit + 1 => Err(DecodeError::LineTooLong { limit }),
            None => Ok(None),
        }
    }

    fn classify(&self, line: &[u8]) -> Result<Line, DecodeError> {
        let (word, rest) = split_word(line);
        let simple = |r| Ok(Line::Simple(r));
        let owned = |kind| {
            Ok(Line::Owned {
                kind,
                rest_start: (word.len() + 1).min(line.len()),
            })
        };
        match word {
            b"VALUE" => Ok(Line::Data(DataLine::Value(self.value_header(rest)?))),
            b"VA" => {
                let (len_text, _) = split_word(rest);
                let len: u64 = parse_num(len_text, "bad VA length")?;
                Ok(Line::Data(DataLine::Meta {
                    len: self.check_len(len)?,
                    flags_start: (3 + len_text.len() + 1).min(line.len()),
                }))
            }
            b"END" if rest.is_empty() => simple(Response::End),
            b"STORED" if rest.is_empty() => simple(Response::Stored),
            b"NOT_STORED" if rest.is_empty() => simple(Response::NotStored),
            b"EXISTS" if rest.is_empty() => simple(Response::Exists),
            b"NOT_FOUND" if rest.is_empty() => simple(Response::NotFound),
            b"DELETED" if rest.is_empty() => simple(Response::Deleted),
            b"TOUCHED" if rest.is_empty() => simple(Response::Touched),
            b"OK" if rest.is_empty() => simple(Response::Ok),
            b"RESET" if rest.is_empty() => simple(Response::Reset),
            // Some servers add a message after ERROR; it carries nothing we use.
            b"ERROR" => simple(Response::Error),
            b"MN" if rest.is_empty() => simple(Response::Meta(MetaResponse {
                status: MetaStatus::Noop,
                flags: MetaReturnFlags::default(),
                value: None,
            })),
            b"STAT" => owned(Owned::Stat),
            b"VERSION" => owned(Owned::Version),
            b"CLIENT_ERROR" => owned(Owned::ClientError),
            b"SERVER_ERROR" => owned(Owned::ServerError),
            b"HD" => owned(Owned::Meta(MetaStatus::Header)),
            b"EN" => owned(Owned::Meta(MetaStatus::Miss)),
            b"NF" => owned(Owned::Meta(MetaStatus::NotFound)),
            b"NS" => owned(Owned::Meta(MetaStatus::NotStored)),
            b"EX" => owned(Owned::Meta(MetaStatus::Exists)),
            b"ME" => owned(Owned::MetaDebug),
            _ if !word.is_empty() && word.iter().all(u8::is_ascii_digit) => {
                // incr/decr may pad the number with trailing spaces.
                if rest.iter().any(|&b| b != b' ') {
                    return Err(DecodeError::Malformed("unexpected text after a number"));
                }
                simple(Response::Number(parse_num(word, "number out of range")?))
            }
            _ => Err(DecodeError::Malformed("unknown response line")),
        }
    }

    /// Parses `<key> <flags> <bytes> [<cas>]` in one pass.
    fn value_header(&self, fields_text: &[u8]) -> Result<ValueHeader, DecodeError> {
        let mut fields = Cursor(fields_text);
        let key = fields.word();
        if key.is_empty() {
            return Err(DecodeError::Malformed("VALUE without a key"));
        }
        let flags = fields.number("bad VALUE flags")?;
        let len: u64 = fields.number("bad VALUE length")?;
        let cas = match fields.is_empty() {
            true => None,
            false => Some(fields.number("bad VALUE cas")?),
        };
        if !fields.is_empty() {
            return Err(DecodeError::Malformed("extra fields after VALUE"));
        }
        Ok(ValueHeader {
            key_len: key.len(),
            flags,
            cas,
            len: self.check_len(len)?,
        })
    }

    fn check_len(&self, len: u64) -> Result<usize, DecodeError> {
        let limit = self.limits.max_value_len;
        match usize::try_from(len) {
            Ok(n) if n <= limit => Ok(n),
            _ => Err(DecodeError::ValueTooLarge { len, limit }),
        }
    }
}

/// Splits a whole `VALUE` item, whose line is `line_len` bytes and whose
/// data block is there, off `buf`.
#[inline(always)]
fn split_value(buf: &mut BytesMut, line_len: usize, h: &ValueHeader) -> Value {
    let data_start = line_len + 2;
    let frame = buf.split_to(data_start + h.len + 2).freeze();
    let data = frame.slice(data_start..data_start + h.len);
    // The frame itself becomes the key, narrowed in place: a slice of it
    // would cost a reference-count increment, and dropping the frame a
    // decrement, once per value.
    let mut key = frame;
    key.truncate(VALUE_PREFIX + h.key_len);
    key.advance(VALUE_PREFIX);
    Value {
        key,
        flags: h.flags,
        cas: h.cas,
        data,
    }
}

/// Reads the fields of a line left to right, in one walk (the line is never
/// split into a list of fields first). A number field's end is found by a
/// plain byte loop, as `memchr` costs more than it saves on fields this
/// short, then `parse_num` reads its at most 20 digits.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    /// The next space-terminated field (possibly empty). Used for keys,
    /// which are long enough (often 20+ bytes, up to 250) for `memchr` to
    /// beat a byte loop.
    fn word(&mut self) -> &'a [u8] {
        let (word, rest) = match memchr::memchr(b' ', self.0) {
            Some(i) => (&self.0[..i], &self.0[i + 1..]),
            None => (self.0, &[][..]),
        };
        self.0 = rest;
        word
    }

    /// The next space-terminated field as a decimal number that must fit
    /// `T`; `parse_num` refuses an empty field and any non-digit in it.
    fn number<T: TryFrom<u64>>(&mut self, what: &'static str) -> Result<T, DecodeError> {
        let (field, rest) = split_word(self.0);
        let value = parse_num(field, what)?;
        self.0 = rest;
        Ok(value)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Splits off the first space-separated word.
fn split_word(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[]),
    }
}

/// Decodes a line whose parts are kept as slices of `frame`.
fn parse_owned(
    frame: &Bytes,
    line_len: usize,
    kind: Owned,
    rest_start: usize,
) -> Result<Response, DecodeError> {
    let rest_bytes = || frame.slice(rest_start..line_len);
    match kind {
        Owned::Stat => {
            let (name, value) = split_word(&frame[rest_start..line_len]);
            if name.is_empty() {
                return Err(DecodeError::Malformed("STAT without a name"));
            }
            let name_start = rest_start;
            let value_start = (name_start + name.len() + 1).min(line_len);
            debug_assert_eq!(&frame[value_start..line_len], value);
            Ok(Response::Stat {
                name: frame.slice(name_start..name_start + name.len()),
                value: frame.slice(value_start..line_len),
            })
        }
        Owned::Version => Ok(Response::Version(rest_bytes())),
        Owned::ClientError => Ok(Response::ClientError(rest_bytes())),
        Owned::ServerError => Ok(Response::ServerError(rest_bytes())),
        Owned::Meta(status) => Ok(Response::Meta(MetaResponse {
            status,
            flags: MetaReturnFlags::parse(frame, rest_start, line_len)?,
            value: None,
        })),
        Owned::MetaDebug => parse_meta_debug(frame, rest_start, line_len),
    }
}

/// `ME <key> <name>=<value>...`: the key is skipped (the caller sent it).
fn parse_meta_debug(frame: &Bytes, start: usize, end: usize) -> Result<Response, DecodeError> {
    let mut pairs = Vec::new();
    let mut offset = start;
    for (i, token) in frame[start..end].split(|&b| b == b' ').enumerate() {
        let token_start = offset;
        offset += token.len() + 1;
        if i == 0 || token.is_empty() {
            continue;
        }
        let eq =
            memchr::memchr(b'=', token).ok_or(DecodeError::Malformed("ME field without '='"))?;
        pairs.push((
            frame.slice(token_start..token_start + eq),
            frame.slice(token_start + eq + 1..token_start + token.len()),
        ));
    }
    Ok(Response::MetaDebug(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The header the general path reads from the front of `buf`, if a
    /// `VALUE` line.
    fn general(decoder: &Decoder, buf: &[u8]) -> Option<(usize, ValueHeader)> {
        let line_len = decoder.find_line(buf).ok()??;
        match decoder.classify(&buf[..line_len]).ok()? {
            Line::Data(DataLine::Value(h)) => Some((line_len, h)),
            _ => None,
        }
    }

    /// Mostly plain keys, sometimes odd bytes.
    fn key_part() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            12 => proptest::collection::vec(0x21u8..0x7f, 0..20),
            1 => Just("cl\u{e9}".as_bytes().to_vec()),
            1 => proptest::collection::vec(any::<u8>(), 0..12),
        ]
    }

    /// Mostly numbers, sometimes too long or not numbers at all.
    fn number_part() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            16 => (0u64..100).prop_map(|n| n.to_string().into_bytes()),
            4 => any::<u64>().prop_map(|n| n.to_string().into_bytes()),
            1 => Just(b"4294967296".to_vec()),
            1 => Just(b"99999999999999999999".to_vec()),
            1 => Just(b"00000000000000000000001".to_vec()),
            1 => proptest::collection::vec(any::<u8>(), 0..4),
        ]
    }

    /// Mostly single spaces.
    fn gap() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            20 => Just(b" ".to_vec()),
            1 => Just(b"  ".to_vec()),
            1 => Just(b"".to_vec()),
            1 => Just(b"\t".to_vec()),
        ]
    }

    /// Mostly `\r\n`.
    fn line_end() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            20 => Just(b"\r\n".to_vec()),
            1 => Just(b"\r".to_vec()),
            1 => Just(b"\n".to_vec()),
            1 => Just(b" \r\n".to_vec()),
            1 => Just(b"".to_vec()),
        ]
    }

    #[test]
    fn plain_lines_take_the_fast_path() {
        let decoder = Decoder::default();
        let line = b"VALUE peers-bench:many:42 0 32 7\r\n";
        assert!(decoder.plain_value_line(line).is_some());
        assert_eq!(decoder.plain_value_line(line), general(&decoder, line));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

        /// The fast path accepts only lines the general path reads the
        /// same way (everything else it leaves to the general path).
        #[test]
        fn the_fast_path_agrees_with_the_general_one(
            prefix in prop_oneof![4 => Just(&b"VALUE "[..]), 1 => Just(&b"VALUE"[..])],
            fields in (key_part(), gap(), number_part(), gap(), number_part()),
            cas in proptest::option::of((gap(), number_part())),
            end in line_end(),
            tail in proptest::collection::vec(any::<u8>(), 0..4),
            max_line_len in prop_oneof![1 => 8usize..80, 3 => Just(2048usize)],
            max_value_len in prop_oneof![1 => 0usize..100, 3 => Just(1usize << 20)],
        ) {
            let (key, gap1, flags, gap2, len) = fields;
            let mut line = prefix.to_vec();
            for part in [key, gap1, flags, gap2, len] {
                line.extend(part);
            }
            if let Some((gap3, cas)) = cas {
                line.extend(gap3);
                line.extend(cas);
            }
            line.extend(end);
            line.extend(tail);
            let decoder = Decoder::new(Limits { max_line_len, max_value_len });
            if let Some(fast) = decoder.plain_value_line(&line) {
                prop_assert_eq!(Some(fast), general(&decoder, &line));
            }
        }
    }
}
