//! Every command's happy path and its normal "negative" outcomes, against
//! the shared real memcached.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{prefix, shared_client};
use memcache_client::{
    DeleteOutcome, Expiry, MetaArithmeticFlags, MetaDeleteFlags, MetaGetFlags, MetaRequest,
    MetaSetFlags, MetaSetMode, MetaStatus, StoreOptions, StoreOutcome, TouchOutcome,
};

#[tokio::test]
async fn set_get_roundtrip_with_flags() {
    let c = shared_client();
    let k = format!("{}k", prefix("roundtrip"));
    let opts = StoreOptions::default().flags(0xdead_beef);
    assert_eq!(
        c.set(&k, b"value", opts).await.unwrap(),
        StoreOutcome::Stored
    );
    let item = c.get(&k).await.unwrap().unwrap();
    assert_eq!(item.value, Bytes::from_static(b"value"));
    assert_eq!(item.flags, 0xdead_beef);
    assert_eq!(item.cas, None);
}

#[tokio::test]
async fn miss_is_none() {
    let c = shared_client();
    let k = format!("{}absent", prefix("miss"));
    assert_eq!(c.get(&k).await.unwrap(), None);
    assert_eq!(c.gets(&k).await.unwrap(), None);
}

#[tokio::test]
async fn empty_and_binary_values() {
    let c = shared_client();
    let p = prefix("binary");
    let binary: Vec<u8> = (0..=255u8).chain(*b"\r\nEND\r\n").collect();
    c.set(format!("{p}e"), b"", StoreOptions::default())
        .await
        .unwrap();
    c.set(format!("{p}b"), &binary, StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(
        c.get(format!("{p}e")).await.unwrap().unwrap().value.len(),
        0
    );
    assert_eq!(c.get(format!("{p}b")).await.unwrap().unwrap().value, binary);
}

#[tokio::test]
async fn add_and_replace_conditions() {
    let c = shared_client();
    let k = format!("{}k", prefix("addreplace"));
    let o = StoreOptions::default();
    assert_eq!(
        c.replace(&k, "x", o).await.unwrap(),
        StoreOutcome::NotStored
    );
    assert_eq!(c.add(&k, "1", o).await.unwrap(), StoreOutcome::Stored);
    assert_eq!(c.add(&k, "2", o).await.unwrap(), StoreOutcome::NotStored);
    assert_eq!(c.replace(&k, "3", o).await.unwrap(), StoreOutcome::Stored);
    assert_eq!(&c.get(&k).await.unwrap().unwrap().value[..], b"3");
}

#[tokio::test]
async fn append_and_prepend() {
    let c = shared_client();
    let k = format!("{}k", prefix("appendprepend"));
    let o = StoreOptions::default();
    assert_eq!(c.append(&k, "x", o).await.unwrap(), StoreOutcome::NotStored);
    assert_eq!(
        c.prepend(&k, "x", o).await.unwrap(),
        StoreOutcome::NotStored
    );
    c.set(&k, "mid", o).await.unwrap();
    assert_eq!(c.append(&k, ">", o).await.unwrap(), StoreOutcome::Stored);
    assert_eq!(c.prepend(&k, "<", o).await.unwrap(), StoreOutcome::Stored);
    assert_eq!(&c.get(&k).await.unwrap().unwrap().value[..], b"<mid>");
}

#[tokio::test]
async fn gets_and_cas_outcomes() {
    let c = shared_client();
    let k = format!("{}k", prefix("cas"));
    let o = StoreOptions::default();
    assert_eq!(c.cas(&k, "v", 1, o).await.unwrap(), StoreOutcome::NotFound);
    c.set(&k, "v1", o).await.unwrap();
    let token = c.gets(&k).await.unwrap().unwrap().cas.unwrap();
    assert_eq!(
        c.cas(&k, "v2", token, o).await.unwrap(),
        StoreOutcome::Stored
    );
    // The token is stale now.
    assert_eq!(
        c.cas(&k, "v3", token, o).await.unwrap(),
        StoreOutcome::Exists
    );
    assert_eq!(&c.get(&k).await.unwrap().unwrap().value[..], b"v2");
}

#[tokio::test]
async fn gat_and_gats_touch_while_reading() {
    let c = shared_client();
    let k = format!("{}k", prefix("gat"));
    let absent = format!("{k}-absent");
    c.set(&k, "v", StoreOptions::default()).await.unwrap();
    let ttl = Expiry::After(Duration::from_secs(100));
    assert_eq!(&c.gat(&k, ttl).await.unwrap().unwrap().value[..], b"v");
    let item = c.gats(&k, ttl).await.unwrap().unwrap();
    assert!(item.cas.is_some());
    assert_eq!(c.gat(&absent, ttl).await.unwrap(), None);
    // The new TTL is visible through the meta protocol.
    let flags = MetaGetFlags {
        return_ttl: true,
        ..Default::default()
    };
    let ttl_left = c.meta_get(&k, flags).await.unwrap().flags.ttl.unwrap();
    assert!((1..=100).contains(&ttl_left), "ttl {ttl_left}");
}

#[tokio::test]
async fn delete_outcomes() {
    let c = shared_client();
    let k = format!("{}k", prefix("delete"));
    c.set(&k, "v", StoreOptions::default()).await.unwrap();
    assert_eq!(c.delete(&k).await.unwrap(), DeleteOutcome::Deleted);
    assert_eq!(c.delete(&k).await.unwrap(), DeleteOutcome::NotFound);
    assert_eq!(c.get(&k).await.unwrap(), None);
}

#[tokio::test]
async fn incr_decr() {
    let c = shared_client();
    let k = format!("{}k", prefix("incr"));
    assert_eq!(c.incr(&k, 1).await.unwrap(), None);
    assert_eq!(c.decr(&k, 1).await.unwrap(), None);
    c.set(&k, "10", StoreOptions::default()).await.unwrap();
    assert_eq!(c.incr(&k, 5).await.unwrap(), Some(15));
    assert_eq!(c.decr(&k, 20).await.unwrap(), Some(0));
    assert_eq!(c.incr(&k, u64::MAX).await.unwrap(), Some(u64::MAX));
    assert_eq!(c.incr(&k, 1).await.unwrap(), Some(0));
}

#[tokio::test]
async fn incr_on_non_number_is_a_client_error() {
    let c = shared_client();
    let k = format!("{}k", prefix("incrnan"));
    c.set(&k, "not a number", StoreOptions::default())
        .await
        .unwrap();
    let err = c.incr(&k, 1).await.unwrap_err();
    assert_eq!(err.kind(), "client_error", "{err}");
    // The client still works afterwards.
    assert_eq!(
        &c.get(&k).await.unwrap().unwrap().value[..],
        b"not a number"
    );
}

#[tokio::test]
async fn touch_outcomes() {
    let c = shared_client();
    let k = format!("{}k", prefix("touch"));
    let ttl = Expiry::After(Duration::from_secs(60));
    assert_eq!(c.touch(&k, ttl).await.unwrap(), TouchOutcome::NotFound);
    c.set(&k, "v", StoreOptions::default()).await.unwrap();
    assert_eq!(c.touch(&k, ttl).await.unwrap(), TouchOutcome::Touched);
}

#[tokio::test]
async fn expiry_in_the_past_expires_at_once() {
    let c = shared_client();
    let k = format!("{}k", prefix("expired"));
    let past = Expiry::At(std::time::SystemTime::now() - Duration::from_secs(3600));
    let o = StoreOptions::default().expiry(past);
    assert_eq!(c.set(&k, "v", o).await.unwrap(), StoreOutcome::Stored);
    assert_eq!(c.get(&k).await.unwrap(), None);
    // A far-future absolute expiry keeps the item.
    let future = Expiry::After(Duration::from_secs(60 * 60 * 24 * 365));
    c.set(&k, "v", StoreOptions::default().expiry(future))
        .await
        .unwrap();
    assert!(c.get(&k).await.unwrap().is_some());
}

#[tokio::test]
async fn noreply_variants_take_effect() {
    let c = shared_client();
    let p = prefix("noreply");
    let (a, b) = (format!("{p}a"), format!("{p}b"));
    let o = StoreOptions::default().noreply();
    assert_eq!(c.set(&a, "5", o).await.unwrap(), StoreOutcome::NoReply);
    c.set(&b, "x", o).await.unwrap();
    c.incr_noreply(&a, 3).await.unwrap();
    c.decr_noreply(&a, 1).await.unwrap();
    c.touch_noreply(&a, Expiry::After(Duration::from_secs(60)))
        .await
        .unwrap();
    c.delete_noreply(&b).await.unwrap();
    // A normal request on the same connection sees all of them applied.
    assert_eq!(&c.get(&a).await.unwrap().unwrap().value[..], b"7");
    assert_eq!(c.get(&b).await.unwrap(), None);
}

#[tokio::test]
async fn get_many_one_round_trip() {
    let c = shared_client();
    let p = prefix("getmany");
    let keys: Vec<String> = (0..250).map(|i| format!("{p}{i}")).collect();
    for (i, k) in keys.iter().enumerate().filter(|(i, _)| i % 3 != 0) {
        c.set(k, format!("v{i}"), StoreOptions::default())
            .await
            .unwrap();
    }
    let found = c.get_many(&keys).await.unwrap();
    assert_eq!(found.len(), keys.len() - keys.len().div_ceil(3));
    for (i, k) in keys.iter().enumerate() {
        let got = found.get(k.as_bytes());
        if i % 3 == 0 {
            assert!(got.is_none());
        } else {
            assert_eq!(got.unwrap().value, format!("v{i}").into_bytes());
        }
    }
    let with_cas = c.gets_many(&keys[1..3]).await.unwrap();
    assert!(with_cas.values().all(|item| item.cas.is_some()));
    let none: &[&str] = &[];
    assert!(c.get_many(none).await.unwrap().is_empty());
}

#[tokio::test]
async fn set_many_and_delete_many_keep_input_order() {
    let c = shared_client();
    let p = prefix("setmany");
    let items: Vec<(String, String)> = (0..50)
        .map(|i| (format!("{p}{i}"), format!("v{i}")))
        .collect();
    let outcomes = c.set_many(&items, StoreOptions::default()).await.unwrap();
    assert_eq!(outcomes, vec![StoreOutcome::Stored; 50]);
    let keys: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(c.get_many(&keys).await.unwrap().len(), 50);
    let mut to_delete: Vec<String> = keys[..10].iter().map(|k| k.to_string()).collect();
    to_delete.push(format!("{p}absent"));
    let deleted = c.delete_many(&to_delete).await.unwrap();
    assert_eq!(&deleted[..10], &[DeleteOutcome::Deleted; 10]);
    assert_eq!(deleted[10], DeleteOutcome::NotFound);
    assert_eq!(c.get_many(&keys).await.unwrap().len(), 40);
}

#[tokio::test]
async fn stats_version_verbosity() {
    let c = shared_client();
    let versions = c.version().await.unwrap();
    assert_eq!(versions.len(), 1);
    assert!(versions[0].1.starts_with("1."), "{:?}", versions);
    let stats = c.stats(None).await.unwrap();
    assert!(stats[0].1.contains_key("curr_connections"));
    let settings = c.stats(Some("settings")).await.unwrap();
    assert!(settings[0].1.contains_key("maxbytes"));
    c.verbosity(0).await.unwrap();
}

#[tokio::test]
async fn quit_closes_idle_connections_and_client_goes_on() {
    let c = shared_client();
    let k = format!("{}k", prefix("quit"));
    c.set(&k, "v", StoreOptions::default()).await.unwrap();
    assert_eq!(c.idle_connections(), vec![1]);
    c.quit().await.unwrap();
    assert_eq!(c.idle_connections(), vec![0]);
    assert!(c.get(&k).await.unwrap().is_some());
}

#[tokio::test]
async fn meta_set_get_delete_arithmetic() {
    let c = shared_client();
    let p = prefix("meta");
    let k = format!("{p}k");
    let set = MetaSetFlags {
        client_flags: Some(42),
        ttl: Some(300),
        return_cas: true,
        ..Default::default()
    };
    let r = c.meta_set(&k, b"hello", set).await.unwrap();
    assert_eq!(r.status, MetaStatus::Header);
    let cas = r.flags.cas.unwrap();
    let get = MetaGetFlags {
        return_value: true,
        return_flags: true,
        return_cas: true,
        ..Default::default()
    };
    let r = c.meta_get(&k, get).await.unwrap();
    assert_eq!(r.status, MetaStatus::Value);
    assert_eq!(r.value.as_deref(), Some(&b"hello"[..]));
    assert_eq!(r.flags.client_flags, Some(42));
    assert_eq!(r.flags.cas, Some(cas));
    // Add mode on an existing key: NS.
    let add = MetaSetFlags {
        mode: Some(MetaSetMode::Add),
        ..Default::default()
    };
    assert_eq!(
        c.meta_set(&k, b"x", add).await.unwrap().status,
        MetaStatus::NotStored
    );
    // Compare-and-swap with a stale token: EX.
    let stale = MetaDeleteFlags {
        compare_cas: Some(cas + 1000),
        ..Default::default()
    };
    assert_eq!(
        c.meta_delete(&k, stale).await.unwrap().status,
        MetaStatus::Exists
    );
    assert_eq!(
        c.meta_delete(&k, MetaDeleteFlags::default())
            .await
            .unwrap()
            .status,
        MetaStatus::Header
    );
    assert_eq!(c.meta_get(&k, get).await.unwrap().status, MetaStatus::Miss);
    // Arithmetic with auto-create.
    let counter = format!("{p}counter");
    let ma = MetaArithmeticFlags {
        vivify: Some(60),
        initial: Some(10),
        return_value: true,
        ..Default::default()
    };
    let r = c.meta_arithmetic(&counter, ma).await.unwrap();
    assert_eq!(r.value.as_deref(), Some(&b"10"[..]));
    let r = c
        .meta_arithmetic(
            &counter,
            MetaArithmeticFlags {
                delta: Some(5),
                ..ma
            },
        )
        .await
        .unwrap();
    assert_eq!(r.value.as_deref(), Some(&b"15"[..]));
}

#[tokio::test]
async fn meta_binary_keys_via_base64() {
    let c = shared_client();
    let mut key = prefix("metab64").into_bytes();
    key.extend_from_slice(b" with space\r\n\x00");
    let set = MetaSetFlags {
        base64_key: true,
        ..Default::default()
    };
    assert_eq!(
        c.meta_set(&key, b"bin", set).await.unwrap().status,
        MetaStatus::Header
    );
    let get = MetaGetFlags {
        base64_key: true,
        return_value: true,
        ..Default::default()
    };
    assert_eq!(
        c.meta_get(&key, get).await.unwrap().value.as_deref(),
        Some(&b"bin"[..])
    );
}

#[tokio::test]
async fn meta_debug_reports_item_metadata() {
    let c = shared_client();
    let k = format!("{}k", prefix("metadebug"));
    assert_eq!(c.meta_debug(&k).await.unwrap(), None);
    c.set(&k, "12345", StoreOptions::default()).await.unwrap();
    let pairs = c.meta_debug(&k).await.unwrap().unwrap();
    assert!(pairs.iter().any(|(n, _)| &n[..] == b"size"), "{pairs:?}");
}

#[tokio::test]
async fn meta_pipeline_matches_replies_to_requests() {
    let c = shared_client();
    let p = prefix("metapipe");
    let (a, b, missing) = (format!("{p}a"), format!("{p}b"), format!("{p}missing"));
    let quiet_set = MetaSetFlags {
        quiet: true,
        ..Default::default()
    };
    let get = MetaGetFlags {
        return_value: true,
        ..Default::default()
    };
    let quiet_get = MetaGetFlags { quiet: true, ..get };
    let requests = [
        MetaRequest::Set {
            key: a.as_bytes(),
            value: b"1",
            flags: quiet_set,
        },
        MetaRequest::Set {
            key: b.as_bytes(),
            value: b"2",
            flags: MetaSetFlags::default(),
        },
        MetaRequest::Get {
            key: missing.as_bytes(),
            flags: quiet_get,
        },
        MetaRequest::Get {
            key: a.as_bytes(),
            flags: quiet_get,
        },
        MetaRequest::Get {
            key: missing.as_bytes(),
            flags: get,
        },
        MetaRequest::Delete {
            key: b.as_bytes(),
            flags: MetaDeleteFlags::default(),
        },
    ];
    let replies = c.meta_pipeline(&requests).await.unwrap();
    assert_eq!(replies.len(), 6);
    assert!(replies[0].is_none(), "quiet set success is silent");
    assert_eq!(replies[1].as_ref().unwrap().status, MetaStatus::Header);
    assert!(replies[2].is_none(), "quiet miss is silent");
    assert_eq!(
        replies[3].as_ref().unwrap().value.as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(replies[4].as_ref().unwrap().status, MetaStatus::Miss);
    assert_eq!(replies[5].as_ref().unwrap().status, MetaStatus::Header);
}

/// Values above the vectored-write threshold (written from the caller's
/// slice, not copied into the write buffer) arrive whole: set, append, cas
/// and a `noreply` set followed by a normal call on the same connection.
#[tokio::test]
async fn large_values_written_vectored_roundtrip() {
    let c = shared_client();
    let k = format!("{}k", prefix("large-vectored"));
    let value: Vec<u8> = (0..100 * 1024).map(|i| (i % 251) as u8).collect();
    let opts = StoreOptions::default().flags(7);
    assert_eq!(c.set(&k, &value, opts).await.unwrap(), StoreOutcome::Stored);
    let item = c.gets(&k).await.unwrap().unwrap();
    assert_eq!(&item.value[..], &value[..]);
    assert_eq!(item.flags, 7);

    let tail = vec![b'z'; 20 * 1024];
    assert_eq!(
        c.append(&k, &tail, StoreOptions::default()).await.unwrap(),
        StoreOutcome::Stored
    );
    let mut expected = value.clone();
    expected.extend_from_slice(&tail);
    let item = c.gets(&k).await.unwrap().unwrap();
    assert_eq!(&item.value[..], &expected[..]);

    let replaced = vec![b'c'; 64 * 1024];
    let cas = item.cas.unwrap();
    assert_eq!(
        c.cas(&k, &replaced, cas, StoreOptions::default())
            .await
            .unwrap(),
        StoreOutcome::Stored
    );
    assert_eq!(
        c.cas(&k, &replaced, cas, StoreOptions::default())
            .await
            .unwrap(),
        StoreOutcome::Exists
    );
    assert_eq!(&c.get(&k).await.unwrap().unwrap().value[..], &replaced[..]);

    let quiet = vec![b'q'; 30 * 1024];
    c.set(&k, &quiet, StoreOptions::default().noreply())
        .await
        .unwrap();
    assert_eq!(&c.get(&k).await.unwrap().unwrap().value[..], &quiet[..]);
}
