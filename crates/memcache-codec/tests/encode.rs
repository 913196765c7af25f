//! Every request form, encoded, compared with the exact bytes memcached expects.

use bytes::BytesMut;
use memcache_codec::*;

fn enc(req: Request<'_>) -> Vec<u8> {
    let mut out = BytesMut::new();
    req.encode(&mut out, &Limits::default()).expect("encodes");
    out.to_vec()
}

fn enc_err(req: Request<'_>) -> EncodeError {
    let mut out = BytesMut::from(&b"previous"[..]);
    let err = req
        .encode(&mut out, &Limits::default())
        .expect_err("must be refused");
    assert_eq!(&out[..], b"previous", "a refused request must not write");
    err
}

#[test]
fn retrieval_commands() {
    assert_eq!(enc(Request::Get { keys: &[b"a"] }), b"get a\r\n");
    assert_eq!(
        enc(Request::Get {
            keys: &[b"a", b"b", b"c"]
        }),
        b"get a b c\r\n"
    );
    assert_eq!(
        enc(Request::Gets {
            keys: &[b"a", b"b"]
        }),
        b"gets a b\r\n"
    );
    assert_eq!(
        enc(Request::Gat {
            exptime: 60,
            keys: &[b"a", b"b"]
        }),
        b"gat 60 a b\r\n"
    );
    assert_eq!(
        enc(Request::Gats {
            exptime: 0,
            keys: &[b"a"]
        }),
        b"gats 0 a\r\n"
    );
}

#[test]
fn storage_commands() {
    let store = |command, noreply| Request::Store {
        command,
        key: b"k",
        flags: 7,
        exptime: 300,
        value: b"v\r\nEND",
        noreply,
    };
    assert_eq!(
        enc(store(StoreCommand::Set, false)),
        b"set k 7 300 6\r\nv\r\nEND\r\n"
    );
    assert_eq!(
        enc(store(StoreCommand::Add, false)),
        b"add k 7 300 6\r\nv\r\nEND\r\n"
    );
    assert_eq!(
        enc(store(StoreCommand::Replace, false)),
        b"replace k 7 300 6\r\nv\r\nEND\r\n"
    );
    assert_eq!(
        enc(store(StoreCommand::Append, false)),
        b"append k 7 300 6\r\nv\r\nEND\r\n"
    );
    assert_eq!(
        enc(store(StoreCommand::Prepend, true)),
        b"prepend k 7 300 6 noreply\r\nv\r\nEND\r\n"
    );
    assert_eq!(
        enc(Request::Cas {
            key: b"k",
            flags: 0,
            exptime: 0,
            value: b"",
            cas: 99,
            noreply: false
        }),
        b"cas k 0 0 0 99\r\n\r\n"
    );
    assert_eq!(
        enc(Request::Cas {
            key: b"k",
            flags: u32::MAX,
            exptime: 1,
            value: b"x",
            cas: u64::MAX,
            noreply: true
        }),
        b"cas k 4294967295 1 1 18446744073709551615 noreply\r\nx\r\n"
    );
}

#[test]
fn single_key_commands() {
    assert_eq!(
        enc(Request::Delete {
            key: b"k",
            noreply: false
        }),
        b"delete k\r\n"
    );
    assert_eq!(
        enc(Request::Delete {
            key: b"k",
            noreply: true
        }),
        b"delete k noreply\r\n"
    );
    assert_eq!(
        enc(Request::Incr {
            key: b"n",
            delta: 5,
            noreply: false
        }),
        b"incr n 5\r\n"
    );
    assert_eq!(
        enc(Request::Decr {
            key: b"n",
            delta: 1,
            noreply: true
        }),
        b"decr n 1 noreply\r\n"
    );
    assert_eq!(
        enc(Request::Touch {
            key: b"k",
            exptime: 10,
            noreply: false
        }),
        b"touch k 10\r\n"
    );
}

#[test]
fn server_commands() {
    assert_eq!(enc(Request::Stats { arg: None }), b"stats\r\n");
    assert_eq!(
        enc(Request::Stats { arg: Some("slabs") }),
        b"stats slabs\r\n"
    );
    assert_eq!(
        enc(Request::Stats {
            arg: Some("cachedump 1 10")
        }),
        b"stats cachedump 1 10\r\n"
    );
    assert_eq!(enc(Request::Version), b"version\r\n");
    assert_eq!(
        enc(Request::FlushAll {
            delay: None,
            noreply: false
        }),
        b"flush_all\r\n"
    );
    assert_eq!(
        enc(Request::FlushAll {
            delay: Some(5),
            noreply: true
        }),
        b"flush_all 5 noreply\r\n"
    );
    assert_eq!(
        enc(Request::Verbosity {
            level: 1,
            noreply: false
        }),
        b"verbosity 1\r\n"
    );
    assert_eq!(enc(Request::Quit), b"quit\r\n");
    assert_eq!(enc(Request::MetaNoop), b"mn\r\n");
}

