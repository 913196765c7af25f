//! A misbehaving server (garbage, truncated or oversized replies, values for
//! keys nobody asked for, wrong opaque tokens, silence, byte-by-byte
//! replies, endless lines) must give a typed error, the connection must be
//! dropped (never pooled), memory must stay bounded, and the next call, on
//! a new connection to an honest server, must be correct.
//!
//! The first connection to the fake server misbehaves; later ones are
//! forwarded to a real memcached.

mod common;
mod fake;

use std::time::Duration;

use common::prefix;
use fake::{Behavior, FakeServer};
use memcache_client::{Client, Error, MetaGetFlags, MetaRequest, StoreOptions};

/// What the test asks of the misbehaving connection.
#[derive(Clone, Copy, Debug)]
enum Op {
    Get,
    GetMany,
    Set,
    MetaPipeline,
    MetaGetWithOpaque,
    Stats,
}

fn client(addr: std::net::SocketAddr, timeout: Duration) -> Client {
    common::builder()
        .server_addr(addr)
        .operation_timeout(timeout)
        // Every case here fails once on purpose; the server must stay live.
        .dead_after_failures(u32::MAX)
        .build()
        .unwrap()
}

async fn run(c: &Client, op: Op, p: &str) -> Result<String, Error> {
    let k = format!("{p}k");
    match op {
        Op::Get => c.get(&k).await.map(|v| format!("{v:?}")),
        Op::GetMany => c
            .get_many(&[format!("{p}a"), format!("{p}b")])
            .await
            .map(|v| format!("{v:?}")),
        Op::Set => c
            .set(&k, "v", StoreOptions::default())
            .await
            .map(|v| format!("{v:?}")),
        Op::MetaPipeline => {
            let (a, b) = (format!("{p}a"), format!("{p}b"));
            let flags = MetaGetFlags {
                return_value: true,
                ..MetaGetFlags::default()
            };
            let requests = [
                MetaRequest::Get {
                    key: a.as_bytes(),
                    flags,
                },
                MetaRequest::Get {
                    key: b.as_bytes(),
                    flags,
                },
            ];
            c.meta_pipeline(&requests).await.map(|v| format!("{v:?}"))
        }
        Op::Stats => c.stats(None).await.map(|v| format!("{}", v.len())),
        Op::MetaGetWithOpaque => {
            let flags = MetaGetFlags {
                return_value: true,
                opaque: Some(7),
                ..MetaGetFlags::default()
            };
            c.meta_get(&k, flags).await.map(|v| format!("{v:?}"))
        }
    }
}

/// After the failure: the bad connection was not pooled, and a fresh one
/// (to the real memcached behind the fake) stores and reads correctly.
async fn assert_healthy_after(c: &Client, fake: &FakeServer, p: &str) {
    assert_eq!(c.idle_connections(), vec![0], "bad connection pooled");
    let k = format!("{p}after");
    c.set(&k, "correct", StoreOptions::default()).await.unwrap();
    let item = c.get(&k).await.unwrap().unwrap();
    assert_eq!(&item.value[..], b"correct");
    assert_eq!(fake.accepted(), 2);
    assert_eq!(c.idle_connections(), vec![1]);
}

/// Runs `op` against one misbehaving connection and checks the error kind.
async fn case(name: &str, behavior: Behavior, op: Op, kinds: &[&str], closes_itself: bool) {
    let p = prefix(name);
    let fake = FakeServer::start(vec![behavior, Behavior::Proxy(common::shared_addr())]).await;
    let c = client(fake.addr, Duration::from_millis(500));
    let err = run(&c, op, &p)
        .await
        .expect_err(&format!("{name}: a misbehaving server must give an error"));
    assert!(
        kinds.contains(&err.kind()),
        "{name}: got {err:?} ({}), wanted one of {kinds:?}",
        err.kind()
    );
    if !closes_itself {
        assert!(
            fake.wait_closed(1).await,
            "{name}: the client kept the bad connection open"
        );
    }
    assert_healthy_after(&c, &fake, &p).await;
}

fn reply(bytes: &[u8]) -> Behavior {
    Behavior::Reply(bytes.to_vec())
}

const BAD_STREAM: &[&str] = &["protocol", "unexpected_response"];

#[tokio::test]
async fn garbage_is_a_protocol_error() {
    let garbage: &[&[u8]] = &[
        b"HELLO WORLD\r\n",
        b"\x00\xff\xfe\r\n",
        b"VALUE\r\n",
        b"VALUE k notanumber 3\r\nabc\r\nEND\r\n",
        b"VALUE k 0 -3\r\n",
        b"\r\n",
    ];
    for (i, g) in garbage.iter().enumerate() {
        case(&format!("garbage{i}"), reply(g), Op::Get, BAD_STREAM, false).await;
    }
    case(
        "garbage-set",
        reply(b"STORED?\r\n"),
        Op::Set,
        BAD_STREAM,
        false,
    )
    .await;
}

