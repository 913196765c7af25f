//! Typed values against a real memcached: each type round-trips with the
//! flags pymemcache uses; counters written typed keep working with
//! `incr`/`decr`; a value of another type or an undecodable one is a typed
//! error and stays in the cache; with the `serde` feature, JSON and
//! MessagePack round-trip under their own flags.

mod common;

use bytes::Bytes;
use memcache_client::{flags, Client, Encoded, Error, StoreOptions, StoreOutcome, ValueError};

fn setup(test: &str) -> (Client, impl Fn(&str) -> String) {
    let prefix = common::prefix(test);
    (common::shared_client(), move |k: &str| {
        format!("{prefix}{k}")
    })
}

#[tokio::test]
async fn each_type_round_trips_with_pymemcache_flags() {
    let (c, key) = setup("typed-roundtrip");
    let o = StoreOptions::default();
    c.set_as(key("str"), "héllo wörld", o).await.unwrap();
    c.set_as(key("string"), String::from(""), o).await.unwrap();
    c.set_as(key("bytes"), &b"\x00\xff\r\n"[..], o)
        .await
        .unwrap();
    c.set_as(key("vec"), vec![1u8, 2, 3], o).await.unwrap();
    c.set_as(key("Bytes"), Bytes::from_static(b"raw"), o)
        .await
        .unwrap();
    c.set_as(key("i64"), i64::MIN, o).await.unwrap();
    c.set_as(key("u64"), u64::MAX, o).await.unwrap();
    c.set_as(key("u128"), u128::MAX, o).await.unwrap();
    c.set_as(key("i8"), -5i8, o).await.unwrap();

    // On the wire: the value as pymemcache writes it, with its flags.
    let raw = |k: &'static str| {
        let c = c.clone();
        let k = key(k);
        async move { c.get(&k).await.unwrap().unwrap() }
    };
    let item = raw("str").await;
    assert_eq!(
        (&item.value[..], item.flags),
        ("héllo wörld".as_bytes(), 16)
    );
    assert_eq!(raw("bytes").await.flags, 0);
    let item = raw("i64").await;
    assert_eq!(
        (&item.value[..], item.flags),
        (&b"-9223372036854775808"[..], 2)
    );

    // Back as the same types.
    assert_eq!(
        c.get_as::<String>(key("str")).await.unwrap().as_deref(),
        Some("héllo wörld")
    );
    assert_eq!(
        c.get_as::<String>(key("string")).await.unwrap().as_deref(),
        Some("")
    );
    assert_eq!(
        c.get_as::<Vec<u8>>(key("bytes")).await.unwrap(),
        Some(b"\x00\xff\r\n".to_vec())
    );
    assert_eq!(
        c.get_as::<Bytes>(key("vec")).await.unwrap(),
        Some(Bytes::from_static(&[1, 2, 3]))
    );
    assert_eq!(
        c.get_as::<Vec<u8>>(key("Bytes")).await.unwrap(),
        Some(b"raw".to_vec())
    );
    assert_eq!(c.get_as::<i64>(key("i64")).await.unwrap(), Some(i64::MIN));
    assert_eq!(c.get_as::<u64>(key("u64")).await.unwrap(), Some(u64::MAX));
    assert_eq!(
        c.get_as::<u128>(key("u128")).await.unwrap(),
        Some(u128::MAX)
    );
    assert_eq!(c.get_as::<i32>(key("i8")).await.unwrap(), Some(-5));
    assert_eq!(c.get_as::<String>(key("absent")).await.unwrap(), None);
}

#[tokio::test]
async fn typed_counters_work_with_incr_and_decr() {
    let (c, key) = setup("typed-counter");
    let o = StoreOptions::default();
    let k = key("visits");
    c.set_as(&k, 10u64, o).await.unwrap();
    assert_eq!(c.incr(&k, 5).await.unwrap(), Some(15));
    assert_eq!(c.get_as::<u64>(&k).await.unwrap(), Some(15));
    // memcached pads a value decr made shorter with spaces ("9 ").
    assert_eq!(c.decr(&k, 6).await.unwrap(), Some(9));
    assert_eq!(&c.get(&k).await.unwrap().unwrap().value[..], b"9 ");
    assert_eq!(c.get_as::<u64>(&k).await.unwrap(), Some(9));
    assert_eq!(c.get_as::<i16>(&k).await.unwrap(), Some(9));
}

