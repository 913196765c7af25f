//! Peer: libmemcached 1.1 (C), the client behind pylibmc and PHP's
//! `memcached` extension, through a small C shim (`csrc/libmemcached_shim.c`,
//! compiled by `build.rs`): blocking, text protocol, `TCP_NODELAY` on, one
//! `memcached_st` per thread.
//!
//! Sequential workloads: one `memcached_get` / `memcached_set` per
//! operation on one handle (the value `memcached_get` returns is freed by
//! the shim); `get_many`: `memcached_mget` and a `memcached_fetch_result`
//! loop counting the values.
//!
//! Concurrent workload: [`POOL_SIZE`] OS threads, each with its own
//! `memcached_st` (its own connection), sharing the operations the way the
//! floor's threads do. That is how libmemcached is deployed (a handle per
//! PHP worker or per Python thread), the same number of connections the
//! pooled clients may open, and the floor's shape. It is also the peer's
//! best thread count: pinned to one CPU like `cargo xtask bench`, 4, 8,
//! 16, 32 and 64 threads (a handle each) ran about 52.5k, 55.5k, 55.5k,
//! 54.5k and 52k ops/s. 64 threads sharing a `memcached_pool` of 16
//! handles would add a mutex and condition variable per checkout to the
//! 64-thread figure. So the peer gets its best configuration, as the other
//! peers get theirs.

use std::ffi::{c_char, c_int, CStr, CString};
use std::net::SocketAddr;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::system::{expect_hit, timed, timed_threads, BenchError, System};
use crate::workload::{concurrent_is_set, concurrent_key, Data, Workload, POOL_SIZE};

pub const NAME: &str = "peer: libmemcached 1.1 (C)";

/// The shim's handle (a `memcached_st` and a reusable result), opaque here.
#[repr(C)]
struct LmcHandle {
    _private: [u8; 0],
}

extern "C" {
    fn lmc_new(host: *const c_char, port: u16, rc: *mut c_int) -> *mut LmcHandle;
    fn lmc_free(handle: *mut LmcHandle);
    fn lmc_strerror(handle: *const LmcHandle, rc: c_int) -> *const c_char;
    fn lmc_lib_version() -> *const c_char;
    fn lmc_get(
        handle: *mut LmcHandle,
        key: *const c_char,
        key_len: usize,
        found: *mut c_int,
        value_len: *mut usize,
    ) -> c_int;
    fn lmc_set(
        handle: *mut LmcHandle,
        key: *const c_char,
        key_len: usize,
        value: *const c_char,
        value_len: usize,
    ) -> c_int;
    fn lmc_get_many(
        handle: *mut LmcHandle,
        keys: *const *const c_char,
        key_lens: *const usize,
        n: usize,
        values: *mut usize,
    ) -> c_int;
}

/// One libmemcached handle with one connection; owned, so used by one
/// thread at a time.
struct Conn {
    handle: NonNull<LmcHandle>,
}

// SAFETY: a `memcached_st` may be used from any thread as long as only one
// uses it at a time (libmemcached's threading rule); `Conn` is not `Sync`
// and every call takes `&mut self`, so only its one owner (or the holder of
// the `Mutex` around it) calls into it.
unsafe impl Send for Conn {}

impl Conn {
    fn connect(addr: SocketAddr) -> Result<Conn, BenchError> {
        let host = CString::new(addr.ip().to_string()).map_err(|e| BenchError::system(NAME, e))?;
        let mut rc: c_int = 0;
        // SAFETY: `host` is a NUL-terminated string that outlives the call;
        // `rc` is a valid place for the shim to write to.
        let handle = unsafe { lmc_new(host.as_ptr(), addr.port(), &mut rc) };
        match NonNull::new(handle) {
            Some(handle) => Ok(Conn { handle }),
            None => Err(failure(None, rc, "connect")),
        }
    }

    /// A get of one key; whether it hit.
    fn get(&mut self, key: &str) -> Result<bool, BenchError> {
        let (mut found, mut len): (c_int, usize) = (0, 0);
        // SAFETY: the handle is live (dropped only with `self`) and used by
        // this thread alone (`&mut self`); the key pointer and length
        // describe a live `&str` (libmemcached reads `key_len` bytes and
        // needs no NUL); `found` and `len` are valid places to write to.
        let rc = unsafe {
            lmc_get(
                self.handle.as_ptr(),
                key.as_ptr().cast(),
                key.len(),
                &mut found,
                &mut len,
            )
        };
        self.check(rc, "get")?;
        Ok(found != 0)
    }

    fn set(&mut self, key: &str, value: &[u8]) -> Result<(), BenchError> {
        // SAFETY: as in `get`; the value pointer and length describe a live
        // slice, which libmemcached only reads.
        let rc = unsafe {
            lmc_set(
                self.handle.as_ptr(),
                key.as_ptr().cast(),
                key.len(),
                value.as_ptr().cast(),
                value.len(),
            )
        };
        self.check(rc, "set")
    }

