//! Every request form, encoded by the codec, sent to a real memcached, and
//! its reply decoded: proves the bytes are what the server understands.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use memcache_codec::*;

struct Wire {
    stream: TcpStream,
    buf: BytesMut,
    decoder: Decoder,
}

impl Wire {
    fn connect() -> Wire {
        let stream = TcpStream::connect(memcached_harness::shared_addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        Wire {
            stream,
            buf: BytesMut::new(),
            decoder: Decoder::default(),
        }
    }

    fn send(&mut self, req: Request<'_>) {
        let mut out = BytesMut::new();
        req.encode(&mut out, &Limits::default()).expect("encodes");
        self.stream.write_all(&out).expect("write");
    }

    fn next(&mut self) -> Response {
        loop {
            if let Some(item) = self.decoder.decode(&mut self.buf).expect("decodes") {
                return item;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn call(&mut self, req: Request<'_>) -> Response {
        self.send(req);
        self.next()
    }
}

fn key(name: &str) -> Vec<u8> {
    format!("codec-live:{}:{name}", std::process::id()).into_bytes()
}

fn set<'a>(key: &'a [u8], value: &'a [u8]) -> Request<'a> {
    Request::Store {
        command: StoreCommand::Set,
        key,
        flags: 9,
        exptime: 0,
        value,
        noreply: false,
    }
}

#[test]
fn text_protocol_commands() {
    let mut w = Wire::connect();
    let (a, b, n) = (key("a"), key("b"), key("n"));
    let value = b"two\r\nlines END\r\n";
    assert_eq!(w.call(set(&a, value)), Response::Stored);
    assert_eq!(
        w.call(Request::Store {
            command: StoreCommand::Add,
            key: &a,
            flags: 0,
            exptime: 0,
            value: b"x",
            noreply: false
        }),
        Response::NotStored
    );
    assert_eq!(
        w.call(Request::Store {
            command: StoreCommand::Replace,
            key: &b,
            flags: 0,
            exptime: 0,
            value: b"x",
            noreply: false
        }),
        Response::NotStored
    );
    w.send(Request::Get { keys: &[&a, &b] });
    let Response::Value(v) = w.next() else {
        panic!("expected VALUE")
    };
    assert_eq!(
        (&v.key[..], v.flags, &v.data[..], v.cas),
        (&a[..], 9, &value[..], None)
    );
    assert_eq!(w.next(), Response::End);

    w.send(Request::Gets { keys: &[&a] });
    let Response::Value(v) = w.next() else {
        panic!("expected VALUE")
    };
    let cas = v.cas.expect("gets returns cas");
    assert_eq!(w.next(), Response::End);
    let cas_req = |cas| Request::Cas {
        key: &a,
        flags: 1,
        exptime: 0,
        value: b"new",
        cas,
        noreply: false,
    };
    assert_eq!(w.call(cas_req(cas + 1000)), Response::Exists);
    assert_eq!(w.call(cas_req(cas)), Response::Stored);
    let cas_b = Request::Cas {
        key: &b,
        flags: 1,
        exptime: 0,
        value: b"new",
        cas,
        noreply: false,
    };
    assert_eq!(w.call(cas_b), Response::NotFound);

    for (command, expected) in [
        (StoreCommand::Append, "new>"),
        (StoreCommand::Prepend, "<new>"),
    ] {
        let piece: &[u8] = if command == StoreCommand::Append {
            b">"
        } else {
            b"<"
        };
        let req = Request::Store {
            command,
            key: &a,
            flags: 0,
            exptime: 0,
            value: piece,
            noreply: false,
        };
        assert_eq!(w.call(req), Response::Stored);
        w.send(Request::Get { keys: &[&a] });
        let Response::Value(v) = w.next() else {
            panic!("expected VALUE")
        };
        assert_eq!(&v.data[..], expected.as_bytes());
        assert_eq!(w.next(), Response::End);
    }

    w.send(Request::Gat {
        exptime: 100,
        keys: &[&a],
    });
    assert!(matches!(w.next(), Response::Value(_)));
    assert_eq!(w.next(), Response::End);
    w.send(Request::Gats {
        exptime: 100,
        keys: &[&a],
    });
    let Response::Value(v) = w.next() else {
        panic!("expected VALUE")
    };
    assert!(v.cas.is_some());
    assert_eq!(w.next(), Response::End);
    assert_eq!(
        w.call(Request::Touch {
            key: &a,
            exptime: 50,
            noreply: false
        }),
        Response::Touched
    );
    assert_eq!(
        w.call(Request::Touch {
            key: &b,
            exptime: 50,
            noreply: false
        }),
        Response::NotFound
    );

    assert_eq!(w.call(set(&n, b"10")), Response::Stored);
    assert_eq!(
        w.call(Request::Incr {
            key: &n,
            delta: 5,
            noreply: false
        }),
        Response::Number(15)
    );
    assert_eq!(
        w.call(Request::Decr {
            key: &n,
            delta: 20,
            noreply: false
        }),
        Response::Number(0)
    );
    assert_eq!(
        w.call(Request::Incr {
            key: &b,
            delta: 1,
            noreply: false
        }),
        Response::NotFound
    );
    assert!(matches!(
        w.call(Request::Incr {
            key: &a,
            delta: 1,
            noreply: false
        }),
        Response::ClientError(_)
    ));

    // noreply requests get no answer: the next reply belongs to the next request.
    w.send(Request::Delete {
        key: &n,
        noreply: true,
    });
    assert_eq!(
        w.call(Request::Delete {
            key: &n,
            noreply: false
        }),
        Response::NotFound
    );
    assert_eq!(
        w.call(Request::Delete {
            key: &a,
            noreply: false
        }),
        Response::Deleted
    );

    let Response::Version(version) = w.call(Request::Version) else {
        panic!("expected VERSION")
    };
    assert!(version.starts_with(b"1."));
    assert_eq!(
        w.call(Request::Verbosity {
            level: 0,
            noreply: false
        }),
        Response::Ok
    );
    w.send(Request::Stats { arg: None });
    let mut names = Vec::new();
    loop {
        match w.next() {
            Response::Stat { name, .. } => names.push(name),
            Response::End => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(names.iter().any(|n| &n[..] == b"curr_connections"));
    w.send(Request::Stats {
        arg: Some("settings"),
    });
    assert!(matches!(w.next(), Response::Stat { .. }));
    w.send(Request::Quit);
    let mut rest = Vec::new();
    let _ = w.stream.read_to_end(&mut rest);
}

#[test]
fn flush_all_on_a_private_server() {
    let server = memcached_harness::Memcached::start().expect("memcached");
    let stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut w = Wire {
        stream,
        buf: BytesMut::new(),
        decoder: Decoder::default(),
    };
    assert_eq!(w.call(set(b"k", b"v")), Response::Stored);
    assert_eq!(
        w.call(Request::FlushAll {
            delay: None,
            noreply: false
        }),
        Response::Ok
    );
    assert_eq!(w.call(Request::Get { keys: &[b"k"] }), Response::End);
    assert_eq!(
        w.call(Request::FlushAll {
            delay: Some(0),
            noreply: false
        }),
        Response::Ok
    );
}

#[test]
fn meta_protocol_commands() {
    let mut w = Wire::connect();
    let (m, c) = (key("m"), key("c"));
    let set_flags = MetaSetFlags {
        client_flags: Some(5),
        ttl: Some(100),
        return_cas: true,
        opaque: Some(3),
        ..Default::default()
    };
    let Response::Meta(r) = w.call(Request::MetaSet {
        key: &m,
        value: b"v\r\n1",
        flags: set_flags,
    }) else {
        panic!()
    };
    assert_eq!(r.status, MetaStatus::Header);
    assert_eq!(r.flags.opaque, Some(3));
    let cas = r.flags.cas.expect("c returns cas");

    let get = MetaGetFlags {
        return_value: true,
        return_flags: true,
        return_cas: true,
        return_ttl: true,
        return_key: true,
        return_size: true,
        return_hit: true,
        return_last_access: true,
        opaque: Some(77),
        ..Default::default()
    };
    let Response::Meta(r) = w.call(Request::MetaGet {
        key: &m,
        flags: get,
    }) else {
        panic!()
    };
    assert_eq!(r.status, MetaStatus::Value);
    assert_eq!(r.value.as_deref(), Some(&b"v\r\n1"[..]));
    assert_eq!(
        (
            r.flags.client_flags,
            r.flags.cas,
            r.flags.opaque,
            r.flags.size
        ),
        (Some(5), Some(cas), Some(77), Some(4))
    );
    assert_eq!(r.flags.key.as_deref(), Some(&m[..]));
    assert!(matches!(r.flags.ttl, Some(t) if (1..=100).contains(&t)));
    assert_eq!(r.flags.hit_before, Some(false));
    assert!(r.flags.last_access.is_some());

    // CAS mismatch, then modes.
    let stale = MetaSetFlags {
        compare_cas: Some(cas + 1),
        ..Default::default()
    };
    let Response::Meta(r) = w.call(Request::MetaSet {
        key: &m,
        value: b"x",
        flags: stale,
    }) else {
        panic!()
    };
    assert_eq!(r.status, MetaStatus::Exists);
    let add = MetaSetFlags {
        mode: Some(MetaSetMode::Add),
        ..Default::default()
    };
    let Response::Meta(r) = w.call(Request::MetaSet {
        key: &m,
        value: b"x",
        flags: add,
    }) else {
        panic!()
    };
    assert_eq!(r.status, MetaStatus::NotStored);
    for mode in [
        MetaSetMode::Append,
        MetaSetMode::Prepend,
        MetaSetMode::Replace,
        MetaSetMode::Set,
    ] {
        let f = MetaSetFlags {
            mode: Some(mode),
            ..Default::default()
        };
        let Response::Meta(r) = w.call(Request::MetaSet {
            key: &m,
            value: b"x",
            flags: f,
        }) else {
            panic!()
        };
        assert_eq!(r.status, MetaStatus::Header, "{mode:?}");
    }

    // Quiet miss sends nothing; mn closes the pipeline.
    let quiet = MetaGetFlags {
        quiet: true,
        return_value: true,
        ..Default::default()
    };
    w.send(Request::MetaGet {
        key: &c,
        flags: quiet,
    });
    w.send(Request::MetaNoop);
    let Response::Meta(r) = w.next() else {
        panic!()
    };
    assert_eq!(r.status, MetaStatus::Noop);
    let Response::Meta(r) = w.call(Request::MetaGet {
        key: &c,
        flags: MetaGetFlags::default(),
    }) else {
        panic!()
    };
    assert_eq!(r.status, MetaStatus::Miss);

    // Vivify: the first miss wins, the second sees it already won.
    let viv = MetaGetFlags {
        vivify: Some(30),
        return_value: true,
        return_cas: true,
        ..Default::default()
    };
    let Response::Meta(first) = w.call(Request::MetaGet {
        key: &c,
        flags: viv,
    }) else {
        panic!()
    };
    assert_eq!(first.status, MetaStatus::Value);
    assert!(first.flags.win && !first.flags.already_won);
    let Response::Meta(second) = w.call(Request::MetaGet {
        key: &c,
        flags: viv,
    }) else {
        panic!()
    };
    assert!(second.flags.already_won && !second.flags.win);

    // Arithmetic with vivify and initial value, then decrement.
    let n = key("mn");
    let ma = MetaArithmeticFlags {
        vivify: Some(0),
        initial: Some(10),
        return_value: true,
        ..Default::default()
    };
    let Response::Meta(r) = w.call(Request::MetaArithmetic { key: &n, flags: ma }) else {
        panic!()
    };
    assert_eq!(
        (r.status, r.value.as_deref()),
        (MetaStatus::Value, Some(&b"10"[..]))
    );
    let dec = MetaArithmeticFlags {
        mode: Some(ArithmeticMode::Decrement),
        delta: Some(3),
        return_value: true,
        ..Default::default()
    };
    let Response::Meta(r) = w.call(Request::MetaArithmetic {
        key: &n,
        flags: dec,
    }) else {
        panic!()
    };
    assert_eq!(r.value.as_deref(), Some(&b"7"[..]));

    // Debug, then delete with and without invalidation.
    let Response::MetaDebug(pairs) = w.call(Request::MetaDebug {
        key: &m,
        base64_key: false,
    }) else {
        panic!()
    };
    assert!(pairs.iter().any(|(k, _)| &k[..] == b"size"));
    let inval = MetaDeleteFlags {
        invalidate: true,
        ttl: Some(30),
        ..Default::default()
    };
    let Response::Meta(r) = w.call(Request::MetaDelete {
        key: &m,
        flags: inval,
    }) else {
        panic!()
    };
    assert_eq!(r.status, MetaStatus::Header);
    let Response::Meta(r) = w.call(Request::MetaGet {
        key: &m,
        flags: MetaGetFlags {
            return_value: true,
            ..Default::default()
        },
    }) else {
        panic!()
    };
    assert!(
        r.flags.stale && r.flags.win,
        "invalidated item is stale and the first reader wins"
    );
    for k in [&m, &c, &n] {
        let Response::Meta(r) = w.call(Request::MetaDelete {
            key: k,
            flags: MetaDeleteFlags::default(),
        }) else {
            panic!()
        };
        assert_eq!(r.status, MetaStatus::Header);
    }
    let Response::Meta(r) = w.call(Request::MetaDelete {
        key: &m,
        flags: MetaDeleteFlags::default(),
    }) else {
        panic!()
    };
    assert_eq!(r.status, MetaStatus::NotFound);
}

#[test]
fn binary_keys_travel_base64_encoded() {
    let mut w = Wire::connect();
    let mut raw = key("bin");
    raw.extend_from_slice(b" \r\n\0\xff");
    let flags = MetaSetFlags {
        base64_key: true,
        ..Default::default()
    };
    let Response::Meta(r) = w.call(Request::MetaSet {
        key: &raw,
        value: b"bin",
        flags,
    }) else {
        panic!()
    };
    assert_eq!(r.status, MetaStatus::Header);
    let get = MetaGetFlags {
        base64_key: true,
        return_value: true,
        return_key: true,
        ..Default::default()
    };
    let Response::Meta(r) = w.call(Request::MetaGet {
        key: &raw,
        flags: get,
    }) else {
        panic!()
    };
    assert_eq!(r.value.as_deref(), Some(&b"bin"[..]));
    assert!(r.flags.base64_key);
    use base64::Engine as _;
    let returned = base64::engine::general_purpose::STANDARD
        .decode(r.flags.key.expect("k"))
        .expect("base64");
    assert_eq!(returned, raw);
    let del = MetaDeleteFlags {
        base64_key: true,
        ..Default::default()
    };
    let Response::Meta(r) = w.call(Request::MetaDelete {
        key: &raw,
        flags: del,
    }) else {
        panic!()
    };
    assert_eq!(r.status, MetaStatus::Header);
}
