//! Exchanges: what to write for a call and how to read its reply.
//!
//! Each exchange encodes its request(s), declares the shape of its reply
//! ([`ReplyEnd`]: where it ends, how many items it may hold), and checks
//! the items of its reply as [`crate::reply::Reading`] feeds them (keys
//! asked for, opaques echoed, outcomes). Where the reply ends is the
//! shape's alone.

use bytes::{Bytes, BytesMut};
use memcache_codec::{
    EncodeError, Limits, MetaResponse, MetaStatus, Request, Response, ValidRequest, Value,
};

use crate::hits::Hits;
use crate::reply_shape::ReplyEnd;
use crate::vectored;
use crate::{Error, Result};

pub(crate) trait Exchange {
    /// Appends the request bytes; on error nothing was appended.
    fn encode(&self, buf: &mut BytesMut, limits: &Limits) -> Result<(), EncodeError>;
    /// Whether the server answers at all (false for `noreply`).
    fn expects_reply(&self) -> bool {
        true
    }
    /// A large value that `encode` left out: the connection writes it
    /// from here, then `\r\n`, right after the encoded bytes.
    fn large_value(&self) -> Option<&[u8]> {
        None
    }
    /// The shape of the reply: where it ends and how many items it may
    /// hold (a multiplexed connection's driver frames replies by it alone).
    fn reply_end(&self) -> ReplyEnd;
    /// Checks and keeps one item of the reply (an error refuses it).
    fn feed(&mut self, item: Response) -> Result<()>;
    /// [`Exchange::feed`] of a `VALUE` item, decoded by the read loop's
    /// fast path ([`memcache_codec::Decoder::decode_value`]).
    fn feed_value(&mut self, value: Value) -> Result<()> {
        self.feed(Response::Value(value))
    }
    /// The command family, for [`Error::UnexpectedResponse`].
    fn command(&self) -> &'static str;
}

/// Turns the error lines into errors; anything else is returned.
pub(crate) fn check(item: Response) -> Result<Response> {
    match item {
        Response::Error => Err(Error::UnknownCommand),
        Response::ClientError(msg) => Err(Error::Client(text(&msg))),
        Response::ServerError(msg) => Err(Error::Server(text(&msg))),
        other => Ok(other),
    }
}

fn text(msg: &[u8]) -> String {
    String::from_utf8_lossy(msg).into_owned()
}

/// One request answered by one line (storage, delete, incr, touch,
/// version, ...).
pub(crate) struct Single<'a> {
    pub request: Request<'a>,
    pub reply: Option<Response>,
    /// The request as validated by the caller before a connection was
    /// taken ([`Single::validated`]): written without a second check.
    valid: Option<ValidRequest<'a>>,
}

impl<'a> Single<'a> {
    pub fn new(request: Request<'a>) -> Self {
        Single {
            request,
            reply: None,
            valid: None,
        }
    }

    /// A request the caller has already checked with [`Request::validate`]
    /// (before taking a connection), so encoding does not check it again.
    pub fn validated(valid: ValidRequest<'a>) -> Self {
        Single {
            request: *valid.request(),
            reply: None,
            valid: Some(valid),
        }
    }
}

impl Exchange for Single<'_> {
    fn encode(&self, buf: &mut BytesMut, limits: &Limits) -> Result<(), EncodeError> {
        let valid = match self.valid {
            Some(valid) => valid,
            None => self.request.validate(limits)?,
        };
        // A large value goes out from the caller's slice (see `vectored`).
        if self.large_value().is_some() {
            valid.write_command_line(buf);
        } else {
            valid.write(buf);
        }
        Ok(())
    }
    fn expects_reply(&self) -> bool {
        self.request.expects_reply()
    }
    fn large_value(&self) -> Option<&[u8]> {
        vectored::large_value(&self.request)
    }
    fn reply_end(&self) -> ReplyEnd {
        match self.expects_reply() {
            true => ReplyEnd::Lines(1),
            false => ReplyEnd::Nothing,
        }
    }
    fn feed(&mut self, item: Response) -> Result<()> {
        let item = check(item)?;
        // A reply echoing another opaque answers some other request.
        if let (Some(sent), Response::Meta(m)) = (self.request.opaque(), &item) {
            if m.flags.opaque != Some(sent) {
                return Err(Error::UnexpectedResponse { command: "meta" });
            }
        }
        self.reply = Some(item);
        Ok(())
    }
    fn command(&self) -> &'static str {
        self.request.command_name()
    }
}

/// Keys per `get` line: memcached accepts long lines, but bounded lines
/// keep every server version and proxy happy; all lines still go out in
/// one write (one round trip).
const KEYS_PER_LINE: usize = 100;