#[tokio::test]
async fn other_types_and_bad_values_are_typed_errors_and_stay_cached() {
    let (c, key) = setup("typed-errors");
    let o = StoreOptions::default();
    c.set_as(key("text"), "not a number", o).await.unwrap();
    match c.get_as::<u64>(key("text")).await {
        Err(Error::Value(ValueError::WrongFlags {
            found: flags::TEXT, ..
        })) => {}
        other => panic!("{other:?}"),
    }
    // A raw value with integer flags that is not a number.
    c.set(key("bad-int"), "12abc", o.flags(flags::INTEGER))
        .await
        .unwrap();
    let err = c.get_as::<i64>(key("bad-int")).await.unwrap_err();
    assert!(
        matches!(err, Error::Value(ValueError::Undecodable { .. })),
        "{err:?}"
    );
    assert_eq!(err.kind(), "value");
    assert!(!err.to_string().contains("12abc"), "{err}");
    // Out of range for the type asked for.
    c.set_as(key("big"), 300u32, o).await.unwrap();
    assert!(c.get_as::<u8>(key("big")).await.is_err());
    assert_eq!(c.get_as::<u16>(key("big")).await.unwrap(), Some(300));
    // Text flags with bytes that are not UTF-8.
    c.set(key("bad-text"), &b"ok\xff"[..], o.flags(flags::TEXT))
        .await
        .unwrap();
    assert!(matches!(
        c.get_as::<String>(key("bad-text")).await,
        Err(Error::Value(ValueError::Undecodable { .. }))
    ));
    // A pickle or a compressed value (pymemcache's pickle/compressed serde)
    // is refused, not misread; bytes are not text and text is not bytes.
    c.set(
        key("pickle"),
        &b"\x80\x04K\x01."[..],
        o.flags(flags::PICKLE),
    )
    .await
    .unwrap();
    assert!(c.get_as::<Vec<u8>>(key("pickle")).await.is_err());
    assert!(c.get_as::<String>(key("pickle")).await.is_err());
    c.set_as(key("raw"), &b"abc"[..], o).await.unwrap();
    assert!(c.get_as::<String>(key("raw")).await.is_err());
    assert!(c.get_as::<Vec<u8>>(key("text")).await.is_err());
    // Nothing was lost.
    for k in ["text", "bad-int", "bad-text", "pickle", "raw"] {
        assert!(c.get(key(k)).await.unwrap().is_some(), "{k}");
    }
}

#[tokio::test]
async fn add_replace_and_items_of_get_many() {
    let (c, key) = setup("typed-add");
    let o = StoreOptions::default();
    assert_eq!(
        c.add_as(key("a"), 1u32, o).await.unwrap(),
        StoreOutcome::Stored
    );
    assert_eq!(
        c.add_as(key("a"), 2u32, o).await.unwrap(),
        StoreOutcome::NotStored
    );
    assert_eq!(
        c.replace_as(key("a"), "now text", o).await.unwrap(),
        StoreOutcome::Stored
    );
    assert_eq!(
        c.replace_as(key("absent"), 3u32, o).await.unwrap(),
        StoreOutcome::NotStored
    );
    // set_as replaces the flags given in the options.
    c.set_as(key("b"), 7i32, o.flags(12345)).await.unwrap();
    let found = c.get_many(&[key("a"), key("b")]).await.unwrap();
    assert_eq!(
        found[key("a").as_bytes()].value_as::<String>().unwrap(),
        "now text"
    );
    assert_eq!(found[key("b").as_bytes()].value_as::<i32>().unwrap(), 7);
    assert_eq!(found[key("b").as_bytes()].flags, flags::INTEGER);
    // Typed multi-get: misses absent, one value of another type fails it.
    c.set_as(key("c"), 8i32, o).await.unwrap();
    let ints = c
        .get_many_as::<i32, _>(&[key("b"), key("c"), key("absent")])
        .await
        .unwrap();
    assert_eq!(ints.len(), 2);
    assert_eq!(
        (ints[key("b").as_bytes()], ints[key("c").as_bytes()]),
        (7, 8)
    );
    assert!(matches!(
        c.get_many_as::<i32, _>(&[key("a"), key("b")]).await,
        Err(Error::Value(ValueError::WrongFlags { .. }))
    ));
    // A format of one's own: bytes and flags as given.
    let own = Encoded {
        bytes: b"own".as_slice().into(),
        flags: 0x0100_0000,
    };
    c.set_as(key("own"), &own, o).await.unwrap();
    let item = c.get(key("own")).await.unwrap().unwrap();
    assert_eq!((&item.value[..], item.flags), (&b"own"[..], 0x0100_0000));
}

