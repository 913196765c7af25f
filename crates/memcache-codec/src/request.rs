//! Requests and their encoding to the wire.
//!
//! [`Request::encode`] validates the whole request before writing a byte, so
//! on error the output buffer is exactly as it was: a bad key in the middle
//! of a pipeline cannot leave half a command behind.

use base64::Engine as _;
use bytes::{BufMut, BytesMut};

use crate::key::is_token;
use crate::{
    validate_key, EncodeError, KeyError, Limits, MetaArithmeticFlags, MetaDeleteFlags,
    MetaGetFlags, MetaSetFlags, MAX_KEY_LEN,
};

/// Room reserved for a storage line besides its key: the command word, the
/// numbers, `noreply` and `\r\n` of a typical line (a hint, not a bound).
const LINE_RESERVE: usize = 72;

/// The storage commands that share one wire form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreCommand {
    /// `set`: store unconditionally.
    Set,
    /// `add`: store only if the key is absent.
    Add,
    /// `replace`: store only if the key is present.
    Replace,
    /// `append`: add the value after the stored one.
    Append,
    /// `prepend`: add the value before the stored one.
    Prepend,
}

impl StoreCommand {
    fn name(self) -> &'static str {
        match self {
            StoreCommand::Set => "set",
            StoreCommand::Add => "add",
            StoreCommand::Replace => "replace",
            StoreCommand::Append => "append",
            StoreCommand::Prepend => "prepend",
        }
    }
}

/// One memcached request. Keys and values are borrowed: encoding copies them
/// once, into the output buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `get <key>*`: values without CAS.
    Get {
        /// The keys, in reply order.
        keys: &'a [&'a [u8]],
    },
    /// `gets <key>*`: values with their CAS.
    Gets {
        /// The keys, in reply order.
        keys: &'a [&'a [u8]],
    },
    /// `gat <exptime> <key>*`: get and touch.
    Gat {
        /// The new expiry.
        exptime: u32,
        /// The keys, in reply order.
        keys: &'a [&'a [u8]],
    },
    /// `gats <exptime> <key>*`: get and touch, with CAS.
    Gats {
        /// The new expiry.
        exptime: u32,
        /// The keys, in reply order.
        keys: &'a [&'a [u8]],
    },
    /// `set`/`add`/`replace`/`append`/`prepend`.
    Store {
        /// Which storage command.
        command: StoreCommand,
        /// The item's key.
        key: &'a [u8],
        /// Opaque client flags stored with the value.
        flags: u32,
        /// Expiry (seconds, or a Unix time beyond 30 days; 0: never).
        exptime: u32,
        /// The value.
        value: &'a [u8],
        /// Ask the server not to answer.
        noreply: bool,
    },
    /// `cas`: store only if the item's CAS is still `cas`.
    Cas {
        /// The item's key.
        key: &'a [u8],
        /// Opaque client flags stored with the value.
        flags: u32,
        /// Expiry (seconds, or a Unix time beyond 30 days; 0: never).
        exptime: u32,
        /// The value.
        value: &'a [u8],
        /// The CAS read by `gets`.
        cas: u64,
        /// Ask the server not to answer.
        noreply: bool,
    },
    /// `delete <key>`.
    Delete {
        /// The item's key.
        key: &'a [u8],
        /// Ask the server not to answer.
        noreply: bool,
    },
    /// `incr <key> <delta>`.
    Incr {
        /// The item's key.
        key: &'a [u8],
        /// Added to the stored decimal number (wrapping at 2^64).
        delta: u64,
        /// Ask the server not to answer.
        noreply: bool,
    },
    /// `decr <key> <delta>`.
    Decr {
        /// The item's key.
        key: &'a [u8],
        /// Subtracted from the stored decimal number (stopping at 0).
        delta: u64,
        /// Ask the server not to answer.
        noreply: bool,
    },
    /// `touch <key> <exptime>`.
    Touch {
        /// The item's key.
        key: &'a [u8],
        /// The new expiry.
        exptime: u32,
        /// Ask the server not to answer.
        noreply: bool,
    },
    /// `stats` or `stats <arg>` (for example `items`, `slabs`, `settings`).
    Stats {
        /// The statistics group; `None` for the general ones.
        arg: Option<&'a str>,
    },
    /// `version`.
    Version,
    /// `flush_all [delay]`: invalidate every item.
    FlushAll {
        /// Seconds until the flush takes effect.
        delay: Option<u32>,
        /// Ask the server not to answer.
        noreply: bool,
    },
    /// `verbosity <level>`.
    Verbosity {
        /// The server's log level.
        level: u32,
        /// Ask the server not to answer.
        noreply: bool,
    },
    /// `quit`: the server closes the connection, unanswered.
    Quit,
    /// `mg <key> <flags>*`: meta get.
    MetaGet {
        /// The item's key.
        key: &'a [u8],
        /// What to return and how (see [`MetaGetFlags`]).
        flags: MetaGetFlags,
    },
    /// `ms <key> <datalen> <flags>*`: meta set.
    MetaSet {
        /// The item's key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
        /// Mode, CAS, TTL and what to return (see [`MetaSetFlags`]).
        flags: MetaSetFlags,
    },
    /// `md <key> <flags>*`: meta delete.
    MetaDelete {
        /// The item's key.
        key: &'a [u8],
        /// CAS, invalidation and what to return (see [`MetaDeleteFlags`]).
        flags: MetaDeleteFlags,
    },
    /// `ma <key> <flags>*`: meta arithmetic.
    MetaArithmetic {
        /// The item's key.
        key: &'a [u8],
        /// Mode, delta, auto-vivify and what to return (see
        /// [`MetaArithmeticFlags`]).
        flags: MetaArithmeticFlags,
    },
    /// `mn`: answered by `MN`, marks the end of a pipeline of quiet requests.
    MetaNoop,
    /// `me <key>`: the item's metadata as `key=value` pairs.
    MetaDebug {
        /// The item's key.
        key: &'a [u8],
        /// The key is sent base64-encoded (binary keys).
        base64_key: bool,
    },
}

