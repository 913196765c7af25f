//! Large storage values sent without copying them into the write buffer.
//!
//! A `set` of a 100 KiB value used to copy the value into the connection's
//! write buffer before one write. Above [`VECTORED_VALUE_MIN`] only the
//! command line is encoded; the line, the caller's value and the closing
//! `\r\n` then go out in vectored writes. The line is written by the codec
//! ([`memcache_codec::ValidRequest::write_command_line`]).

use std::io::{self, IoSlice};

use memcache_codec::Request;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Values at least this large are written from the caller's slice; smaller
/// ones are cheaper to copy than to send as a separate buffer.
pub(crate) const VECTORED_VALUE_MIN: usize = 16 * 1024;

/// The value of a storage request large enough to be written on its own.
pub(crate) fn large_value<'a>(request: &Request<'a>) -> Option<&'a [u8]> {
    match *request {
        Request::Store { value, .. } | Request::Cas { value, .. }
            if value.len() >= VECTORED_VALUE_MIN =>
        {
            Some(value)
        }
        _ => None,
    }
}

/// Writes the command line, the value and `\r\n`, as few writes as the
/// stream allows (one `writev` on TCP and Unix sockets when the socket
/// buffer has room).
pub(crate) async fn write_line_value<W: AsyncWrite + Unpin>(
    w: &mut W,
    line: &[u8],
    value: &[u8],
) -> io::Result<()> {
    let mut parts = [
        IoSlice::new(line),
        IoSlice::new(value),
        IoSlice::new(b"\r\n"),
    ];
    let mut rest = &mut parts[..];
    while !rest.is_empty() {
        let n = w.write_vectored(rest).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, n);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use memcache_codec::{Limits, StoreCommand};

    fn requests(value: &[u8]) -> Vec<Request<'_>> {
        let mut all = Vec::new();
        for command in [
            StoreCommand::Set,
            StoreCommand::Add,
            StoreCommand::Replace,
            StoreCommand::Append,
            StoreCommand::Prepend,
        ] {
            for noreply in [false, true] {
                all.push(Request::Store {
                    command,
                    key: b"big:key",
                    flags: 4_294_967_295,
                    exptime: 60,
                    value,
                    noreply,
                });
            }
        }
        for noreply in [false, true] {
            all.push(Request::Cas {
                key: b"k",
                flags: 0,
                exptime: 0,
                value,
                cas: u64::MAX,
                noreply,
            });
        }
        all
    }

    #[test]
    fn line_value_and_crlf_equal_the_codec_encoding() {
        let value = vec![b'x'; VECTORED_VALUE_MIN + 3];
        let limits = Limits::default();
        for request in requests(&value) {
            assert_eq!(large_value(&request), Some(&value[..]));
            let mut whole = BytesMut::new();
            request.encode(&mut whole, &limits).unwrap();
            let mut line = BytesMut::new();
            request
                .validate(&limits)
                .unwrap()
                .write_command_line(&mut line);
            let mut joined = line.to_vec();
            joined.extend_from_slice(&value);
            joined.extend_from_slice(b"\r\n");
            assert_eq!(joined, whole.to_vec(), "{request:?}");
        }
    }

    #[test]
    fn small_values_and_bad_requests_take_the_normal_path() {
        assert_eq!(large_value(&requests(b"small")[0]), None);
        assert_eq!(large_value(&Request::Version), None);
        let value = vec![b'x'; VECTORED_VALUE_MIN];
        let bad = Request::Store {
            command: StoreCommand::Set,
            key: b"bad key",
            flags: 0,
            exptime: 0,
            value: &value,
            noreply: false,
        };
        assert!(bad.validate(&Limits::default()).is_err());
    }

    #[tokio::test]
    async fn vectored_write_sends_everything_in_order() {
        let (mut a, mut b) = tokio::io::duplex(1000);
        let value = vec![b'v'; 5000];
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut b, &mut all)
                .await
                .unwrap();
            all
        });
        write_line_value(&mut a, b"set k 0 0 5000\r\n", &value)
            .await
            .unwrap();
        drop(a);
        let all = reader.await.unwrap();
        let mut expected = b"set k 0 0 5000\r\n".to_vec();
        expected.extend_from_slice(&value);
        expected.extend_from_slice(b"\r\n");
        assert_eq!(all, expected);
    }
}