    /// One multi-key get; how many values came back.
    fn get_many(&mut self, keys: &KeyList) -> Result<usize, BenchError> {
        let mut values = 0usize;
        // SAFETY: as in `get`; `keys.ptrs` and `keys.lens` have the same
        // length and point into `keys.owned`, alive for the call;
        // `values` is a valid place to write to.
        let rc = unsafe {
            lmc_get_many(
                self.handle.as_ptr(),
                keys.ptrs.as_ptr(),
                keys.lens.as_ptr(),
                keys.ptrs.len(),
                &mut values,
            )
        };
        self.check(rc, "get_many")?;
        Ok(values)
    }

    fn check(&self, rc: c_int, what: &str) -> Result<(), BenchError> {
        match rc {
            0 => Ok(()),
            rc => Err(failure(Some(self), rc, what)),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // SAFETY: the handle came from `lmc_new`, is freed only here, once,
        // and nothing uses it afterwards (`self` is going away).
        unsafe { lmc_free(self.handle.as_ptr()) }
    }
}

/// A bench error naming libmemcached's text for `rc`.
fn failure(conn: Option<&Conn>, rc: c_int, what: &str) -> BenchError {
    let handle = conn.map_or(std::ptr::null(), |c| c.handle.as_ptr().cast_const());
    // SAFETY: `handle` is null or a live handle; `lmc_strerror` returns a
    // static NUL-terminated string (or null, checked below) for any code.
    let text = unsafe {
        let text = lmc_strerror(handle, rc);
        if text.is_null() {
            "unknown error".into()
        } else {
            CStr::from_ptr(text).to_string_lossy()
        }
    };
    BenchError::system(NAME, format!("{what}: {text} (rc {rc})"))
}

/// The version of the linked libmemcached.
fn lib_version() -> String {
    // SAFETY: returns a pointer to a static NUL-terminated string (null
    // checked).
    unsafe {
        let version = lmc_lib_version();
        if version.is_null() {
            "?".to_string()
        } else {
            CStr::from_ptr(version).to_string_lossy().into_owned()
        }
    }
}

/// The keys of `memcached_mget` as C arrays of pointers and lengths,
/// prepared once (as a C caller would keep them).
struct KeyList {
    owned: Vec<String>,
    ptrs: Vec<*const c_char>,
    lens: Vec<usize>,
}

impl KeyList {
    fn new(keys: &[String]) -> KeyList {
        let owned = keys.to_vec();
        // A `String`'s heap buffer does not move when the `Vec` holding it
        // does, so the pointers stay valid for as long as `owned` lives.
        let ptrs = owned.iter().map(|k| k.as_ptr().cast()).collect();
        let lens = owned.iter().map(String::len).collect();
        KeyList { owned, ptrs, lens }
    }
}

pub struct Libmemcached {
    /// The handle of the sequential workloads.
    single: Conn,
    /// One handle per thread of the concurrent workload (each thread locks
    /// only its own: never contended).
    threads: Vec<Mutex<Conn>>,
    many_keys: KeyList,
    data: Arc<Data>,
}

impl Libmemcached {
    pub fn new(addr: SocketAddr, data: Arc<Data>) -> Result<Libmemcached, BenchError> {
        Ok(Libmemcached {
            single: Conn::connect(addr)?,
            threads: (0..POOL_SIZE)
                .map(|_| Conn::connect(addr).map(Mutex::new))
                .collect::<Result<_, _>>()?,
            many_keys: KeyList::new(&data.many_keys),
            data,
        })
    }
}

impl System for Libmemcached {
    fn name(&self) -> &str {
        NAME
    }

    fn run(&mut self, workload: Workload, ops: usize) -> Result<Duration, BenchError> {
        let data = &*self.data;
        let conn = &mut self.single;
        let elapsed = match workload {
            Workload::SeqGet => timed(ops, |_| expect_hit(NAME, conn.get(&data.get_key)?))?,
            Workload::SeqSet => timed(ops, |i| {
                conn.set(&data.set_keys[i % data.set_keys.len()], &data.small_value)
            })?,
            Workload::GetMany => {
                let keys = &self.many_keys;
                let wanted = keys.owned.len();
                timed(ops, |_| expect_hit(NAME, conn.get_many(keys)? == wanted))?
            }
            Workload::Concurrent => {
                let conns = &self.threads;
                timed_threads(conns.len(), |t| {
                    let mut conn = conns[t]
                        .lock()
                        .map_err(|_| BenchError::system(NAME, "poisoned"))?;
                    for i in (t..ops).step_by(conns.len()) {
                        let key = concurrent_key(data, i);
                        if concurrent_is_set(i) {
                            conn.set(key, &data.small_value)?;
                        } else {
                            expect_hit(NAME, conn.get(key)?)?;
                        }
                    }
                    Ok(())
                })?
            }
            Workload::LargeGet => timed(ops, |_| expect_hit(NAME, conn.get(&data.large_key)?))?,
            Workload::LargeSet => timed(ops, |_| conn.set(&data.large_key, &data.large_value))?,
        };
        Ok(elapsed)
    }

    fn notes(&self) -> Vec<String> {
        vec![format!(
            "{NAME}: libmemcached {} through a C shim; blocking, text protocol, TCP_NODELAY; \
             concurrent: {} OS threads with a memcached_st (connection) each, the floor's shape \
             and the peer's best thread count (8 to 32 equal, 4 and 64 slower by ~5%; a \
             memcached_pool checkout per call would only add locking)",
            lib_version(),
            self.threads.len()
        )]
    }
}