impl<'a> Request<'a> {
    /// Appends the request to `dst`, or returns why it cannot be sent and
    /// leaves `dst` untouched.
    pub fn encode(&self, dst: &mut BytesMut, limits: &Limits) -> Result<(), EncodeError> {
        self.validate(limits)?.write(dst);
        Ok(())
    }

    /// The command as it is written on the wire (`get`, `set`, `mg`, ...).
    pub fn command_name(&self) -> &'static str {
        match *self {
            Request::Get { .. } => "get",
            Request::Gets { .. } => "gets",
            Request::Gat { .. } => "gat",
            Request::Gats { .. } => "gats",
            Request::Store { command, .. } => command.name(),
            Request::Cas { .. } => "cas",
            Request::Delete { .. } => "delete",
            Request::Incr { .. } => "incr",
            Request::Decr { .. } => "decr",
            Request::Touch { .. } => "touch",
            Request::Stats { .. } => "stats",
            Request::Version => "version",
            Request::FlushAll { .. } => "flush_all",
            Request::Verbosity { .. } => "verbosity",
            Request::Quit => "quit",
            Request::MetaGet { .. } => "mg",
            Request::MetaSet { .. } => "ms",
            Request::MetaDelete { .. } => "md",
            Request::MetaArithmetic { .. } => "ma",
            Request::MetaNoop => "mn",
            Request::MetaDebug { .. } => "me",
        }
    }

    /// The opaque (`O`) token of a meta request, which its reply echoes.
    pub fn opaque(&self) -> Option<u32> {
        match self {
            Request::MetaGet { flags, .. } => flags.opaque,
            Request::MetaSet { flags, .. } => flags.opaque,
            Request::MetaDelete { flags, .. } => flags.opaque,
            Request::MetaArithmetic { flags, .. } => flags.opaque,
            _ => None,
        }
    }

    /// Whether the server will answer this request (false for `noreply`
    /// forms and `quit`). Quiet meta requests answer only on some outcomes,
    /// which the caller tracks with a trailing `mn`.
    pub fn expects_reply(&self) -> bool {
        match *self {
            Request::Store { noreply, .. }
            | Request::Cas { noreply, .. }
            | Request::Delete { noreply, .. }
            | Request::Incr { noreply, .. }
            | Request::Decr { noreply, .. }
            | Request::Touch { noreply, .. }
            | Request::FlushAll { noreply, .. }
            | Request::Verbosity { noreply, .. } => !noreply,
            Request::Quit => false,
            _ => true,
        }
    }

    /// Checks the request without encoding it: exactly what
    /// [`Request::encode`] would refuse (bad keys, values over
    /// `limits.max_value_len`, ...). Lets a caller refuse a whole batch
    /// before sending any part of it, then write each part later through
    /// the returned [`ValidRequest`] without checking it again.
    pub fn validate(&self, limits: &Limits) -> Result<ValidRequest<'a>, EncodeError> {
        let value_ok = |value: &[u8]| {
            if value.len() > limits.max_value_len {
                Err(EncodeError::ValueTooLarge {
                    len: value.len(),
                    limit: limits.max_value_len,
                })
            } else {
                Ok(())
            }
        };
        match *self {
            Request::Get { keys }
            | Request::Gets { keys }
            | Request::Gat { keys, .. }
            | Request::Gats { keys, .. } => {
                if keys.is_empty() {
                    return Err(EncodeError::NoKeys);
                }
                keys.iter().try_for_each(|k| validate_key(k))?;
            }
            Request::Store { key, value, .. } | Request::Cas { key, value, .. } => {
                validate_key(key)?;
                value_ok(value)?;
            }
            Request::Delete { key, .. }
            | Request::Incr { key, .. }
            | Request::Decr { key, .. }
            | Request::Touch { key, .. } => validate_key(key)?,
            Request::Stats { arg } => {
                if let Some(arg) = arg {
                    let ok = arg.split(' ').all(|t| is_token(t.as_bytes()));
                    if !ok {
                        return Err(EncodeError::InvalidArgument(
                            "stats argument must be space-separated printable tokens",
                        ));
                    }
                }
            }
            Request::Version
            | Request::FlushAll { .. }
            | Request::Verbosity { .. }
            | Request::Quit
            | Request::MetaNoop => {}
            Request::MetaGet { key, flags } => validate_meta_key(key, flags.base64_key)?,
            Request::MetaSet { key, value, flags } => {
                validate_meta_key(key, flags.base64_key)?;
                value_ok(value)?;
            }
            Request::MetaDelete { key, flags } => validate_meta_key(key, flags.base64_key)?,
            Request::MetaArithmetic { key, flags } => validate_meta_key(key, flags.base64_key)?,
            Request::MetaDebug { key, base64_key } => validate_meta_key(key, base64_key)?,
        }
        Ok(ValidRequest(*self))
    }

    /// Writes the whole request: its command line, then the data block
    /// (value and `\r\n`) of a request that carries a value.
    fn write(&self, dst: &mut BytesMut) {
        match *self {
            Request::Store { key, value, .. }
            | Request::Cas { key, value, .. }
            | Request::MetaSet { key, value, .. } => {
                // One reservation for line and value: a large value is copied
                // once, not again on each regrowth of `dst`.
                dst.reserve(LINE_RESERVE + key.len() + value.len());
                self.write_head(dst);
                dst.put_slice(value);
                dst.put_slice(b"\r\n");
            }
            _ => self.write_head(dst),
        }
    }

    /// Writes everything before the data block: the command line of a
    /// request carrying a value, any other request whole.
    fn write_head(&self, dst: &mut BytesMut) {
        match *self {
            Request::Get { keys } => write_retrieval(dst, b"get", None, keys),
            Request::Gets { keys } => write_retrieval(dst, b"gets", None, keys),
            Request::Gat { exptime, keys } => write_retrieval(dst, b"gat", Some(exptime), keys),
            Request::Gats { exptime, keys } => write_retrieval(dst, b"gats", Some(exptime), keys),
            Request::Store {
                command,
                key,
                flags,
                exptime,
                value,
                noreply,
            } => write_storage_line(
                dst,
                command.name().as_bytes(),
                key,
                flags,
                exptime,
                value.len(),
                None,
                noreply,
            ),
            Request::Cas {
                key,
                flags,
                exptime,
                value,
                cas,
                noreply,
            } => write_storage_line(
                dst,
                b"cas",
                key,
                flags,
                exptime,
                value.len(),
                Some(cas),
                noreply,
            ),
            Request::Delete { key, noreply } => {
                write_line(dst, b"delete", key, &[], noreply);
            }
            Request::Incr {
                key,
                delta,
                noreply,
            } => write_line(dst, b"incr", key, &[delta], noreply),
            Request::Decr {
                key,
                delta,
                noreply,
            } => write_line(dst, b"decr", key, &[delta], noreply),
            Request::Touch {
                key,
                exptime,
                noreply,
            } => write_line(dst, b"touch", key, &[u64::from(exptime)], noreply),
            Request::Stats { arg } => {
                dst.put_slice(b"stats");
                if let Some(arg) = arg {
                    dst.put_u8(b' ');
                    dst.put_slice(arg.as_bytes());
                }
                dst.put_slice(b"\r\n");
            }
            Request::Version => dst.put_slice(b"version\r\n"),
            Request::FlushAll { delay, noreply } => {
                dst.put_slice(b"flush_all");
                if let Some(delay) = delay {
                    dst.put_u8(b' ');
                    put_u64(dst, u64::from(delay));
                }
                end_line(dst, noreply);
            }
            Request::Verbosity { level, noreply } => {
                dst.put_slice(b"verbosity ");
                put_u64(dst, u64::from(level));
                end_line(dst, noreply);
            }
            Request::Quit => dst.put_slice(b"quit\r\n"),
            Request::MetaGet { key, flags } => {
                put_meta_key(dst, b"mg ", key, flags.base64_key);
                flags.write(dst);
                dst.put_slice(b"\r\n");
            }
            Request::MetaSet { key, value, flags } => {
                write_meta_set_line(dst, key, value.len(), &flags)
            }
            Request::MetaDelete { key, flags } => {
                put_meta_key(dst, b"md ", key, flags.base64_key);
                flags.write(dst);
                dst.put_slice(b"\r\n");
            }
            Request::MetaArithmetic { key, flags } => {
                put_meta_key(dst, b"ma ", key, flags.base64_key);
                flags.write(dst);
                dst.put_slice(b"\r\n");
            }
            Request::MetaNoop => dst.put_slice(b"mn\r\n"),
            Request::MetaDebug { key, base64_key } => {
                put_meta_key(dst, b"me ", key, base64_key);
                if base64_key {
                    dst.put_slice(b" b");
                }
                dst.put_slice(b"\r\n");
            }
        }
    }
}

