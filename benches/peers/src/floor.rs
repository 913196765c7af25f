//! The floor: hand-written blocking `std::net::TcpStream` loops that write
//! the raw request and read exactly to the end of the response. Nothing can
//! be cheaper per operation on the same kernel and server, so every system
//! is reported as a ratio to it.

use std::io::{IoSlice, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::system::{expect_hit, timed, timed_threads, BenchError, System};
use crate::workload::{concurrent_is_set, concurrent_key, Data, Workload, POOL_SIZE};

/// One blocking connection speaking the text protocol.
pub struct RawConn {
    stream: TcpStream,
    request: Vec<u8>,
    buf: Vec<u8>,
}

impl RawConn {
    pub fn connect(addr: SocketAddr) -> Result<RawConn, BenchError> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(RawConn {
            stream,
            request: Vec::with_capacity(4096),
            buf: vec![0; 16 * 1024],
        })
    }

    /// `get k1 k2 ...` in one write; returns how many values came back.
    pub fn get(&mut self, keys: &[&str]) -> Result<usize, BenchError> {
        get_request(&mut self.request, keys);
        self.stream.write_all(&self.request)?;
        let (mut scan, mut filled) = (RetrievalScan::default(), 0);
        loop {
            if let Some(values) = scan.advance(&self.buf[..filled])? {
                return Ok(values);
            }
            filled += self.fill(filled)?;
        }
    }

    /// `set key 0 0 n` with the value in one vectored write; expects `STORED`.
    pub fn set(&mut self, key: &str, value: &[u8]) -> Result<(), BenchError> {
        set_header(&mut self.request, key, value.len());
        let mut slices = [
            IoSlice::new(&self.request),
            IoSlice::new(value),
            IoSlice::new(b"\r\n"),
        ];
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            let n = self.stream.write_vectored(slices)?;
            if n == 0 {
                return Err(BenchError::Protocol("write returned 0".into()));
            }
            IoSlice::advance_slices(&mut slices, n);
        }
        let mut filled = 0;
        loop {
            if let Some(eol) = find_crlf(&self.buf[..filled]) {
                return expect_stored(&self.buf[..eol]);
            }
            filled += self.fill(filled)?;
        }
    }

    /// Reads more bytes after `filled`, growing the buffer when full.
    fn fill(&mut self, filled: usize) -> Result<usize, BenchError> {
        grow_if_full(&mut self.buf, filled);
        match self.stream.read(&mut self.buf[filled..])? {
            0 => Err(closed()),
            n => Ok(n),
        }
    }
}

