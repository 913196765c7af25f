//! Compiles the libmemcached shim (`csrc/libmemcached_shim.c`) and links
//! libmemcached (Debian: `libmemcached-dev`, which `cargo xtask bench` and
//! `cargo xtask test` install).

fn main() {
    println!("cargo:rerun-if-changed=csrc/libmemcached_shim.c");
    cc::Build::new()
        .file("csrc/libmemcached_shim.c")
        .opt_level(2)
        .warnings(true)
        .extra_warnings(true)
        .compile("libmemcached_shim");
    println!("cargo:rustc-link-lib=memcached");
}
