//! Property tests: responses survive encode -> decode at any split, requests
//! re-parse to what was asked, and arbitrary bytes never panic the decoder.

use bytes::{Bytes, BytesMut};
use memcache_codec::*;
use proptest::prelude::*;

fn key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0x21u8..0x7f, 1..=250)
}

fn value_item() -> impl Strategy<Value = Response> {
    (
        key(),
        any::<u32>(),
        proptest::option::of(any::<u64>()),
        proptest::collection::vec(any::<u8>(), 0..600),
    )
        .prop_map(|(key, flags, cas, data)| {
            Response::Value(Value {
                key: key.into(),
                flags,
                cas,
                data: data.into(),
            })
        })
}

fn meta_item() -> impl Strategy<Value = Response> {
    (
        prop_oneof![
            Just(MetaStatus::Value),
            Just(MetaStatus::Header),
            Just(MetaStatus::Miss),
            Just(MetaStatus::NotFound),
            Just(MetaStatus::NotStored),
            Just(MetaStatus::Exists),
        ],
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(-1i64..=i64::MAX),
        proptest::option::of(key()),
        any::<(bool, bool, bool)>(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(
            |(status, cas, client_flags, opaque, ttl, key, (win, stale, won), data)| {
                Response::Meta(MetaResponse {
                    status,
                    flags: MetaReturnFlags {
                        cas,
                        client_flags,
                        opaque,
                        ttl,
                        key: key.map(Bytes::from),
                        win,
                        stale,
                        already_won: won,
                        ..Default::default()
                    },
                    value: (status == MetaStatus::Value).then(|| data.into()),
                })
            },
        )
}

fn text() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(0x20u8..0x7f, 0..100).prop_map(Bytes::from)
}

fn any_item() -> impl Strategy<Value = Response> {
    prop_oneof![
        value_item(),
        meta_item(),
        Just(Response::End),
        Just(Response::Stored),
        Just(Response::NotStored),
        Just(Response::Exists),
        Just(Response::NotFound),
        Just(Response::Deleted),
        Just(Response::Touched),
        Just(Response::Ok),
        Just(Response::Error),
        any::<u64>().prop_map(Response::Number),
        text().prop_map(Response::ServerError),
        text().prop_map(Response::ClientError),
        (key(), text()).prop_map(|(name, value)| Response::Stat {
            name: name.into(),
            value
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn response_streams_round_trip_at_any_chunking(
        items in proptest::collection::vec(any_item(), 1..20),
        chunk in 1usize..64,
    ) {
        let mut wire = BytesMut::new();
        for item in &items {
            item.encode(&mut wire);
        }
        let decoder = Decoder::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(item) = decoder.decode(&mut buf).expect("valid stream") {
                got.push(item);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, items);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_never_over_consume(
        data in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let decoder = Decoder::new(Limits { max_line_len: 256, max_value_len: 512 });
        let mut buf = BytesMut::from(&data[..]);
        while let Ok(Some(_)) = decoder.decode(&mut buf) {}
        prop_assert!(buf.len() <= data.len());
    }

    #[test]
    fn protocol_looking_garbage_never_panics(
        parts in proptest::collection::vec(prop_oneof![
            Just(&b"VALUE "[..]), Just(&b"VA "[..]), Just(&b"HD "[..]), Just(&b"ME "[..]),
            Just(&b"STAT "[..]), Just(&b"\r\n"[..]), Just(&b" "[..]), Just(&b"1"[..]),
            Just(&b"k"[..]), Just(&b"-"[..]), Just(&b"="[..]), Just(&b"999999999999999999999"[..]),
            Just(&b"END"[..]), Just(&b"\n"[..]),
        ], 0..40),
    ) {
        let data = parts.concat();
        let decoder = Decoder::default();
        let mut buf = BytesMut::from(&data[..]);
        while let Ok(Some(_)) = decoder.decode(&mut buf) {}
    }

    /// The fast path for values takes exactly what `decode` would return
    /// as a `Value`, or nothing, on valid streams at any chunking and on
    /// protocol-looking garbage alike.
    #[test]
    fn decode_value_agrees_with_decode(
        items in proptest::collection::vec(any_item(), 1..20),
        chunk in 1usize..64,
        garbage in proptest::collection::vec(prop_oneof![
            Just(&b"VALUE "[..]), Just(&b"VALUE k 0 1"[..]), Just(&b"\r\n"[..]),
            Just(&b" "[..]), Just(&b"1"[..]), Just(&b"k"[..]), Just(&b"x\r\n"[..]),
            Just(&b"99999999999999999999"[..]), Just(&b"\r"[..]), Just(&b"\n"[..]),
        ], 0..40),
    ) {
        let mut wire = BytesMut::new();
        for item in &items {
            item.encode(&mut wire);
        }
        let decoder = Decoder::default();
        let mut buf = BytesMut::new();
        let mut fast = 0;
        for piece in wire.chunks(chunk).chain([&garbage.concat()[..]]) {
            buf.extend_from_slice(piece);
            loop {
                let before = buf.clone();
                let mut general = buf.clone();
                let expected = decoder.decode(&mut general);
                match decoder.decode_value(&mut buf) {
                    Some(value) => {
                        fast += 1;
                        prop_assert_eq!(expected, Ok(Some(Response::Value(value))));
                        prop_assert_eq!(&buf, &general);
                    }
                    None => {
                        prop_assert_eq!(&buf, &before);
                        match expected {
                            Ok(Some(_)) => buf = general,
                            _ => break,
                        }
                    }
                }
            }
        }
        // Values with a short CAS (or none) take the fast path.
        let plain = items.iter().filter(|item| {
            matches!(item, Response::Value(v) if v.cas.is_none_or(|cas| cas < 10u64.pow(19)))
        });
        prop_assert!(fast >= plain.count());
    }

    /// A storage request is exactly: header line, value, `\r\n`; the header
    /// fields read back as given, whatever bytes the value holds.
    #[test]
    fn storage_requests_frame_any_value(
        key in key(),
        flags in any::<u32>(),
        exptime in any::<u32>(),
        value in proptest::collection::vec(any::<u8>(), 0..2000),
        cas in proptest::option::of(any::<u64>()),
        noreply in any::<bool>(),
    ) {
        let req = match cas {
            Some(cas) => Request::Cas { key: &key, flags, exptime, value: &value, cas, noreply },
            None => Request::Store {
                command: StoreCommand::Set, key: &key, flags, exptime, value: &value, noreply,
            },
        };
        let mut out = BytesMut::new();
        req.encode(&mut out, &Limits::default()).expect("valid request");
        let header_end = out.windows(2).position(|w| w == b"\r\n").expect("header line");
        let header = String::from_utf8(out[..header_end].to_vec()).expect("ascii header");
        let fields: Vec<&str> = header.split(' ').collect();
        let key_text = String::from_utf8(key.clone()).expect("ascii key");
        let mut expected = vec![
            if cas.is_some() { "cas".to_string() } else { "set".to_string() },
            key_text,
            flags.to_string(),
            exptime.to_string(),
            value.len().to_string(),
        ];
        if let Some(cas) = cas { expected.push(cas.to_string()); }
        if noreply { expected.push("noreply".to_string()); }
        prop_assert_eq!(fields, expected);
        prop_assert_eq!(&out[header_end + 2..out.len() - 2], &value[..]);
        prop_assert_eq!(&out[out.len() - 2..], b"\r\n");
    }

    /// Any key the validator accepts encodes as one token; any key it
    /// refuses leaves the buffer untouched.
    #[test]
    fn keys_are_validated_before_writing(key in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut out = BytesMut::new();
        let result = Request::Get { keys: &[&key] }.encode(&mut out, &Limits::default());
        match validate_key(&key) {
            Ok(()) => {
                prop_assert!(result.is_ok());
                prop_assert_eq!(out.len(), 4 + key.len() + 2);
                prop_assert!(!out[4..out.len() - 2].iter().any(|&b| b <= b' '));
            }
            Err(e) => {
                prop_assert_eq!(result, Err(EncodeError::Key(e)));
                prop_assert!(out.is_empty());
            }
        }
    }
}