/// A request that passed [`Request::validate`]; only such a request can be
/// written without checks, so validating early (before a connection is
/// taken) and writing later costs one validation, not two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidRequest<'a>(Request<'a>);

impl<'a> ValidRequest<'a> {
    /// The request.
    pub fn request(&self) -> &Request<'a> {
        &self.0
    }

    /// Appends the whole request to `dst`.
    pub fn write(&self, dst: &mut BytesMut) {
        self.0.write(dst);
    }

    /// Appends everything before the data block: for a request carrying a
    /// value (`set`...`prepend`, `cas`, `ms`) the caller then sends the value
    /// and `\r\n` itself (a vectored write of a large value, with no copy);
    /// any other request is written whole.
    pub fn write_command_line(&self, dst: &mut BytesMut) {
        self.0.write_head(dst);
    }
}

/// A binary key (any bytes) is sent base64-encoded; the encoded form must
/// still fit memcached's key limit.
fn validate_meta_key(key: &[u8], base64_key: bool) -> Result<(), EncodeError> {
    if !base64_key {
        return Ok(validate_key(key)?);
    }
    if key.is_empty() {
        return Err(KeyError::Empty.into());
    }
    let encoded_len = b64_len(key.len());
    if encoded_len > MAX_KEY_LEN {
        return Err(KeyError::TooLong { len: encoded_len }.into());
    }
    Ok(())
}