/// The retrieval commands.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Retrieval {
    Get,
    Gets,
    Gat(u32),
    Gats(u32),
}

impl Retrieval {
    /// The request of this kind for one line of keys.
    fn request<'k>(self, keys: &'k [&'k [u8]]) -> Request<'k> {
        match self {
            Retrieval::Get => Request::Get { keys },
            Retrieval::Gets => Request::Gets { keys },
            Retrieval::Gat(exptime) => Request::Gat { exptime, keys },
            Retrieval::Gats(exptime) => Request::Gats { exptime, keys },
        }
    }
}

/// `get`/`gets`/`gat`/`gats` for any number of keys: `VALUE`* `END` per line.
/// The values accepted go into `hits` as they are read.
pub(crate) struct Retrieve<'a, H> {
    pub kind: Retrieval,
    pub keys: &'a [&'a [u8]],
    hits: H,
    /// The request, encoded (and so validated) before any connection is
    /// taken ([`Retrieve::prepared`]); `None` encodes on each attempt.
    prepared: Option<Bytes>,
    /// The one request line, validated by the caller before a connection
    /// was taken ([`Retrieve::validated`]): written without a second check.
    valid: Option<ValidRequest<'a>>,
    /// Index of the first key not yet answered: memcached answers in
    /// request order, so each `VALUE` must name a key at or after it.
    next_key: usize,
}

impl<'a, H: Hits> Retrieve<'a, H> {
    /// A retrieval of `keys`, with room for every key being a hit.
    pub fn new(kind: Retrieval, keys: &'a [&'a [u8]]) -> Self {
        Retrieve {
            kind,
            keys,
            hits: H::for_keys(keys.len()),
            prepared: None,
            valid: None,
            next_key: 0,
        }
    }

    /// A retrieval of more keys than fit one line, encoded now: the codec's
    /// validation of the keys is the only one (a multi-key call must refuse
    /// a bad key before any server, of several, is written to).
    fn prepared(
        kind: Retrieval,
        keys: &'a [&'a [u8]],
        limits: &Limits,
    ) -> Result<Self, EncodeError> {
        let mut exchange = Retrieve::new(kind, keys);
        let mut buf = BytesMut::with_capacity(request_size_hint(kind, keys));
        exchange.encode_lines(&mut buf, limits)?;
        exchange.prepared = Some(buf.freeze());
        Ok(exchange)
    }

    /// A retrieval validated now, before any connection is taken, and
    /// written later without a second check. Keys that need several lines
    /// are encoded whole at once instead ([`Retrieve::prepared`]).
    pub fn validated(
        kind: Retrieval,
        keys: &'a [&'a [u8]],
        limits: &Limits,
    ) -> Result<Self, EncodeError> {
        if keys.len() > KEYS_PER_LINE {
            return Retrieve::prepared(kind, keys, limits);
        }
        let mut exchange = Retrieve::new(kind, keys);
        exchange.valid = Some(kind.request(keys).validate(limits)?);
        Ok(exchange)
    }

    /// The values accepted (all of them once the exchange is complete).
    pub fn into_hits(self) -> H {
        self.hits
    }

    fn encode_lines(&self, buf: &mut BytesMut, limits: &Limits) -> Result<(), EncodeError> {
        let start = buf.len();
        let mut lines = self.keys.chunks(KEYS_PER_LINE);
        // An empty key list still goes to the encoder, which refuses it.
        let first = lines.next().unwrap_or(&[]);
        for keys in std::iter::once(first).chain(lines) {
            let request = self.kind.request(keys);
            if let Err(e) = request.encode(buf, limits) {
                buf.truncate(start);
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Bytes of the encoded retrieval lines (exact for `get`/`gets`, close for
/// `gat`/`gats`), so the buffer is allocated once.
fn request_size_hint(kind: Retrieval, keys: &[&[u8]]) -> usize {
    let per_line = match kind {
        Retrieval::Get => "get\r\n".len(),
        Retrieval::Gets => "gets\r\n".len(),
        Retrieval::Gat(_) | Retrieval::Gats(_) => "gats 4294967295\r\n".len(),
    };
    let lines = keys.len().div_ceil(KEYS_PER_LINE).max(1);
    keys.iter().map(|k| k.len() + 1).sum::<usize>() + lines * per_line
}

impl<H: Hits> Exchange for Retrieve<'_, H> {
    fn encode(&self, buf: &mut BytesMut, limits: &Limits) -> Result<(), EncodeError> {
        match (&self.prepared, &self.valid) {
            (Some(request), _) => {
                buf.extend_from_slice(request);
                Ok(())
            }
            (None, Some(valid)) => {
                valid.write(buf);
                Ok(())
            }
            (None, None) => self.encode_lines(buf, limits),
        }
    }
    fn reply_end(&self) -> ReplyEnd {
        ReplyEnd::Ends {
            ends: self.keys.len().div_ceil(KEYS_PER_LINE).max(1),
            values: self.keys.len(),
        }
    }
    fn feed(&mut self, item: Response) -> Result<()> {
        match item {
            Response::Value(v) => self.feed_value(v),
            Response::End => Ok(()),
            other => Err(not_retrieval(other)),
        }
    }
    fn command(&self) -> &'static str {
        "retrieval"
    }
    // Always inlined into the read loop (a call per value measured slower):
    // the value goes from the decoder into `hits` without being copied
    // through memory on the way.
    #[inline(always)]
    fn feed_value(&mut self, v: Value) -> Result<()> {
        // A value for a key that was not asked for (or out of order) comes
        // from a confused or hostile server: never hand it out.
        let offset = self.keys[self.next_key.min(self.keys.len())..]
            .iter()
            .position(|k| same_key(k, &v.key))
            .ok_or(Error::UnexpectedResponse {
                command: "retrieval",
            })?;
        self.next_key += offset + 1;
        self.hits.add(v);
        Ok(())
    }
}

/// The error for a line that has no place in a retrieval reply: the
/// server's error line as an error, anything else as unexpected.
#[cold]
#[inline(never)]
fn not_retrieval(item: Response) -> Error {
    match check(item) {
        Err(e) => e,
        Ok(_) => Error::UnexpectedResponse {
            command: "retrieval",
        },
    }
}

/// `a == b` for keys, inline and eight bytes at a time: a call to `memcmp`
/// per value of a multi-get cost more than the comparison itself.
#[inline]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        let mut w = [0; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_ne_bytes(w)
    };
    let len = a.len();
    if len < 8 {
        return a == b;
    }
    let mut at = 0;
    while at + 8 < len {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    // The last eight bytes (overlapping the words above when the length
    // is not a multiple of eight).
    word(a, len - 8) == word(b, len - 8)
}

/// Most `STAT` lines one reply may have. The longest real replies
/// (`stats items`, `stats slabs`, `stats sizes`) have a few thousand; a
/// server sending more is broken or hostile, and memory must stay bounded.
const MAX_STAT_LINES: usize = 100_000;

/// `stats [arg]`: `STAT`* `END` (or `RESET` for `stats reset`).
pub(crate) struct Stats<'a> {
    pub arg: Option<&'a str>,
    pub stats: Vec<(String, String)>,
}

