//! Build checks of `cargo xtask test` beyond the default build: every
//! crate's feature combinations, the packages outside the workspace, and
//! that each publishable crate packages.
//!
//! All of them stop at `cargo check` (or `cargo package --no-verify`): they
//! catch a missing `#[cfg]`, dependency feature, version or file without
//! building anything the tests do not already build.

use std::process::Command;

use crate::{cargo, run, target_dir, workspace_root};

/// Each crate's features (besides the defaults): `cargo check` runs with no
/// default features and with each one alone. One list, kept beside the
/// manifests' `[features]` tables it mirrors.
const FEATURES: &[(&str, &[&str])] = &[
    ("memcache-codec", &["tokio-codec"]),
    (
        "memcache-client",
        &["tls", "metrics", "metrics-bound", "serde"],
    ),
    ("sqrt-memo", &["otel", "memcache"]),
    ("traced-telemetry", &["testing", "tls"]),
    ("trace-collector", &[]),
    ("sqrt-demo", &[]),
    (
        "traced-memcache",
        &["codec", "client", "sqrt", "telemetry", "collector"],
    ),
];

/// Packages that are not workspace members (own `[workspace]`), checked
/// with their own lock files.
const OUTSIDE_WORKSPACE: &[&str] = &["fuzz", "benches/peers"];

/// `cargo check` of every crate with no default features and with each
/// feature alone.
pub fn feature_combinations() -> Result<(), String> {
    for (package, features) in FEATURES {
        let alone = features.iter().map(|feature| vec!["--features", feature]);
        for feature_args in std::iter::once(Vec::new()).chain(alone) {
            run(Command::new(cargo())
                .args(["check", "-q", "-p", package, "--no-default-features"])
                .args(feature_args))?;
        }
    }
    Ok(())
}

/// `cargo check` of the fuzz targets and the peers bench, in their own
/// target directories under ours (their lock files differ).
pub fn outside_workspace() -> Result<(), String> {
    let root = workspace_root();
    for dir in OUTSIDE_WORKSPACE {
        let target = target_dir().join(format!("check-{}", dir.replace('/', "-")));
        run(Command::new(cargo())
            .args(["check", "-q", "--all-targets", "--manifest-path"])
            .arg(root.join(dir).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target))?;
    }
    Ok(())
}

/// `cargo package --workspace --no-verify`: fails on a path dependency
/// without a version, a missing readme or license file, or bad metadata,
/// without compiling the packages again.
pub fn packaging() -> Result<(), String> {
    run(Command::new(cargo()).args([
        "package",
        "--workspace",
        "--no-verify",
        "--allow-dirty",
        "-q",
    ]))
}