/// Length of `len` bytes in padded base64.
fn b64_len(len: usize) -> usize {
    len.div_ceil(3) * 4
}

fn put_meta_key(dst: &mut BytesMut, command: &[u8], key: &[u8], base64_key: bool) {
    dst.put_slice(command);
    if base64_key {
        let start = dst.len();
        let encoded_len = b64_len(key.len());
        dst.resize(start + encoded_len, 0);
        // The buffer is exactly the encoded length, so this cannot fail;
        // were it to, no zero bytes would be left behind in the request.
        let written = base64::engine::general_purpose::STANDARD
            .encode_slice(key, &mut dst[start..])
            .unwrap_or(0);
        debug_assert_eq!(written, encoded_len);
        dst.truncate(start + written);
    } else {
        dst.put_slice(key);
    }
}

fn write_retrieval(dst: &mut BytesMut, command: &[u8], exptime: Option<u32>, keys: &[&[u8]]) {
    let len: usize = keys.iter().map(|k| k.len() + 1).sum();
    dst.reserve(command.len() + 12 + len + 2);
    dst.put_slice(command);
    if let Some(exptime) = exptime {
        dst.put_u8(b' ');
        put_u64(dst, u64::from(exptime));
    }
    for key in keys {
        dst.put_u8(b' ');
        dst.put_slice(key);
    }
    dst.put_slice(b"\r\n");
}