impl Exchange for Stats<'_> {
    fn encode(&self, buf: &mut BytesMut, limits: &Limits) -> Result<(), EncodeError> {
        Request::Stats { arg: self.arg }.encode(buf, limits)
    }
    fn reply_end(&self) -> ReplyEnd {
        ReplyEnd::Stats {
            lines: MAX_STAT_LINES,
        }
    }
    fn feed(&mut self, item: Response) -> Result<()> {
        match check(item)? {
            Response::Stat { name, value } => {
                self.stats.push((text(&name), text(&value)));
                Ok(())
            }
            Response::End | Response::Reset => Ok(()),
            _ => Err(Error::UnexpectedResponse { command: "stats" }),
        }
    }
    fn command(&self) -> &'static str {
        "stats"
    }
}

/// Several single-line requests pipelined in one write (`set_many`,
/// `delete_many`): one reply each, in order, unless sent with `noreply`.
/// The requests were validated, all of them, before any server was written
/// to.
pub(crate) struct Batch<'a> {
    requests: Vec<ValidRequest<'a>>,
    pub replies: Vec<Response>,
    expected: usize,
}

impl<'a> Batch<'a> {
    pub fn new(requests: Vec<ValidRequest<'a>>) -> Self {
        let expected = requests
            .iter()
            .filter(|r| r.request().expects_reply())
            .count();
        Batch {
            replies: Vec::with_capacity(expected),
            requests,
            expected,
        }
    }
}

impl Exchange for Batch<'_> {
    fn encode(&self, buf: &mut BytesMut, _limits: &Limits) -> Result<(), EncodeError> {
        for request in &self.requests {
            request.write(buf);
        }
        Ok(())
    }
    fn expects_reply(&self) -> bool {
        self.expected > 0
    }
    fn reply_end(&self) -> ReplyEnd {
        match self.expected {
            0 => ReplyEnd::Nothing,
            n => ReplyEnd::Lines(n),
        }
    }
    fn feed(&mut self, item: Response) -> Result<()> {
        self.replies.push(check(item)?);
        Ok(())
    }
    fn command(&self) -> &'static str {
        "batch"
    }
}

