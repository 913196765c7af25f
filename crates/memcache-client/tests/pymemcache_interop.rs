//! Rust and Python programs sharing a cache: values this client writes
//! with `set_as` are read by pymemcache 4.0 (default serde,
//! `pymemcache.serde.pickle_serde`) as the same Python objects, and values
//! pymemcache writes are read back by `get_as` as the same Rust values.
//!
//! Needs `python3` with pymemcache (`cargo xtask test` installs it;
//! `MCC_PYTHON` names another interpreter). Without it the tests fail,
//! unless `MCC_SKIP_PYMEMCACHE=1` says to skip them.

mod common;

use std::path::PathBuf;
use std::process::Command;

use bytes::Bytes;
use memcache_client::{Error, StoreOptions, ValueError};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/pymemcache_values.py")
}

/// The interpreter to use, or `None` when skipping was asked for.
fn python() -> Option<String> {
    let python = std::env::var("MCC_PYTHON").unwrap_or_else(|_| "python3".into());
    let version = Command::new(&python).arg(script()).arg("version").output();
    match version {
        Ok(out) if out.status.success() => {
            eprintln!(
                "pymemcache {} via {python}",
                String::from_utf8_lossy(&out.stdout).trim()
            );
            Some(python)
        }
        _ if std::env::var("MCC_SKIP_PYMEMCACHE").as_deref() == Ok("1") => {
            eprintln!("skipped: no pymemcache for {python} and MCC_SKIP_PYMEMCACHE=1");
            None
        }
        other => panic!(
            "{python} cannot import pymemcache ({other:?}): `pip install pymemcache==4.0.0`, \
             run through `cargo xtask test`, name an interpreter with MCC_PYTHON, \
             or set MCC_SKIP_PYMEMCACHE=1 to skip these tests"
        ),
    }
}

fn run_python(python: &str, args: &[&str]) -> String {
    let out = Command::new(python)
        .arg(script())
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn python_reads_what_rust_wrote_as_the_same_objects() {
    let Some(python) = python() else { return };
    let c = common::shared_client();
    let prefix = common::prefix("py-reads");
    let o = StoreOptions::default();
    let text = "héllo wörld ✓";
    let key = |name: &str| format!("{prefix}{name}");
    c.set_as(key("str"), text, o).await.unwrap();
    c.set_as(key("empty_str"), "", o).await.unwrap();
    c.set_as(key("bytes"), &b"\x00\xff\r\n"[..], o)
        .await
        .unwrap();
    c.set_as(key("empty_bytes"), Vec::<u8>::new(), o)
        .await
        .unwrap();
    c.set_as(key("Bytes"), Bytes::from_static(b"b"), o)
        .await
        .unwrap();
    c.set_as(key("int"), 42u8, o).await.unwrap();
    c.set_as(key("negative"), i64::MIN, o).await.unwrap();
    c.set_as(key("big"), u128::MAX, o).await.unwrap();

    let expected = [
        ("str", "str", hex(text.as_bytes())),
        ("empty_str", "str", String::new()),
        ("bytes", "bytes", "00ff0d0a".to_string()),
        ("empty_bytes", "bytes", String::new()),
        ("Bytes", "bytes", "62".to_string()),
        ("int", "int", "42".to_string()),
        ("negative", "int", i64::MIN.to_string()),
        ("big", "int", u128::MAX.to_string()),
        ("absent", "miss", String::new()),
    ];
    let addr = common::shared_addr().to_string();
    let keys: Vec<String> = expected.iter().map(|(name, ..)| key(name)).collect();
    let mut args = vec!["read", addr.as_str()];
    args.extend(keys.iter().map(String::as_str));
    let output = run_python(&python, &args);
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{output}");
    for ((name, kind, payload), line) in expected.iter().zip(lines) {
        assert_eq!(line, format!("{}\t{kind}\t{payload}", key(name)), "{name}");
    }
}

#[tokio::test]
async fn rust_reads_what_python_wrote_as_the_same_values() {
    let Some(python) = python() else { return };
    let c = common::shared_client();
    let prefix = common::prefix("rust-reads");
    let key = |name: &str| format!("{prefix}{name}");
    let addr = common::shared_addr().to_string();
    run_python(&python, &["write", &addr, &prefix]);

    assert_eq!(
        c.get_as::<String>(key("str")).await.unwrap().as_deref(),
        Some("héllo wörld ✓")
    );
    assert_eq!(
        c.get_as::<String>(key("empty_str"))
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    assert_eq!(
        c.get_as::<Vec<u8>>(key("bytes")).await.unwrap(),
        Some(b"\x00\xff\r\n".to_vec())
    );
    assert_eq!(
        c.get_as::<Bytes>(key("empty_bytes")).await.unwrap(),
        Some(Bytes::new())
    );
    assert_eq!(c.get_as::<i32>(key("int")).await.unwrap(), Some(42));
    assert_eq!(c.get_as::<i64>(key("negative")).await.unwrap(), Some(-7));
    assert_eq!(c.get_as::<u128>(key("big")).await.unwrap(), Some(1 << 100));
    // Too big for the type asked for: undecodable, not truncated.
    assert!(matches!(
        c.get_as::<u64>(key("big")).await,
        Err(Error::Value(ValueError::Undecodable { .. }))
    ));
    // Pickled Python objects are refused by flags, not misread.
    for name in ["float", "list"] {
        assert!(
            matches!(
                c.get_as::<String>(key(name)).await,
                Err(Error::Value(ValueError::WrongFlags { found: 1, .. }))
            ),
            "{name}"
        );
    }
    // And a type mix-up is caught: a Python str is not Rust bytes.
    assert!(c.get_as::<Vec<u8>>(key("str")).await.is_err());
    assert!(c.get_as::<u32>(key("str")).await.is_err());
}

/// JSON and MessagePack values (feature `serde`) use flags pymemcache's
/// default deserializer does not interpret: Python gets their bytes as
/// they are, ready for `json.loads` or `msgpack.unpackb`.
#[cfg(feature = "serde")]
#[tokio::test]
async fn python_gets_serde_values_as_their_bytes() {
    use memcache_client::{Json, MsgPack, ToValue};
    let Some(python) = python() else { return };
    let c = common::shared_client();
    let prefix = common::prefix("py-serde");
    let key = |name: &str| format!("{prefix}{name}");
    let value = (1u8, "two", [3.5f64]);
    let o = StoreOptions::default();
    c.set_as(key("json"), Json(value), o).await.unwrap();
    c.set_as(key("msgpack"), MsgPack(value), o).await.unwrap();
    let addr = common::shared_addr().to_string();
    let output = run_python(&python, &["read", &addr, &key("json"), &key("msgpack")]);
    let json = Json(value).to_value().unwrap().bytes.into_owned();
    let msgpack = MsgPack(value).to_value().unwrap().bytes.into_owned();
    assert_eq!(&json[..], br#"[1,"two",[3.5]]"#);
    assert_eq!(
        output,
        format!(
            "{}\tbytes\t{}\n{}\tbytes\t{}\n",
            key("json"),
            hex(&json),
            key("msgpack"),
            hex(&msgpack)
        )
    );
}