#[tokio::test]
async fn a_reply_of_the_wrong_type_is_unexpected() {
    // A well-formed reply that does not answer the request.
    case(
        "wrongtype-get",
        reply(b"STORED\r\n"),
        Op::Get,
        &["unexpected_response"],
        false,
    )
    .await;
    case(
        "wrongtype-set",
        reply(b"VALUE k 0 1\r\nx\r\nEND\r\n"),
        Op::Set,
        &["unexpected_response"],
        false,
    )
    .await;
}

#[tokio::test]
async fn truncated_value_block_is_connection_closed() {
    case(
        "truncated",
        Behavior::ReplyThenClose(b"VALUE k 0 10\r\nabc".to_vec()),
        Op::Get,
        &["connection_closed"],
        true,
    )
    .await;
}

#[tokio::test]
async fn close_mid_line_is_connection_closed() {
    case(
        "midline",
        Behavior::ReplyThenClose(b"VALU".to_vec()),
        Op::Get,
        &["connection_closed"],
        true,
    )
    .await;
    case(
        "midline-set",
        Behavior::ReplyThenClose(b"STOR".to_vec()),
        Op::Set,
        &["connection_closed"],
        true,
    )
    .await;
}

#[tokio::test]
async fn wrong_length_is_a_protocol_error() {
    // Data block longer than announced: the terminator is not where it
    // should be.
    case(
        "wronglen",
        reply(b"VALUE mcc 0 3\r\nabcdef\r\nEND\r\n"),
        Op::Get,
        &["protocol"],
        false,
    )
    .await;
}

#[tokio::test]
async fn huge_length_is_refused_without_waiting_for_the_data() {
    for (i, len) in ["18446744073709551615", "99999999999999999999999", "1048577"]
        .iter()
        .enumerate()
    {
        let line = format!("VALUE k 0 {len}\r\n");
        case(
            &format!("huge{i}"),
            reply(line.as_bytes()),
            Op::Get,
            &["protocol"],
            false,
        )
        .await;
    }
}

#[tokio::test]
async fn a_value_for_a_key_not_asked_for_is_never_returned() {
    case(
        "wrongkey",
        reply(b"VALUE someone-else 0 6\r\nsecret\r\nEND\r\n"),
        Op::Get,
        &["unexpected_response"],
        false,
    )
    .await;
    case(
        "wrongkey-many",
        reply(b"VALUE someone-else 0 6\r\nsecret\r\nEND\r\n"),
        Op::GetMany,
        &["unexpected_response"],
        false,
    )
    .await;
}

#[tokio::test]
async fn a_reply_to_the_wrong_opaque_is_refused() {
    // The pipeline's requests carry opaques 0 and 1.
    for (i, r) in [
        &b"VA 1 O5\r\nx\r\nMN\r\n"[..],
        b"VA 1 O1\r\nx\r\nVA 1 O0\r\ny\r\nMN\r\n",
        b"VA 1 O0\r\nx\r\nVA 1 O0\r\ny\r\nMN\r\n",
        b"VA 1\r\nx\r\nMN\r\n",
    ]
    .iter()
    .enumerate()
    {
        case(
            &format!("opaque{i}"),
            reply(r),
            Op::MetaPipeline,
            &["unexpected_response"],
            false,
        )
        .await;
    }
    // A single meta call whose opaque (7) is echoed wrong.
    case(
        "opaque-single",
        reply(b"VA 1 O8\r\nx\r\n"),
        Op::MetaGetWithOpaque,
        &["unexpected_response"],
        false,
    )
    .await;
}

