//! Every response form decoded from bytes, whole and split at every byte
//! boundary, plus the limits that keep a hostile server from making the
//! decoder buffer without bound.

use bytes::{Bytes, BytesMut};
use memcache_codec::*;

fn b(s: &'static [u8]) -> Bytes {
    Bytes::from_static(s)
}

fn meta(status: MetaStatus, flags: MetaReturnFlags, value: Option<&'static [u8]>) -> Response {
    Response::Meta(MetaResponse {
        status,
        flags,
        value: value.map(Bytes::from_static),
    })
}

/// Each wire form with the item it must decode to.
fn cases() -> Vec<(&'static [u8], Response)> {
    vec![
        (
            b"VALUE k 5 3\r\nabc\r\n",
            Response::Value(Value {
                key: b(b"k"),
                flags: 5,
                cas: None,
                data: b(b"abc"),
            }),
        ),
        (
            // Binary data containing the protocol's own terminators.
            b"VALUE bin 0 11 77\r\n\r\nEND\r\n\0\xff\r\n\r\n",
            Response::Value(Value {
                key: b(b"bin"),
                flags: 0,
                cas: Some(77),
                data: b(b"\r\nEND\r\n\0\xff\r\n"),
            }),
        ),
        (
            b"VALUE empty 4294967295 0\r\n\r\n",
            Response::Value(Value {
                key: b(b"empty"),
                flags: u32::MAX,
                cas: None,
                data: b(b""),
            }),
        ),
        (
            b"STAT pid 1234\r\n",
            Response::Stat {
                name: b(b"pid"),
                value: b(b"1234"),
            },
        ),
        (
            b"STAT libevent 2.1.12-stable extra\r\n",
            Response::Stat {
                name: b(b"libevent"),
                value: b(b"2.1.12-stable extra"),
            },
        ),
        (b"END\r\n", Response::End),
        (b"STORED\r\n", Response::Stored),
        (b"NOT_STORED\r\n", Response::NotStored),
        (b"EXISTS\r\n", Response::Exists),
        (b"NOT_FOUND\r\n", Response::NotFound),
        (b"DELETED\r\n", Response::Deleted),
        (b"TOUCHED\r\n", Response::Touched),
        (b"OK\r\n", Response::Ok),
        (b"RESET\r\n", Response::Reset),
        (b"42\r\n", Response::Number(42)),
        (b"18446744073709551615\r\n", Response::Number(u64::MAX)),
        (b"7  \r\n", Response::Number(7)),
        (b"VERSION 1.6.21\r\n", Response::Version(b(b"1.6.21"))),
        (b"ERROR\r\n", Response::Error),
        (
            b"CLIENT_ERROR bad data chunk\r\n",
            Response::ClientError(b(b"bad data chunk")),
        ),
        (
            b"SERVER_ERROR out of memory\r\n",
            Response::ServerError(b(b"out of memory")),
        ),
        (
            b"VA 2 f3 c9\r\nhi\r\n",
            meta(
                MetaStatus::Value,
                MetaReturnFlags {
                    client_flags: Some(3),
                    cas: Some(9),
                    ..Default::default()
                },
                Some(b"hi"),
            ),
        ),
        (
            b"VA 0 W\r\n\r\n",
            meta(
                MetaStatus::Value,
                MetaReturnFlags {
                    win: true,
                    ..Default::default()
                },
                Some(b""),
            ),
        ),
        (
            b"HD\r\n",
            meta(MetaStatus::Header, MetaReturnFlags::default(), None),
        ),
        (
            b"HD c123 O7 kfoo t-1 s10 l5 h1 X Z\r\n",
            meta(
                MetaStatus::Header,
                MetaReturnFlags {
                    cas: Some(123),
                    opaque: Some(7),
                    key: Some(b(b"foo")),
                    ttl: Some(-1),
                    size: Some(10),
                    last_access: Some(5),
                    hit_before: Some(true),
                    stale: true,
                    already_won: true,
                    ..Default::default()
                },
                None,
            ),
        ),
        (
            b"HD kYWJj b t30\r\n",
            meta(
                MetaStatus::Header,
                MetaReturnFlags {
                    key: Some(b(b"YWJj")),
                    base64_key: true,
                    ttl: Some(30),
                    ..Default::default()
                },
                None,
            ),
        ),
        (
            b"EN\r\n",
            meta(MetaStatus::Miss, MetaReturnFlags::default(), None),
        ),
        (
            b"NF O1\r\n",
            meta(
                MetaStatus::NotFound,
                MetaReturnFlags {
                    opaque: Some(1),
                    ..Default::default()
                },
                None,
            ),
        ),
        (
            b"NS\r\n",
            meta(MetaStatus::NotStored, MetaReturnFlags::default(), None),
        ),
        (
            b"EX c5\r\n",
            meta(
                MetaStatus::Exists,
                MetaReturnFlags {
                    cas: Some(5),
                    ..Default::default()
                },
                None,
            ),
        ),
        (
            b"MN\r\n",
            meta(MetaStatus::Noop, MetaReturnFlags::default(), None),
        ),
        (
            b"HD h0 Qunknown\r\n",
            meta(
                MetaStatus::Header,
                MetaReturnFlags {
                    hit_before: Some(false),
                    ..Default::default()
                },
                None,
            ),
        ),
        (
            b"ME key exp=-1 la=3 cas=2 fetch=no cls=1 size=63\r\n",
            Response::MetaDebug(vec![
                (b(b"exp"), b(b"-1")),
                (b(b"la"), b(b"3")),
                (b(b"cas"), b(b"2")),
                (b(b"fetch"), b(b"no")),
                (b(b"cls"), b(b"1")),
                (b(b"size"), b(b"63")),
            ]),
        ),
    ]
}

