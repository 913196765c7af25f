//! Requests beyond the limits end at once with one clear line and exit
//! status 2, before anything is allocated or a server is contacted (the
//! memcached address below has nothing listening: a limit that were checked
//! too late would show up as a connection error instead).

use std::process::{Command, Output};

fn demo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sqrt-demo"))
        .args(["--memcached", "127.0.0.1:1", "--exporter", "none"])
        .args(args)
        .output()
        .expect("run sqrt-demo")
}

fn assert_refused(args: &[&str], needle: &str) {
    let out = demo(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: one line, got {stderr}"
    );
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: printed {:?}", out.stdout);
}

#[test]
fn too_many_digits_are_refused() {
    assert_refused(
        &["--digits", "4294967295", "2"],
        "limit of 1000000 fractional digits",
    );
    assert_refused(
        &["--digits", "100000000", "2"],
        "limit of 1000000 fractional digits",
    );
}

#[test]
fn an_endless_numbers_file_is_refused() {
    assert_refused(&["--numbers-file", "/dev/zero"], "limit of 64 MiB");
}

#[test]
fn a_number_with_too_many_digits_is_refused() {
    let dir = std::env::temp_dir().join(format!("sqrt-demo-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.txt");
    std::fs::write(&path, "7".repeat(2_000_001)).unwrap();
    assert_refused(
        &["--numbers-file", path.to_str().unwrap()],
        "more than 2000000 digits",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
