//! Reply handling without a socket, for the fuzz target
//! `fuzz/fuzz_targets/client_reply.rs`: arbitrary server bytes are fed, in
//! chunks as a socket would deliver them, to the same decoder and exchange
//! the client runs for a request. Hidden from the docs; not part of the API.

use bytes::{Bytes, BytesMut};
use memcache_codec::{
    Decoder, Limits, MetaGetFlags, MetaSetFlags, Request, Response, StoreCommand, Value,
};

use crate::exchange::{Batch, Exchange, MetaPipeline, Retrieval, Retrieve, Single, Stats};
use crate::reply_shape::Step;
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
            let mut ex = Retrieve::<Vec<Value>>::new(kind, keys);
            finish(&mut out, drive(&mut ex, reply, chunk, &limits));
            out.values = ex
                .into_hits()
                .into_iter()
                .map(|v| (v.key, v.data))
                .collect();
        }
        3 => {
            // Constant, valid requests.
            let valid = (0..3)
                .map(meta_get)
                .filter_map(|r| r.validate(&limits).ok());
            let mut ex = MetaPipeline::new(valid.collect());
            finish(&mut out, drive(&mut ex, reply, chunk, &limits));
            out.opaques = ex.replies.iter().map(|m| m.flags.opaque).collect();
        }
        4 => {
            let valid = (0..3).map(store).filter_map(|r| r.validate(&limits).ok());
            let mut ex = Batch::new(valid.collect());
            finish(&mut out, drive(&mut ex, reply, chunk, &limits));
            out.replies = ex.replies;
        }
        5 => {
            let mut ex = Stats {
                arg: None,
                stats: Vec::new(),
            };
            finish(&mut out, drive(&mut ex, reply, chunk, &limits));
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
    let mut ex = Single::new(request);
    finish(out, drive(&mut ex, reply, chunk, limits));
    out.reply = ex.reply;
}

fn finish(out: &mut Decoded, result: Result<bool, Error>) {
    match result {
        Ok(complete) => out.complete = complete,
        Err(e) => out.error = Some(e),
    }
}

/// The client's read loop (see `Conn::run`) over an in-memory reply:
/// `Ok(false)` when the bytes ran out before the reply was complete.
fn drive<E: Exchange>(
    exchange: &mut E,
    reply: &[u8],
    chunk: usize,
    limits: &Limits,
) -> Result<bool, Error> {
    let mut request = BytesMut::new();
    exchange.encode(&mut request, limits)?;
    let decoder = Decoder::new(*limits);
    let mut buf = BytesMut::new();
    let mut rest = reply;
    // A multiplexed connection's driver frames the reply without the
    // exchange: wherever the exchange accepts an item, the two must agree
    // on whether it ends the reply.
    // (After an item that breaks the framing, the driver would have ended
    // the connection: nothing after it is compared.)
    let mut end = Some(exchange.reply_end());
    loop {
        match decoder.decode(&mut buf)? {
            Some(item) => {
                let step = end.as_mut().map_or(Step::Broken, |end| end.step(&item));
                if step == Step::Broken {
                    end = None;
                }
                let fed = exchange.feed(item);
                match (&fed, step) {
                    (Ok(true), Step::More) => panic!("framing wants more after a whole reply"),
                    (Ok(false), Step::Done) => panic!("framing ended an unfinished reply"),
                    _ => {}
                }
                if fed? {
                    return Ok(true);
                }
            }
            None if rest.is_empty() => return Ok(false),
            None => {
                let n = chunk.min(rest.len());
                buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
            }
        }
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
}