/// Meta requests followed by `mn`: replies until `MN`. Quiet requests
/// answer only on some outcomes, so replies are matched to requests by
/// their opaque (`O`) token, which the caller sets to the request index.
/// The requests were validated, all of them, before any server was written
/// to.
pub(crate) struct MetaPipeline<'a> {
    requests: Vec<ValidRequest<'a>>,
    pub replies: Vec<MetaResponse>,
    /// Index of the first request not yet answered: replies come in request
    /// order, so each must echo the opaque of a request at or after it.
    next_request: usize,
}

impl<'a> MetaPipeline<'a> {
    pub fn new(requests: Vec<ValidRequest<'a>>) -> Self {
        MetaPipeline {
            requests,
            replies: Vec::new(),
            next_request: 0,
        }
    }
}

impl Exchange for MetaPipeline<'_> {
    fn encode(&self, buf: &mut BytesMut, limits: &Limits) -> Result<(), EncodeError> {
        for request in &self.requests {
            request.write(buf);
        }
        Request::MetaNoop.encode(buf, limits)
    }
    fn reply_end(&self) -> ReplyEnd {
        ReplyEnd::Noop {
            replies: self.requests.len(),
        }
    }
    fn command(&self) -> &'static str {
        "meta pipeline"
    }
    fn feed(&mut self, item: Response) -> Result<()> {
        match check(item)? {
            Response::Meta(m) if m.status == MetaStatus::Noop => Ok(()),
            Response::Meta(m) => {
                let unexpected = || Error::UnexpectedResponse {
                    command: "meta pipeline",
                };
                let opaque = m.flags.opaque.ok_or_else(unexpected)?;
                let offset = self.requests[self.next_request.min(self.requests.len())..]
                    .iter()
                    .position(|r| r.request().opaque() == Some(opaque))
                    .ok_or_else(unexpected)?;
                self.next_request += offset + 1;
                self.replies.push(m);
                Ok(())
            }
            _ => Err(Error::UnexpectedResponse { command: "meta" }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_is_slice_equality() {
        for len in 0..40usize {
            let key: Vec<u8> = (0..len as u8).map(|i| b'a' + i % 26).collect();
            assert!(same_key(&key, &key.clone()));
            assert!(!same_key(&key, &key[..len.saturating_sub(1)]) || len == 0);
            for at in 0..len {
                let mut other = key.clone();
                other[at] ^= 0x80;
                assert!(!same_key(&key, &other), "{len} {at}");
            }
        }
    }

    #[test]
    fn validated_stores_equal_the_codec_encoding() {
        let limits = Limits::default();
        let big = vec![b'b'; vectored::VECTORED_VALUE_MIN];
        for value in [&b"small"[..], &big[..]] {
            let requests = [
                Request::Store {
                    command: memcache_codec::StoreCommand::Add,
                    key: b"k:1",
                    flags: 9,
                    exptime: 30,
                    value,
                    noreply: true,
                },
                Request::Cas {
                    key: b"k:2",
                    flags: 0,
                    exptime: 0,
                    value,
                    cas: 77,
                    noreply: false,
                },
            ];
            for request in requests {
                let mut checked = BytesMut::new();
                request.encode(&mut checked, &limits).unwrap();
                let exchange = Single::validated(request.validate(&limits).unwrap());
                let mut unchecked = BytesMut::new();
                exchange.encode(&mut unchecked, &limits).unwrap();
                if let Some(value) = exchange.large_value() {
                    unchecked.extend_from_slice(value);
                    unchecked.extend_from_slice(b"\r\n");
                }
                assert_eq!(unchecked, checked);
            }
        }
    }

    #[test]
    fn valid_key_lines_equal_the_codec_encoding() {
        let many: Vec<Vec<u8>> = (0..KEYS_PER_LINE * 2 + 7)
            .map(|i| format!("key:{i}").into_bytes())
            .collect();
        let many: Vec<&[u8]> = many.iter().map(Vec::as_slice).collect();
        let limits = Limits::default();
        for keys in [&many[..1], &many[..3], &many[..]] {
            for kind in [
                Retrieval::Get,
                Retrieval::Gets,
                Retrieval::Gat(0),
                Retrieval::Gats(u32::MAX),
            ] {
                let mut checked = BytesMut::new();
                Retrieve::<Vec<Value>>::new(kind, keys)
                    .encode(&mut checked, &limits)
                    .unwrap();
                let mut unchecked = BytesMut::new();
                Retrieve::<Vec<Value>>::validated(kind, keys, &limits)
                    .unwrap()
                    .encode(&mut unchecked, &limits)
                    .unwrap();
                assert_eq!(unchecked, checked, "{kind:?} x{}", keys.len());
            }
        }
    }
}