#[test]
fn every_form_decodes_whole() {
    let decoder = Decoder::default();
    for (wire, expected) in cases() {
        let mut buf = BytesMut::from(wire);
        let got = decoder.decode(&mut buf);
        assert_eq!(
            got,
            Ok(Some(expected)),
            "decoding {:?}",
            String::from_utf8_lossy(wire)
        );
        assert!(
            buf.is_empty(),
            "all of {:?} consumed",
            String::from_utf8_lossy(wire)
        );
    }
}

#[test]
fn every_form_split_at_every_boundary_needs_more_and_consumes_nothing() {
    let decoder = Decoder::default();
    for (wire, expected) in cases() {
        for cut in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..cut]);
            assert_eq!(
                decoder.decode(&mut buf),
                Ok(None),
                "prefix {cut} of {wire:?}"
            );
            assert_eq!(&buf[..], &wire[..cut], "nothing consumed at {cut}");
            // The rest arrives; the item decodes exactly once.
            buf.extend_from_slice(&wire[cut..]);
            assert_eq!(decoder.decode(&mut buf), Ok(Some(expected.clone())));
            assert!(buf.is_empty());
        }
    }
}

#[test]
fn a_stream_of_responses_fed_byte_by_byte_yields_each_in_order() {
    let decoder = Decoder::default();
    let (wire, expected): (Vec<&[u8]>, Vec<Response>) = cases().into_iter().unzip();
    let stream = wire.concat();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for &byte in &stream {
        buf.extend_from_slice(&[byte]);
        while let Some(item) = decoder.decode(&mut buf).expect("valid stream") {
            got.push(item);
        }
    }
    assert_eq!(got, expected);
    assert!(buf.is_empty());
}

