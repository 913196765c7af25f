//! Reply handling without a socket, for the fuzz target
//! `fuzz/fuzz_targets/client_reply.rs`: arbitrary server bytes are read, in
//! chunks as a socket would deliver them, through the client's own read
//! loop ([`crate::read`]) into the exchange it runs for a request, as a
//! pooled connection reads them; and again as a multiplexed connection
//! does (its driver's framing, then the caller's reading), and the two
//! must agree. Hidden from the docs; not part of the API.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use memcache_codec::{
    Decoder, Limits, MetaGetFlags, MetaSetFlags, Request, Response, StoreCommand, Value,
};
use tokio::io::{AsyncRead, ReadBuf};

use crate::exchange::{Batch, Exchange, MetaPipeline, Retrieval, Retrieve, Single, Stats};
use crate::read::Reader;
use crate::reply::Reading;
use crate::Error;

/// The keys every fuzzed request asks for.
pub const KEYS: [&[u8]; 3] = [b"alpha", b"beta", b"gamma"];

/// What the client made of a fuzzed reply.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The exchange saw its whole reply.
    pub complete: bool,
    /// Retrieval values as (key, data).
    pub values: Vec<(Bytes, Bytes)>,
    /// Opaque tokens of the meta replies accepted by a pipeline.
    pub opaques: Vec<Option<u32>>,
    /// The single reply of a one-line request.
    pub reply: Option<Response>,
    /// Replies of a pipelined batch.
    pub replies: Vec<Response>,
    pub error: Option<Error>,
}

/// Reads `reply` as the answer to request kind `selector % 10`, delivered
/// in chunks of `chunk` bytes (at least one), with small limits so the
/// limit paths are reached.
pub fn decode_reply(selector: u8, chunk: usize, reply: &[u8]) -> Decoded {
    let limits = Limits {
        max_line_len: 512,
        max_value_len: 4096,
    };
    let chunk = chunk.max(1);
    let mut out = Decoded::default();
    let meta_get = |i: usize| Request::MetaGet {
        key: KEYS[i],
        flags: MetaGetFlags {
            return_value: true,
            quiet: i == 1,
            opaque: Some(i as u32),
            ..MetaGetFlags::default()
        },
    };
    let store = |i: usize| Request::Store {
        command: StoreCommand::Set,
        key: KEYS[i],
        flags: 0,
        exptime: 0,
        value: b"v",
        noreply: false,
    };
    match selector % 10 {
        0..=2 => {
            let keys: &[&[u8]] = match selector % 10 {
                0 => &KEYS[..1],
                _ => &KEYS,
            };
            let kind = if selector % 10 == 2 {
                Retrieval::Gats(0)
            } else {
                Retrieval::Get
            };
            // The values in reply order, so the fuzz target can check it.
            let make = || Retrieve::<Vec<Value>>::new(kind, keys);
            let ex = both(&mut out, make, reply, chunk, &limits);
            out.values = ex
                .into_hits()
                .into_iter()
                .map(|v| (v.key, v.data))
                .collect();
        }
        3 => {
            // Constant, valid requests.
            let make = || {
                let valid = (0..3).map(meta_get);
                MetaPipeline::new(valid.filter_map(|r| r.validate(&limits).ok()).collect())
            };
            let ex = both(&mut out, make, reply, chunk, &limits);
            out.opaques = ex.replies.iter().map(|m| m.flags.opaque).collect();
        }
        4 => {
            let make = || {
                let valid = (0..3).map(store);
                Batch::new(valid.filter_map(|r| r.validate(&limits).ok()).collect())
            };
            let ex = both(&mut out, make, reply, chunk, &limits);
            out.replies = ex.replies;
        }
        5 => {
            let make = || Stats {
                arg: None,
                stats: Vec::new(),
            };
            both(&mut out, make, reply, chunk, &limits);
        }
        6 => single(&mut out, meta_get(0), reply, chunk, &limits),
        7 => {
            let request = Request::MetaSet {
                key: KEYS[0],
                value: b"v",
                flags: MetaSetFlags {
                    opaque: Some(9),
                    ..MetaSetFlags::default()
                },
            };
            single(&mut out, request, reply, chunk, &limits)
        }
        8 => single(&mut out, store(0), reply, chunk, &limits),
        _ => single(
            &mut out,
            Request::Incr {
                key: KEYS[0],
                delta: 1,
                noreply: false,
            },
            reply,
            chunk,
            &limits,
        ),
    }
    out
}

fn single(out: &mut Decoded, request: Request<'_>, reply: &[u8], chunk: usize, limits: &Limits) {
    let ex = both(out, || Single::new(request), reply, chunk, limits);
    out.reply = ex.reply;
}