#[tokio::test]
async fn server_error_lines_are_typed_and_drop_the_connection() {
    for (name, line, kind) in [
        (
            "servererr",
            &b"SERVER_ERROR out of memory\r\n"[..],
            "server_error",
        ),
        (
            "clienterr",
            b"CLIENT_ERROR bad data chunk\r\n",
            "client_error",
        ),
        ("error", b"ERROR\r\n", "unknown_command"),
    ] {
        case(name, reply(line), Op::Get, &[kind], false).await;
        if common::multiplexed() && kind == "server_error" {
            // Multiplexed, a SERVER_ERROR answers a one-line command alone
            // and the connection stays (memcached has swallowed the data;
            // the calls pipelined around it are answered in step, see
            // multiplexed.rs): only the typed error is checked here.
            let fake = FakeServer::start(vec![reply(line)]).await;
            let c = client(fake.addr, Duration::from_millis(500));
            let err = run(&c, Op::Set, &prefix(name)).await.unwrap_err();
            assert_eq!(err.kind(), kind, "{err:?}");
            continue;
        }
        case(name, reply(line), Op::Set, &[kind], false).await;
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    case("silent", Behavior::Silent, Op::Get, &["timeout"], false).await;
    case("silent-set", Behavior::Silent, Op::Set, &["timeout"], false).await;
}

#[tokio::test]
async fn a_reply_dribbled_byte_by_byte_is_read_correctly_or_times_out() {
    // Within the timeout: every byte in its own segment, still correct.
    let p = prefix("trickle");
    let k = format!("{p}k");
    let line = format!("VALUE {k} 3 5\r\nhello\r\nEND\r\n");
    let fake = FakeServer::start(vec![
        Behavior::Trickle(line.into_bytes(), Duration::from_millis(2)),
        Behavior::Proxy(common::shared_addr()),
    ])
    .await;
    let c = client(fake.addr, Duration::from_secs(5));
    let item = c.get(&k).await.unwrap().unwrap();
    assert_eq!((&item.value[..], item.flags), (&b"hello"[..], 3));

    // Slower than the timeout allows: a timeout, and the connection goes.
    let line = format!("VALUE {k} 3 5\r\nhello\r\nEND\r\n");
    case(
        "trickle-slow",
        Behavior::Trickle(line.into_bytes(), Duration::from_millis(100)),
        Op::Get,
        &["timeout"],
        false,
    )
    .await;
}

#[tokio::test]
async fn an_endless_line_is_cut_off_at_the_line_limit() {
    // 256 MiB of a line that never ends: the client must stop at its line
    // limit instead of buffering it, and hang up.
    let total = 256 << 20;
    let p = prefix("flood");
    let fake = FakeServer::start(vec![
        Behavior::Flood {
            chunk: vec![b'A'; 64 * 1024],
            total,
        },
        Behavior::Proxy(common::shared_addr()),
    ])
    .await;
    let c = client(fake.addr, Duration::from_secs(5));
    let err = c.get(format!("{p}k")).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Protocol(memcache_codec::DecodeError::LineTooLong { .. })
        ),
        "{err:?}"
    );
    assert!(fake.wait_closed(1).await, "client kept the flooding socket");
    let flooded = fake
        .observed
        .flooded
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(flooded < total, "the client read the whole flood");
    assert_healthy_after(&c, &fake, &p).await;
}

#[tokio::test]
async fn an_endless_value_stream_is_bounded_by_the_value_limit() {
    // A value just over the client's limit (1 MiB by default) is refused
    // from its header line; the server is still writing when the client
    // hangs up.
    let mut reply = b"VALUE k 0 1048577\r\n".to_vec();
    reply.extend(std::iter::repeat_n(b'v', 8 << 20));
    case(
        "bigvalue",
        Behavior::Reply(reply),
        Op::Get,
        &["protocol"],
        false,
    )
    .await;
}

#[tokio::test]
async fn an_endless_stream_of_items_is_cut_off() {
    // Replies made of many well-formed items: each exchange accepts only as
    // many as its request can have, so memory stays bounded.
    let p = prefix("items");
    let value = format!("VALUE {p}a 0 1\r\nx\r\n");
    for (name, chunk, op) in [
        ("values", value.into_bytes(), Op::GetMany),
        ("stats", b"STAT name value\r\n".repeat(64), Op::Stats),
        ("meta", b"HD O0\r\n".repeat(64), Op::MetaPipeline),
    ] {
        let total = 1 << 30;
        let fake = FakeServer::start(vec![
            Behavior::Flood { chunk, total },
            Behavior::Proxy(common::shared_addr()),
        ])
        .await;
        let c = client(fake.addr, Duration::from_secs(30));
        let err = run(&c, op, &p).await.unwrap_err();
        assert!(
            matches!(err.kind(), "protocol" | "unexpected_response"),
            "{name}: {err:?}"
        );
        assert!(fake.wait_closed(1).await, "{name}: kept the socket");
        let flooded = fake
            .observed
            .flooded
            .load(std::sync::atomic::Ordering::SeqCst);
        assert!(flooded < total, "{name}: read the whole flood");
        assert_healthy_after(&c, &fake, &p).await;
    }
}

#[tokio::test]
async fn a_late_unsolicited_reply_on_an_idle_connection_is_never_handed_out() {
    // memcached never speaks unasked: a reply arriving on an idle connection
    // belongs to nobody, and the connection holding it is broken.
    let p = prefix("late");
    let victim = format!("{p}victim");
    let fake = FakeServer::start(vec![
        Behavior::ReplyThenLate {
            reply: format!("VALUE {p}twice_late 0 2\r\nok\r\nEND\r\n").into_bytes(),
            late: format!("VALUE {victim} 0 5\r\nWRONG\r\nEND\r\n").into_bytes(),
            after: Duration::from_millis(150),
        },
        Behavior::Proxy(common::shared_addr()),
    ])
    .await;
    let c = client(fake.addr, Duration::from_secs(2));
    let first = c.get(format!("{p}twice_late")).await.unwrap().unwrap();
    assert_eq!(&first.value[..], b"ok");
    // Let the late reply arrive while the connection sits idle.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let next = c.get(&victim).await;
    if let Ok(Some(item)) = &next {
        assert_ne!(&item.value[..], b"WRONG", "a stray reply was handed out");
    }
    if !common::multiplexed() {
        // The readable idle connection was dropped and counted; a new one
        // (to the real memcached) answered.
        assert!(next.unwrap().is_none());
        assert_eq!(c.stale_connections_dropped(), 1);
        assert_eq!(fake.accepted(), 2);
        assert!(fake.wait_closed(1).await, "kept the broken connection open");
    }
}
