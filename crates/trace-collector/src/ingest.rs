//! Turning a received request body into validated spans.
//!
//! Every check that can reject input lives here, before anything touches the
//! store: content type, content encoding, size before and after gzip
//! (decompression reads at most `limit + 1` bytes, so a gzip bomb costs no
//! more than the limit), JSON shape and span ids. A rejected batch changes
//! nothing.

use std::borrow::Cow;
use std::io::Read;

use axum::http::StatusCode;

use crate::model::{Span, SpanError};
use crate::otlp::{self, OtlpError};

/// Default limit on a request body, before and after decompression.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Why a request body was refused. Each maps to a 4xx status.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The body is over the size limit.
    #[error("request body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The decompressed body is over the size limit.
    #[error("decompressed request body exceeds the limit of {limit} bytes")]
    DecompressedTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A `Content-Encoding` other than identity, gzip or deflate.
    #[error("unsupported Content-Encoding {0:?}; send identity, gzip or deflate")]
    UnsupportedEncoding(String),
    /// A `Content-Type` the endpoint does not read.
    #[error("unsupported Content-Type {got:?}; expected {expected}")]
    UnsupportedContentType {
        /// The type sent.
        got: String,
        /// The type the endpoint reads.
        expected: &'static str,
    },
    /// The body did not decompress.
    #[error("could not decompress the {encoding} body: {source}")]
    Decompress {
        /// The `Content-Encoding` it was sent with.
        encoding: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The body could not be read.
    #[error("could not read the request body: {0}")]
    Read(String),
    /// The body is not a JSON array of Zipkin v2 spans.
    #[error("malformed Zipkin v2 JSON (expected an array of spans): {0}")]
    ZipkinJson(#[from] serde_json::Error),
    /// One span is invalid.
    #[error("span #{index} rejected: {source}")]
    BadSpan {
        /// Its position in the request, from 0.
        index: usize,
        /// What is wrong with it.
        source: SpanError,
    },
    /// The OTLP payload could not be decoded.
    #[error(transparent)]
    Otlp(#[from] OtlpError),
}

impl IngestError {
    /// The HTTP status the client should see.
    pub fn status(&self) -> StatusCode {
        match self {
            IngestError::TooLarge { .. } | IngestError::DecompressedTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            IngestError::UnsupportedEncoding(_) | IngestError::UnsupportedContentType { .. } => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// The payload formats the collector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Zipkin v2 JSON (`/api/v2/spans`).
    ZipkinJson,
    /// OTLP/HTTP protobuf (`/v1/traces`).
    OtlpProtobuf,
    /// OTLP/HTTP JSON (`/v1/traces`).
    OtlpJson,
}

/// The media type of a `Content-Type` value, lowercased, without parameters.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Format of a body posted to `/api/v2/spans`. Zipkin treats a missing
/// content type as JSON, so this does too.
pub fn zipkin_format(content_type: Option<&str>) -> Result<Format, IngestError> {
    match content_type.map(media_type).as_deref() {
        None | Some("") | Some("application/json") => Ok(Format::ZipkinJson),
        Some(other) => Err(IngestError::UnsupportedContentType {
            got: other.to_owned(),
            expected: "application/json (Zipkin v2 JSON)",
        }),
    }
}

/// Format of a body posted to `/v1/traces`.
pub fn otlp_format(content_type: Option<&str>) -> Result<Format, IngestError> {
    match content_type.map(media_type).as_deref() {
        Some("application/x-protobuf") | Some("application/protobuf") => Ok(Format::OtlpProtobuf),
        Some("application/json") => Ok(Format::OtlpJson),
        other => Err(IngestError::UnsupportedContentType {
            got: other.unwrap_or("(none)").to_owned(),
            expected: "application/x-protobuf or application/json (OTLP)",
        }),
    }
}

/// Undoes `Content-Encoding`, refusing output larger than `limit`; an
/// uncompressed body is passed through without a copy.
pub fn decode_body<'a>(
    body: &'a [u8],
    content_encoding: Option<&str>,
    limit: usize,
) -> Result<Cow<'a, [u8]>, IngestError> {
    if body.len() > limit {
        return Err(IngestError::TooLarge { limit });
    }
    let encoding = content_encoding
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match encoding.as_str() {
        "" | "identity" => Ok(Cow::Borrowed(body)),
        "gzip" | "x-gzip" => inflate(flate2::read::GzDecoder::new(body), "gzip", limit),
        "deflate" => inflate(flate2::read::ZlibDecoder::new(body), "deflate", limit),
        _ => Err(IngestError::UnsupportedEncoding(encoding)),
    }
}

fn inflate(
    decoder: impl Read,
    encoding: &'static str,
    limit: usize,
) -> Result<Cow<'static, [u8]>, IngestError> {
    let mut out = Vec::new();
    // One byte past the limit is enough to know the limit was exceeded.
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    decoder
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|source| IngestError::Decompress { encoding, source })?;
    if out.len() > limit {
        return Err(IngestError::DecompressedTooLarge { limit });
    }
    Ok(Cow::Owned(out))
}

/// Parses and validates a decoded body in the given format.
pub fn parse_spans(body: &[u8], format: Format) -> Result<Vec<Span>, IngestError> {
    let raw = match format {
        Format::ZipkinJson => serde_json::from_slice::<Vec<Span>>(body)?,
        Format::OtlpProtobuf => otlp::spans_from_protobuf(body)?,
        Format::OtlpJson => otlp::spans_from_json(body)?,
    };
    raw.into_iter()
        .enumerate()
        .map(|(index, span)| {
            span.normalize()
                .map_err(|source| IngestError::BadSpan { index, source })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn content_types() {
        assert_eq!(zipkin_format(None).unwrap(), Format::ZipkinJson);
        assert_eq!(
            zipkin_format(Some("application/json; charset=utf-8")).unwrap(),
            Format::ZipkinJson
        );
        assert!(zipkin_format(Some("application/x-thrift")).is_err());
        assert_eq!(
            otlp_format(Some("application/x-protobuf")).unwrap(),
            Format::OtlpProtobuf
        );
        assert_eq!(
            otlp_format(Some("Application/JSON")).unwrap(),
            Format::OtlpJson
        );
        assert_eq!(
            otlp_format(None).unwrap_err().status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }

    #[test]
    fn gzip_round_trip_and_bomb_guard() {
        let data = vec![b'a'; 10_000];
        let packed = gzip(&data);
        assert_eq!(decode_body(&packed, Some("gzip"), 10_000).unwrap(), data);
        let err = decode_body(&packed, Some("gzip"), 9_999).unwrap_err();
        assert!(matches!(
            err,
            IngestError::DecompressedTooLarge { limit: 9_999 }
        ));
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn raw_size_and_bad_encodings() {
        assert!(matches!(
            decode_body(&[0; 11], None, 10),
            Err(IngestError::TooLarge { .. })
        ));
        assert!(matches!(
            decode_body(b"x", Some("br"), 10),
            Err(IngestError::UnsupportedEncoding(_))
        ));
        assert!(matches!(
            decode_body(b"not gzip", Some("gzip"), 100),
            Err(IngestError::Decompress { .. })
        ));
    }

    #[test]
    fn a_bad_span_rejects_the_batch() {
        let body = br#"[{"traceId":"01","id":"02"},{"traceId":"nothex","id":"03"}]"#;
        let err = parse_spans(body, Format::ZipkinJson).unwrap_err();
        assert!(
            matches!(err, IngestError::BadSpan { index: 1, .. }),
            "{err}"
        );
        assert!(parse_spans(b"{\"traceId\":\"01\"}", Format::ZipkinJson).is_err());
    }
}