#[test]
fn a_multi_get_reply_yields_values_then_end() {
    let decoder = Decoder::default();
    let mut buf = BytesMut::from(&b"VALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nEND\r\nSTORED\r\n"[..]);
    let mut keys = Vec::new();
    loop {
        match decoder.decode(&mut buf).expect("valid") {
            Some(Response::Value(v)) => keys.push((v.key, v.data)),
            Some(Response::End) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(keys, vec![(b(b"a"), b(b"1")), (b(b"b"), b(b"2"))]);
    assert_eq!(decoder.decode(&mut buf), Ok(Some(Response::Stored)));
}

#[test]
fn a_line_longer_than_the_limit_is_refused_before_it_ends() {
    let decoder = Decoder::new(Limits {
        max_line_len: 16,
        ..Limits::default()
    });
    let mut buf = BytesMut::from(&b"SERVER_ERROR aaaa"[..]);
    assert_eq!(
        decoder.decode(&mut buf),
        Ok(None),
        "17 bytes, still could end in \\r\\n"
    );
    buf.extend_from_slice(b"a");
    assert_eq!(
        decoder.decode(&mut buf),
        Err(DecodeError::LineTooLong { limit: 16 })
    );
    // Exactly at the limit is fine.
    let mut buf = BytesMut::from(&b"VERSION 12345678\r\n"[..]);
    assert_eq!(
        decoder.decode(&mut buf),
        Ok(Some(Response::Version(b(b"12345678"))))
    );
}

#[test]
fn an_announced_value_over_the_limit_is_refused_before_buffering() {
    let decoder = Decoder::new(Limits {
        max_value_len: 100,
        ..Limits::default()
    });
    let mut buf = BytesMut::from(&b"VALUE k 0 101\r\n"[..]);
    assert_eq!(
        decoder.decode(&mut buf),
        Err(DecodeError::ValueTooLarge {
            len: 101,
            limit: 100
        })
    );
    let mut buf = BytesMut::from(&b"VA 99999999999999999999 \r\n"[..]);
    assert!(
        decoder.decode(&mut buf).is_err(),
        "u64 overflow is an error"
    );
    let mut buf = BytesMut::from(&b"VA 18446744073709551615\r\n"[..]);
    assert_eq!(
        decoder.decode(&mut buf),
        Err(DecodeError::ValueTooLarge {
            len: u64::MAX,
            limit: 100
        })
    );
}

#[test]
fn malformed_input_is_a_typed_error() {
    let decoder = Decoder::default();
    let bad: [&[u8]; 14] = [
        b"WHAT\r\n",
        b"\r\n",
        b"END\n",
        b"\n",
        b"VALUE k 0 3\r\nabcd\r\n",
        b"VALUE k 0 x\r\nabc\r\n",
        b"VALUE k x 3\r\nabc\r\n",
        b"VALUE  0 3\r\nabc\r\n",
        b"VALUE k 0 3 1 2\r\nabc\r\n",
        b"VALUE k 4294967296 1\r\na\r\n",
        b"12a\r\n",
        b"HD cx\r\n",
        b"HD h2\r\n",
        b"ME k novalue\r\n",
    ];
    for wire in bad {
        let mut buf = BytesMut::from(wire);
        assert!(
            matches!(decoder.decode(&mut buf), Err(DecodeError::Malformed(_))),
            "{:?} must be malformed",
            String::from_utf8_lossy(wire)
        );
    }
    let mut buf = BytesMut::from(&b"STORED extra\r\n"[..]);
    assert!(decoder.decode(&mut buf).is_err());
}

#[test]
fn error_messages_do_not_echo_server_bytes() {
    let decoder = Decoder::default();
    let mut buf = BytesMut::from(&b"secret-key-material\r\n"[..]);
    let err = decoder.decode(&mut buf).expect_err("unknown line");
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[test]
fn decoded_values_share_the_read_buffer() {
    let decoder = Decoder::default();
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(b"VALUE k 0 3\r\nabc\r\n");
    let base = buf.as_ptr() as usize;
    let Some(Response::Value(v)) = decoder.decode(&mut buf).expect("valid") else {
        panic!("expected a value");
    };
    assert_eq!(v.data.as_ptr() as usize, base + 13, "no copy of the data");
}

#[test]
fn encode_then_decode_gives_back_every_case() {
    let decoder = Decoder::default();
    for (_, response) in cases() {
        let mut buf = BytesMut::new();
        response.encode(&mut buf);
        // Keys in ME lines are re-written as "key"; everything else is exact.
        assert_eq!(decoder.decode(&mut buf), Ok(Some(response)));
        assert!(buf.is_empty());
    }
}