/// `get k1 k2 ...\r\n` into `out`.
pub fn get_request(out: &mut Vec<u8>, keys: &[&str]) {
    out.clear();
    out.extend_from_slice(b"get");
    for key in keys {
        out.push(b' ');
        out.extend_from_slice(key.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// `set <key> 0 0 <len>\r\n` into `out` (the value follows it).
pub fn set_header(out: &mut Vec<u8>, key: &str, len: usize) {
    out.clear();
    out.extend_from_slice(b"set ");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b" 0 0 ");
    out.extend_from_slice(len.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The reply line of a `set`, without CRLF: `STORED` or an error.
pub fn expect_stored(line: &[u8]) -> Result<(), BenchError> {
    if line == b"STORED" {
        Ok(())
    } else {
        Err(BenchError::Protocol(format!(
            "set answered {:?}",
            String::from_utf8_lossy(line)
        )))
    }
}

/// A read buffer that is full doubles, so the next read has room.
pub fn grow_if_full(buf: &mut Vec<u8>, filled: usize) {
    if filled == buf.len() {
        buf.resize(buf.len() * 2, 0);
    }
}

pub fn closed() -> BenchError {
    BenchError::Protocol("server closed the connection".into())
}

/// How far a retrieval reply (`VALUE` blocks up to `END`) has arrived:
/// the bytes already walked and the values in them.
#[derive(Default)]
pub struct RetrievalScan {
    pos: usize,
    values: usize,
}

impl RetrievalScan {
    /// Walks what `buf` (the reply so far) adds; `Some(values)` at `END`.
    pub fn advance(&mut self, buf: &[u8]) -> Result<Option<usize>, BenchError> {
        while let Some(eol) = find_crlf(&buf[self.pos..]) {
            let line = &buf[self.pos..self.pos + eol];
            if line == b"END" {
                return Ok(Some(self.values));
            }
            let block = eol + 2 + value_len(line)? + 2;
            if buf.len() - self.pos < block {
                break;
            }
            self.pos += block;
            self.values += 1;
        }
        Ok(None)
    }
}

pub fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

/// The byte count of a `VALUE <key> <flags> <bytes>` line.
fn value_len(line: &[u8]) -> Result<usize, BenchError> {
    let bad = || {
        BenchError::Protocol(format!(
            "unexpected line {:?}",
            String::from_utf8_lossy(line)
        ))
    };
    if !line.starts_with(b"VALUE ") {
        return Err(bad());
    }
    let last = line.rsplit(|&b| b == b' ').next().ok_or_else(bad)?;
    std::str::from_utf8(last)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)
}

/// The floor as a [`System`]. For the concurrent workload it runs
/// [`POOL_SIZE`] blocking threads, each on its own connection: the most
/// direct way to keep that many requests in flight.
pub struct Floor {
    addr: SocketAddr,
    conn: RawConn,
    data: Arc<Data>,
}

impl Floor {
    pub const NAME: &'static str = "floor: blocking std TcpStream";

    pub fn new(addr: SocketAddr, data: Arc<Data>) -> Result<Floor, BenchError> {
        Ok(Floor {
            addr,
            conn: RawConn::connect(addr)?,
            data,
        })
    }
}

impl System for Floor {
    fn name(&self) -> &str {
        Floor::NAME
    }

    fn run(&mut self, workload: Workload, ops: usize) -> Result<Duration, BenchError> {
        let data = &*self.data;
        let conn = &mut self.conn;
        let name = Floor::NAME;
        let elapsed = match workload {
            Workload::SeqGet => timed(ops, |_| expect_hit(name, conn.get(&[&data.get_key])? == 1))?,
            Workload::SeqSet => timed(ops, |i| {
                conn.set(&data.set_keys[i % data.set_keys.len()], &data.small_value)
            })?,
            Workload::GetMany => {
                let keys: Vec<&str> = data.many_keys.iter().map(String::as_str).collect();
                timed(ops, |_| expect_hit(name, conn.get(&keys)? == keys.len()))?
            }
            Workload::Concurrent => concurrent(self.addr, &self.data, ops)?,
            Workload::LargeGet => timed(ops, |_| {
                expect_hit(name, conn.get(&[&data.large_key])? == 1)
            })?,
            Workload::LargeSet => timed(ops, |_| conn.set(&data.large_key, &data.large_value))?,
        };
        Ok(elapsed)
    }
}

/// [`POOL_SIZE`] threads with a connection each share `ops` operations.
fn concurrent(addr: SocketAddr, data: &Data, ops: usize) -> Result<Duration, BenchError> {
    let conns = (0..POOL_SIZE)
        .map(|_| RawConn::connect(addr).map(Mutex::new))
        .collect::<Result<Vec<_>, _>>()?;
    timed_threads(POOL_SIZE, |t| {
        // Each thread locks only its own connection: never contended.
        let mut conn = conns[t]
            .lock()
            .map_err(|_| BenchError::Protocol("poisoned".into()))?;
        for i in (t..ops).step_by(POOL_SIZE) {
            let key = concurrent_key(data, i);
            if concurrent_is_set(i) {
                conn.set(key, &data.small_value)?;
            } else {
                expect_hit(Floor::NAME, conn.get(&[key])? == 1)?;
            }
        }
        Ok(())
    })
}
