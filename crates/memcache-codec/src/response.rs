//! Decoded responses.
//!
//! One [`Response`] is one item of the reply stream: a `get` answers with
//! zero or more [`Response::Value`] items then [`Response::End`], and `stats`
//! with [`Response::Stat`] items then `End`, so a large multi-get is handed
//! over item by item instead of being buffered whole.

use bytes::Bytes;

use crate::MetaReturnFlags;

/// One item of the server's reply stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// `VALUE <key> <flags> <bytes> [<cas>]` and its data block.
    Value(Value),
    /// `STAT <name> <value>`.
    Stat {
        /// The statistic's name.
        name: Bytes,
        /// Its value, as the server wrote it.
        value: Bytes,
    },
    /// `END`: the end of a retrieval or stats reply.
    End,
    /// `STORED`.
    Stored,
    /// `NOT_STORED`: the condition of `add`/`replace`/... did not hold.
    NotStored,
    /// `EXISTS`: a `cas` found the item changed.
    Exists,
    /// `NOT_FOUND`.
    NotFound,
    /// `DELETED`.
    Deleted,
    /// `TOUCHED`.
    Touched,
    /// `OK`.
    Ok,
    /// `RESET`, the answer to `stats reset`.
    Reset,
    /// The new value after `incr`/`decr`.
    Number(u64),
    /// `VERSION <version>`.
    Version(Bytes),
    /// `ERROR`: the server did not know the command.
    Error,
    /// `CLIENT_ERROR <message>`: the server rejected the request.
    ClientError(Bytes),
    /// `SERVER_ERROR <message>`: the server failed to carry it out.
    ServerError(Bytes),
    /// A meta reply: `VA`, `HD`, `EN`, `NF`, `NS`, `EX` or `MN`.
    Meta(MetaResponse),
    /// `ME <key> <name>=<value>...`: the reply to `me`.
    MetaDebug(Vec<(Bytes, Bytes)>),
}

/// One item of a retrieval reply. `key` and `data` are slices of the read
/// buffer: no copy is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    /// The item's key.
    pub key: Bytes,
    /// The client flags stored with it.
    pub flags: u32,
    /// Present for `gets` and `gats`.
    pub cas: Option<u64>,
    /// The value.
    pub data: Bytes,
}

/// The status code of a meta reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaStatus {
    /// `VA`: a value follows.
    Value,
    /// `HD`: success, no value.
    Header,
    /// `EN`: miss.
    Miss,
    /// `NF`: not found.
    NotFound,
    /// `NS`: not stored.
    NotStored,
    /// `EX`: CAS mismatch.
    Exists,
    /// `MN`: the answer to `mn`.
    Noop,
}

impl MetaStatus {
    /// The two-letter code the server sends (`VA`, `HD`, `EN`, ...).
    pub fn code(self) -> &'static str {
        match self {
            MetaStatus::Value => "VA",
            MetaStatus::Header => "HD",
            MetaStatus::Miss => "EN",
            MetaStatus::NotFound => "NF",
            MetaStatus::NotStored => "NS",
            MetaStatus::Exists => "EX",
            MetaStatus::Noop => "MN",
        }
    }
}

/// A meta reply with its return flags and, for `VA`, its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaResponse {
    /// The two-letter status.
    pub status: MetaStatus,
    /// The flags the server returned.
    pub flags: MetaReturnFlags,
    /// The value of a `VA` reply.
    pub value: Option<Bytes>,
}