#[allow(clippy::too_many_arguments)]
fn write_storage_line(
    dst: &mut BytesMut,
    command: &[u8],
    key: &[u8],
    flags: u32,
    exptime: u32,
    value_len: usize,
    cas: Option<u64>,
    noreply: bool,
) {
    dst.put_slice(command);
    dst.put_u8(b' ');
    dst.put_slice(key);
    dst.put_u8(b' ');
    put_u64(dst, u64::from(flags));
    dst.put_u8(b' ');
    put_u64(dst, u64::from(exptime));
    dst.put_u8(b' ');
    put_u64(dst, value_len as u64);
    if let Some(cas) = cas {
        dst.put_u8(b' ');
        put_u64(dst, cas);
    }
    end_line(dst, noreply);
}

fn write_meta_set_line(dst: &mut BytesMut, key: &[u8], value_len: usize, flags: &MetaSetFlags) {
    put_meta_key(dst, b"ms ", key, flags.base64_key);
    dst.put_u8(b' ');
    put_u64(dst, value_len as u64);
    flags.write(dst);
    dst.put_slice(b"\r\n");
}

fn write_line(dst: &mut BytesMut, command: &[u8], key: &[u8], numbers: &[u64], noreply: bool) {
    dst.put_slice(command);
    dst.put_u8(b' ');
    dst.put_slice(key);
    for &n in numbers {
        dst.put_u8(b' ');
        put_u64(dst, n);
    }
    end_line(dst, noreply);
}

fn end_line(dst: &mut BytesMut, noreply: bool) {
    if noreply {
        dst.put_slice(b" noreply");
    }
    dst.put_slice(b"\r\n");
}

pub(crate) fn put_u64(dst: &mut BytesMut, n: u64) {
    let mut buf = itoa::Buffer::new();
    dst.put_slice(buf.format(n).as_bytes());
}