/// How a reading ended, to compare the two connection modes.
#[derive(Debug, PartialEq)]
enum Ending {
    /// The reply was complete and accepted (its answer's kind, if it was
    /// an error answer such as `SERVER_ERROR`).
    Complete(Option<&'static str>),
    /// Bytes ran out, or the stream broke (where exactly may differ: a
    /// multiplexed driver frames a reply without checking its content).
    Other,
}

/// Reads `reply` into an exchange from `make` as a pooled connection does
/// (the outcome goes to `out`, the exchange is returned), then into a
/// second one as a multiplexed connection does; panics if they disagree on
/// whether the reply was complete and what it answered.
fn both<E: Exchange>(
    out: &mut Decoded,
    make: impl Fn() -> E,
    reply: &[u8],
    chunk: usize,
    limits: &Limits,
) -> E {
    let mut pooled = make();
    let result = read_pooled(&mut pooled, reply, chunk, limits);
    let ending = |r: &Result<bool, Error>| match r {
        Ok(true) => Ending::Complete(None),
        Err(e @ Error::Server(_)) => Ending::Complete(Some(e.kind())),
        _ => Ending::Other,
    };
    let pooled_ending = ending(&result);
    let multiplexed = read_multiplexed(&mut make(), reply, chunk, limits);
    let multiplexed_ending = match &multiplexed {
        Ok(Some(Err(e))) => ending(&Err(e.clone())),
        Ok(Some(Ok(()))) => Ending::Complete(None),
        _ => Ending::Other,
    };
    // A SERVER_ERROR the pooled reading answered is complete only once its
    // whole reply was read; otherwise both must be the same.
    if pooled_ending != Ending::Other || multiplexed_ending != Ending::Other {
        assert_eq!(
            pooled_ending, multiplexed_ending,
            "pooled and multiplexed readings disagree: {result:?} vs {multiplexed:?}"
        );
    }
    match result {
        Ok(complete) => out.complete = complete,
        Err(e) => out.error = Some(e),
    }
    pooled
}

/// A pooled connection's read loop over an in-memory reply: `Ok(false)`
/// when the bytes ran out before the reply was complete.
fn read_pooled<E: Exchange>(
    exchange: &mut E,
    reply: &[u8],
    chunk: usize,
    limits: &Limits,
) -> Result<bool, Error> {
    let mut request = BytesMut::new();
    exchange.encode(&mut request, limits)?;
    let mut stream = Chunks { rest: reply, chunk };
    let mut reader = Reader::new(Decoder::new(*limits));
    let mut reading = Reading::new(exchange);
    match now(reader.read(&mut stream, &mut reading)) {
        Ok(()) => reading.finish().map(|()| true),
        // The end of the bytes, nothing else.
        Err(Error::ConnectionClosed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A multiplexed connection over an in-memory reply: the driver frames it,
/// the caller reads what was framed. `Ok(None)` when the bytes ran out.
fn read_multiplexed<E: Exchange>(
    exchange: &mut E,
    reply: &[u8],
    chunk: usize,
    limits: &Limits,
) -> Result<Option<Result<(), Error>>, Error> {
    let mut request = BytesMut::new();
    exchange.encode(&mut request, limits)?;
    let mut stream = Chunks { rest: reply, chunk };
    let mut reader = Reader::new(Decoder::new(*limits));
    let Some(framed) = crate::mux::frame_one(exchange.reply_end(), &mut reader, &mut stream)?
    else {
        return Ok(None);
    };
    crate::mux::read_reply(exchange, framed).map(Some)
}

/// An in-memory stream that delivers `chunk` bytes per read, then ends.
struct Chunks<'a> {
    rest: &'a [u8],
    chunk: usize,
}

impl AsyncRead for Chunks<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.chunk.min(self.rest.len()).min(buf.remaining());
        buf.put_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        Poll::Ready(Ok(()))
    }
}

/// Runs a future that never waits (it reads from [`Chunks`]).
fn now<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory read waited"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_well_formed_multi_get_and_refuses_a_stranger() {
        let ok = decode_reply(
            1,
            3,
            b"VALUE alpha 0 1\r\nx\r\nVALUE gamma 0 2\r\nyz\r\nEND\r\n",
        );
        assert!(ok.complete && ok.error.is_none(), "{ok:?}");
        assert_eq!(ok.values.len(), 2);
        let bad = decode_reply(1, 64, b"VALUE delta 0 1\r\nx\r\nEND\r\n");
        assert!(matches!(bad.error, Some(Error::UnexpectedResponse { .. })));
        let pipeline = decode_reply(3, 5, b"VA 1 O0\r\nx\r\nEN O2\r\nMN\r\n");
        assert_eq!(pipeline.opaques, vec![Some(0), Some(2)]);
    }

    /// Both readings (pooled and multiplexed) run inside `decode_reply`,
    /// which panics if they disagree: these replies must come out the same
    /// through both.
    #[test]
    fn both_modes_agree_on_error_answers_and_broken_streams() {
        // A SERVER_ERROR in place of a one-line reply: the call's answer.
        let set = decode_reply(8, 1, b"SERVER_ERROR out of memory\r\n");
        assert!(matches!(set.error, Some(Error::Server(_))), "{set:?}");
        // Within a pipelined batch: the whole reply is read, the answer is
        // the error.
        let batch = decode_reply(4, 2, b"STORED\r\nSERVER_ERROR oom\r\nSTORED\r\n");
        assert!(matches!(batch.error, Some(Error::Server(_))), "{batch:?}");
        // A line no retrieval reply holds, and an error line that ends one
        // early: the stream is out of step.
        let stray = decode_reply(1, 3, b"VALUE alpha 0 1\r\nx\r\nSTORED\r\n");
        assert!(matches!(
            stray.error,
            Some(Error::UnexpectedResponse { .. })
        ));
        let client_error = decode_reply(0, 64, b"CLIENT_ERROR bad\r\n");
        assert!(matches!(client_error.error, Some(Error::Client(_))));
        // A value past the keys asked for.
        let extra = decode_reply(
            0,
            7,
            b"VALUE alpha 0 1\r\nx\r\nVALUE alpha 0 1\r\ny\r\nEND\r\n",
        );
        assert!(extra.error.is_some() && !extra.complete, "{extra:?}");
        // Complete and in step, in pieces of every size.
        for chunk in 1..20 {
            let ok = decode_reply(2, chunk, b"VALUE beta 0 2 \r\nhi\r\nEND\r\n");
            assert!(ok.complete && ok.error.is_none(), "{chunk}: {ok:?}");
        }
    }
}