impl Response {
    /// Writes the response as a server would. The client never needs this;
    /// it exists for test servers (fake and misbehaving ones) and for
    /// round-trip tests of the decoder.
    pub fn encode(&self, dst: &mut bytes::BytesMut) {
        use crate::request::put_u64;
        use bytes::BufMut;
        let status = |dst: &mut bytes::BytesMut, word: &[u8]| {
            dst.put_slice(word);
            dst.put_slice(b"\r\n");
        };
        match self {
            Response::Value(v) => {
                dst.put_slice(b"VALUE ");
                dst.put_slice(&v.key);
                dst.put_u8(b' ');
                put_u64(dst, u64::from(v.flags));
                dst.put_u8(b' ');
                put_u64(dst, v.data.len() as u64);
                if let Some(cas) = v.cas {
                    dst.put_u8(b' ');
                    put_u64(dst, cas);
                }
                dst.put_slice(b"\r\n");
                dst.put_slice(&v.data);
                dst.put_slice(b"\r\n");
            }
            Response::Stat { name, value } => {
                dst.put_slice(b"STAT ");
                dst.put_slice(name);
                dst.put_u8(b' ');
                dst.put_slice(value);
                dst.put_slice(b"\r\n");
            }
            Response::End => status(dst, b"END"),
            Response::Stored => status(dst, b"STORED"),
            Response::NotStored => status(dst, b"NOT_STORED"),
            Response::Exists => status(dst, b"EXISTS"),
            Response::NotFound => status(dst, b"NOT_FOUND"),
            Response::Deleted => status(dst, b"DELETED"),
            Response::Touched => status(dst, b"TOUCHED"),
            Response::Ok => status(dst, b"OK"),
            Response::Reset => status(dst, b"RESET"),
            Response::Error => status(dst, b"ERROR"),
            Response::Number(n) => {
                put_u64(dst, *n);
                dst.put_slice(b"\r\n");
            }
            Response::Version(v) => with_text(dst, b"VERSION ", v),
            Response::ClientError(m) => with_text(dst, b"CLIENT_ERROR ", m),
            Response::ServerError(m) => with_text(dst, b"SERVER_ERROR ", m),
            Response::Meta(m) => m.encode(dst),
            Response::MetaDebug(pairs) => {
                dst.put_slice(b"ME key");
                for (name, value) in pairs {
                    dst.put_u8(b' ');
                    dst.put_slice(name);
                    dst.put_u8(b'=');
                    dst.put_slice(value);
                }
                dst.put_slice(b"\r\n");
            }
        }
    }
}

fn with_text(dst: &mut bytes::BytesMut, word: &[u8], text: &[u8]) {
    use bytes::BufMut;
    dst.put_slice(word);
    dst.put_slice(text);
    dst.put_slice(b"\r\n");
}

impl MetaResponse {
    fn encode(&self, dst: &mut bytes::BytesMut) {
        use crate::request::put_u64;
        use bytes::BufMut;
        dst.put_slice(self.status.code().as_bytes());
        if let (MetaStatus::Value, Some(value)) = (self.status, &self.value) {
            dst.put_u8(b' ');
            put_u64(dst, value.len() as u64);
        }
        let f = &self.flags;
        let mut num = |flag: u8, v: Option<u64>| {
            if let Some(v) = v {
                dst.put_slice(&[b' ', flag]);
                put_u64(dst, v);
            }
        };
        num(b'c', f.cas);
        num(b'f', f.client_flags.map(u64::from));
        num(b'h', f.hit_before.map(u64::from));
        num(b'l', f.last_access);
        num(b'O', f.opaque.map(u64::from));
        num(b's', f.size);
        if let Some(ttl) = f.ttl {
            dst.put_slice(b" t");
            if ttl < 0 {
                dst.put_u8(b'-');
            }
            put_u64(dst, ttl.unsigned_abs());
        }
        if let Some(key) = &f.key {
            dst.put_slice(b" k");
            dst.put_slice(key);
        }
        for (on, flag) in [
            (f.base64_key, b'b'),
            (f.win, b'W'),
            (f.stale, b'X'),
            (f.already_won, b'Z'),
        ] {
            if on {
                dst.put_slice(&[b' ', flag]);
            }
        }
        dst.put_slice(b"\r\n");
        if let (MetaStatus::Value, Some(value)) = (self.status, &self.value) {
            dst.put_slice(value);
            dst.put_slice(b"\r\n");
        }
    }
}
