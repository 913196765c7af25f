//! System packages the tasks need, installed with apt-get when missing.
//!
//! Only Debian/Ubuntu as root installs by itself; anywhere else the task
//! stops with a message naming the package to install.

use std::path::Path;
use std::process::Command;

/// A system dependency: how to tell it is present, and its Debian package.
struct Package {
    /// Files any one of which shows the package is installed (headers
    /// live under a multiarch directory on Debian).
    probes: &'static [&'static str],
    /// A command that, found on `PATH`, also shows it (a non-Debian install).
    command: Option<&'static str>,
    debian: &'static str,
}

impl Package {
    fn installed(&self) -> bool {
        self.probes.iter().any(|p| Path::new(p).exists()) || self.command.is_some_and(on_path)
    }
}

const MEMCACHED: Package = Package {
    probes: &["/usr/bin/memcached"],
    command: Some("memcached"),
    debian: "memcached",
};
const GMP_HEADERS: Package = Package {
    probes: &[
        "/usr/include/gmp.h",
        "/usr/include/x86_64-linux-gnu/gmp.h",
        "/usr/include/aarch64-linux-gnu/gmp.h",
    ],
    command: None,
    debian: "libgmp-dev",
};
/// libmemcached's headers and library, for the peers bench's libmemcached
/// system (its build script compiles a C shim against them and links
/// `-lmemcached`; `cargo xtask test` checks that crate, which runs the
/// build script too).
const LIBMEMCACHED_DEV: Package = Package {
    probes: &["/usr/include/libmemcached-1.0/memcached.h"],
    command: None,
    debian: "libmemcached-dev",
};
/// Headless browser for the trace viewer's end-to-end tests.
const CHROMIUM: Package = Package {
    probes: &["/usr/bin/chromium"],
    command: None,
    debian: "chromium",
};

/// WebDriver for the viewer tests that click, type and open files.
const CHROMEDRIVER: Package = Package {
    probes: &["/usr/bin/chromedriver"],
    command: Some("chromedriver"),
    debian: "chromium-driver",
};

/// What `cargo xtask demo` needs: memcached to run against, GMP headers
/// for the sqrt engine it builds (linked as a system library; nothing is
/// built from source, so no m4 or pkg-config).
pub fn ensure_run_packages() -> Result<(), String> {
    ensure(&[MEMCACHED, GMP_HEADERS])
}

/// What `cargo xtask bench` needs: the run packages, and libmemcached for
/// the peers bench's C peer.
pub fn ensure_bench_packages() -> Result<(), String> {
    ensure(&[MEMCACHED, GMP_HEADERS, LIBMEMCACHED_DEV])
}

/// Everything `cargo xtask test` needs (libmemcached: its build checks
/// compile the peers bench, C shim included).
pub fn ensure_test_packages() -> Result<(), String> {
    ensure(&[
        MEMCACHED,
        GMP_HEADERS,
        LIBMEMCACHED_DEV,
        CHROMIUM,
        CHROMEDRIVER,
    ])
}

fn ensure(packages: &[Package]) -> Result<(), String> {
    let missing: Vec<&Package> = packages.iter().filter(|p| !p.installed()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|p| p.debian).collect();
    if !Path::new("/usr/bin/apt-get").exists() || !memcached_harness::is_root() {
        return Err(format!(
            "missing system packages: {}; install them (Debian/Ubuntu: apt-get install {})",
            names.join(", "),
            names.join(" ")
        ));
    }
    eprintln!("xtask: installing {} with apt-get ...", names.join(" "));
    let update = Command::new("apt-get")
        .args(["update", "-q"])
        .status()
        .map_err(|e| format!("apt-get update: {e}"))?;
    if !update.success() {
        eprintln!("xtask: apt-get update failed ({update}); trying the install anyway");
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&names)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("apt-get install: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "apt-get install {} failed ({status})",
            names.join(" ")
        ))
    }
}

/// The pymemcache the client's interop tests (`tests/pymemcache_interop.rs`)
/// are checked against.
const PYMEMCACHE: &str = "pymemcache==4.0.0";

/// A Python that can import pymemcache, for the client's interop tests:
/// `python3` if it already can, else the venv at `venv`, created and given
/// pymemcache by pip once.
pub fn python_with_pymemcache(venv: &Path) -> Result<std::path::PathBuf, String> {
    let imports = |python: &std::ffi::OsStr| {
        Command::new(python)
            .args(["-c", "import pymemcache"])
            .output()
            .is_ok_and(|out| out.status.success())
    };
    if imports("python3".as_ref()) {
        return Ok("python3".into());
    }
    let python = venv.join("bin/python");
    if !imports(python.as_os_str()) {
        eprintln!("xtask: installing {PYMEMCACHE} into {}", venv.display());
        let run = |step: &mut Command| -> Result<(), String> {
            let status = step
                .status()
                .map_err(|e| format!("{step:?}: {e} (is python3 installed?)"))?;
            match status.success() {
                true => Ok(()),
                false => Err(format!("{step:?} failed ({status})")),
            }
        };
        run(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
        run(Command::new(&python).args(["-m", "pip", "install", "-q", PYMEMCACHE]))?;
    }
    Ok(python)
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}