#[cfg(feature = "serde")]
mod with_serde {
    use super::*;
    use memcache_client::{Json, MsgPack};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct User {
        id: u64,
        name: String,
        tags: Vec<String>,
        score: Option<f64>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Other {
        title: String,
    }

    fn ada() -> User {
        User {
            id: 1815,
            name: "Ada Lovelace".into(),
            tags: vec!["math".into(), "engines".into()],
            score: Some(0.5),
        }
    }

    #[tokio::test]
    async fn json_and_msgpack_round_trip_under_their_own_flags() {
        let (c, key) = setup("typed-serde");
        let o = StoreOptions::default();
        c.set_as(key("json"), Json(ada()), o).await.unwrap();
        c.set_as(key("msgpack"), MsgPack(&ada()), o).await.unwrap();
        let json = c.get(key("json")).await.unwrap().unwrap();
        assert_eq!(json.flags, flags::JSON);
        assert_eq!(
            &json.value[..],
            br#"{"id":1815,"name":"Ada Lovelace","tags":["math","engines"],"score":0.5}"#
        );
        assert_eq!(
            c.get(key("msgpack")).await.unwrap().unwrap().flags,
            flags::MSGPACK
        );
        let back: Json<User> = c.get_as(key("json")).await.unwrap().unwrap();
        assert_eq!(back.into_inner(), ada());
        let back: MsgPack<User> = c.get_as(key("msgpack")).await.unwrap().unwrap();
        assert_eq!(back.0, ada());
        // Each format refuses the other's flags, and a struct that does not
        // match is undecodable, not a panic.
        assert!(matches!(
            c.get_as::<Json<User>>(key("msgpack")).await,
            Err(Error::Value(ValueError::WrongFlags { .. }))
        ));
        assert!(matches!(
            c.get_as::<MsgPack<User>>(key("json")).await,
            Err(Error::Value(ValueError::WrongFlags { .. }))
        ));
        assert!(matches!(
            c.get_as::<Json<Other>>(key("json")).await,
            Err(Error::Value(ValueError::Undecodable { .. }))
        ));
        assert!(matches!(
            c.get_as::<MsgPack<Other>>(key("msgpack")).await,
            Err(Error::Value(ValueError::Undecodable { .. }))
        ));
    }

    #[tokio::test]
    async fn garbage_under_serde_flags_is_undecodable() {
        let (c, key) = setup("typed-serde-garbage");
        let o = StoreOptions::default();
        c.set(key("j"), "{\"id\": 1, secret", o.flags(flags::JSON))
            .await
            .unwrap();
        let err = c.get_as::<Json<User>>(key("j")).await.unwrap_err();
        assert!(matches!(err, Error::Value(ValueError::Undecodable { .. })));
        assert!(!err.to_string().contains("secret"), "{err}");
        // Lengths of 4 GiB with nothing behind them must not be trusted.
        let garbage: [&[u8]; 6] = [
            b"",
            b"\xc1",
            b"\x92\x01",
            b"\xdd\xff\xff\xff\xff",
            b"\xdb\xff\xff\xff\xff",
            b"\xc6\xff\xff\xff\xff",
        ];
        for garbage in garbage {
            c.set(key("m"), garbage, o.flags(flags::MSGPACK))
                .await
                .unwrap();
            assert!(matches!(
                c.get_as::<MsgPack<User>>(key("m")).await,
                Err(Error::Value(ValueError::Undecodable { .. }))
            ));
        }
        // Trailing bytes after a whole value are refused too.
        let mut bytes = rmp_serde_bytes(7u32);
        bytes.push(0);
        c.set(key("m"), &bytes, o.flags(flags::MSGPACK))
            .await
            .unwrap();
        assert!(c.get_as::<MsgPack<u32>>(key("m")).await.is_err());
        // A JSON value the format cannot write is refused before sending.
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1);
        assert!(matches!(
            c.set_as(key("unencodable"), Json(&map), o).await,
            Err(Error::Value(ValueError::Unencodable { .. }))
        ));
        assert!(c.get(key("unencodable")).await.unwrap().is_none());
    }

    fn rmp_serde_bytes(n: u32) -> Vec<u8> {
        use memcache_client::ToValue;
        MsgPack(n).to_value().unwrap().bytes.into_owned()
    }
}