#[test]
fn meta_get_flags() {
    assert_eq!(
        enc(Request::MetaGet {
            key: b"k",
            flags: MetaGetFlags::default()
        }),
        b"mg k\r\n"
    );
    let all = MetaGetFlags {
        base64_key: false,
        return_cas: true,
        return_flags: true,
        return_hit: true,
        return_key: true,
        return_last_access: true,
        return_size: true,
        return_ttl: true,
        return_value: true,
        no_lru_bump: true,
        quiet: true,
        opaque: Some(42),
        new_cas: Some(7),
        vivify: Some(30),
        recache: Some(10),
        touch: Some(60),
    };
    assert_eq!(
        enc(Request::MetaGet {
            key: b"k",
            flags: all
        }),
        b"mg k c f h k l s t v u q O42 E7 N30 R10 T60\r\n"
    );
}

#[test]
fn meta_set_delete_arithmetic_debug() {
    let flags = MetaSetFlags {
        return_cas: true,
        quiet: true,
        invalidate: true,
        opaque: Some(1),
        compare_cas: Some(5),
        client_flags: Some(3),
        ttl: Some(100),
        mode: Some(MetaSetMode::Add),
        ..Default::default()
    };
    assert_eq!(
        enc(Request::MetaSet {
            key: b"k",
            value: b"hi",
            flags
        }),
        b"ms k 2 c q I O1 C5 F3 T100 ME\r\nhi\r\n"
    );
    for (mode, letter) in [
        (MetaSetMode::Set, "S"),
        (MetaSetMode::Replace, "R"),
        (MetaSetMode::Append, "A"),
        (MetaSetMode::Prepend, "P"),
    ] {
        let flags = MetaSetFlags {
            mode: Some(mode),
            vivify_on_append: Some(9),
            ..Default::default()
        };
        assert_eq!(
            enc(Request::MetaSet {
                key: b"k",
                value: b"",
                flags
            }),
            format!("ms k 0 M{letter} N9\r\n\r\n").as_bytes()
        );
    }
    let flags = MetaDeleteFlags {
        return_key: true,
        invalidate: true,
        remove_value_only: true,
        compare_cas: Some(8),
        new_cas: Some(9),
        ttl: Some(30),
        quiet: true,
        opaque: Some(2),
        ..Default::default()
    };
    assert_eq!(
        enc(Request::MetaDelete { key: b"k", flags }),
        b"md k k q I x O2 C8 E9 T30\r\n"
    );
    let flags = MetaArithmeticFlags {
        return_value: true,
        return_ttl: true,
        return_cas: true,
        vivify: Some(0),
        initial: Some(10),
        delta: Some(3),
        mode: Some(ArithmeticMode::Decrement),
        ..Default::default()
    };
    assert_eq!(
        enc(Request::MetaArithmetic { key: b"n", flags }),
        b"ma n c t v N0 J10 D3 MD\r\n"
    );
    let flags = MetaArithmeticFlags {
        mode: Some(ArithmeticMode::Increment),
        ..Default::default()
    };
    assert_eq!(
        enc(Request::MetaArithmetic { key: b"n", flags }),
        b"ma n MI\r\n"
    );
    assert_eq!(
        enc(Request::MetaDebug {
            key: b"k",
            base64_key: false
        }),
        b"me k\r\n"
    );
}

#[test]
fn base64_keys_carry_any_bytes() {
    let flags = MetaGetFlags {
        base64_key: true,
        return_value: true,
        ..Default::default()
    };
    assert_eq!(
        enc(Request::MetaGet {
            key: b"a b\r\n\0",
            flags
        }),
        b"mg YSBiDQoA b v\r\n"
    );
    assert_eq!(
        enc(Request::MetaDebug {
            key: b"\xff",
            base64_key: true
        }),
        b"me /w== b\r\n"
    );
    // 187 raw bytes encode to 252 base64 bytes: over the key limit.
    let long = [7u8; 187];
    assert_eq!(
        enc_err(Request::MetaGet { key: &long, flags }),
        EncodeError::Key(KeyError::TooLong { len: 252 })
    );
    assert_eq!(
        enc_err(Request::MetaGet { key: b"", flags }),
        EncodeError::Key(KeyError::Empty)
    );
    let ok = [7u8; 186];
    assert_eq!(enc(Request::MetaGet { key: &ok, flags }).len(), 3 + 248 + 6);
}

#[test]
fn invalid_keys_never_reach_the_wire() {
    let bad: [&[u8]; 6] = [
        b"",
        &[b'k'; 251],
        b"a\r\nflush_all",
        b"sp ace",
        b"nul\0",
        b"\x7f",
    ];
    for key in bad {
        enc_err(Request::Get {
            keys: &[b"good", key],
        });
        enc_err(Request::Store {
            command: StoreCommand::Set,
            key,
            flags: 0,
            exptime: 0,
            value: b"v",
            noreply: false,
        });
        enc_err(Request::Delete {
            key,
            noreply: false,
        });
        enc_err(Request::Incr {
            key,
            delta: 1,
            noreply: false,
        });
        enc_err(Request::Touch {
            key,
            exptime: 1,
            noreply: false,
        });
        enc_err(Request::MetaGet {
            key,
            flags: MetaGetFlags::default(),
        });
        enc_err(Request::MetaSet {
            key,
            value: b"",
            flags: MetaSetFlags::default(),
        });
        enc_err(Request::MetaDelete {
            key,
            flags: MetaDeleteFlags::default(),
        });
        enc_err(Request::MetaArithmetic {
            key,
            flags: MetaArithmeticFlags::default(),
        });
        enc_err(Request::MetaDebug {
            key,
            base64_key: false,
        });
    }
    assert_eq!(enc_err(Request::Get { keys: &[] }), EncodeError::NoKeys);
    assert!(matches!(
        enc_err(Request::Stats {
            arg: Some("items\r\nflush_all")
        }),
        EncodeError::InvalidArgument(_)
    ));
    assert!(matches!(
        enc_err(Request::Stats { arg: Some("") }),
        EncodeError::InvalidArgument(_)
    ));
}

#[test]
fn value_size_limit_is_enforced_and_configurable() {
    let limits = Limits {
        max_value_len: 10,
        ..Limits::default()
    };
    let mut out = BytesMut::new();
    let at_limit = Request::Store {
        command: StoreCommand::Set,
        key: b"k",
        flags: 0,
        exptime: 0,
        value: &[b'x'; 10],
        noreply: false,
    };
    at_limit
        .encode(&mut out, &limits)
        .expect("at the limit is fine");
    let over = Request::MetaSet {
        key: b"k",
        value: &[b'x'; 11],
        flags: MetaSetFlags::default(),
    };
    assert_eq!(
        over.encode(&mut out, &limits),
        Err(EncodeError::ValueTooLarge { len: 11, limit: 10 })
    );
    let default_over = vec![0u8; Limits::DEFAULT_MAX_VALUE_LEN + 1];
    assert!(matches!(
        enc_err(Request::Cas {
            key: b"k",
            flags: 0,
            exptime: 0,
            value: &default_over,
            cas: 1,
            noreply: false
        }),
        EncodeError::ValueTooLarge { .. }
    ));
}

#[test]
fn expects_reply_follows_noreply() {
    assert!(Request::Get { keys: &[b"a"] }.expects_reply());
    assert!(!Request::Delete {
        key: b"a",
        noreply: true
    }
    .expects_reply());
    assert!(Request::Delete {
        key: b"a",
        noreply: false
    }
    .expects_reply());
    assert!(!Request::Quit.expects_reply());
    assert!(Request::MetaNoop.expects_reply());
}

#[test]
fn a_validated_request_writes_what_encode_writes() {
    let limits = Limits::default();
    let value = vec![b'v'; 40_000];
    let with_value = [
        Request::Store {
            command: StoreCommand::Append,
            key: b"k",
            flags: 3,
            exptime: 60,
            value: &value,
            noreply: true,
        },
        Request::Cas {
            key: b"k",
            flags: 0,
            exptime: 0,
            value: &value,
            cas: 77,
            noreply: false,
        },
        Request::MetaSet {
            key: b"k\0",
            value: &value,
            flags: MetaSetFlags {
                base64_key: true,
                ttl: Some(5),
                ..Default::default()
            },
        },
    ];
    for request in with_value {
        let mut encoded = BytesMut::new();
        request.encode(&mut encoded, &limits).expect("valid");
        let valid = request.validate(&limits).expect("valid");
        let mut whole = BytesMut::new();
        valid.write(&mut whole);
        assert_eq!(whole, encoded);
        // The command line, then the caller's value and CRLF: the same bytes.
        let mut line = BytesMut::new();
        valid.write_command_line(&mut line);
        line.extend_from_slice(&value);
        line.extend_from_slice(b"\r\n");
        assert_eq!(line, encoded, "{request:?}");
    }
    let get = Request::Gats {
        exptime: 9,
        keys: &[b"a", b"b"],
    };
    let mut line = BytesMut::new();
    get.validate(&limits)
        .expect("valid")
        .write_command_line(&mut line);
    assert_eq!(&line[..], b"gats 9 a b\r\n");
    assert_eq!(
        Request::Delete {
            key: b"a b",
            noreply: false
        }
        .validate(&limits),
        Err(EncodeError::Key(KeyError::InvalidByte { position: 1 }))
    );
}
