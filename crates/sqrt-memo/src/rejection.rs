//! Why a stored value under our key was not trusted (recorded on the span as
//! `sqrt.corrupt.reason`, then treated as a miss and overwritten).

use std::fmt;

use crate::error::FormatError;

/// A value found under our key that must not be returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Header, checksum or layout wrong: corrupt, truncated or foreign.
    Format(FormatError),
    /// An empty value with no single-flight flags: not ours.
    Empty,
    /// A chunk named by the manifest is gone (evicted or expired).
    MissingChunk(u32),
    /// The assembled chunks do not match the manifest's length or checksum.
    ChunksMismatch(&'static str),
    /// The chunks held a manifest instead of a root.
    NestedManifest,
    /// The root failed `r^2 <= n*10^2d < (r+1)^2`.
    WrongRoot,
}

impl Rejection {
    /// A short, bounded name for metrics.
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Rejection::Format(_) => "format",
            Rejection::Empty => "empty",
            Rejection::MissingChunk(_) => "missing_chunk",
            Rejection::ChunksMismatch(_) => "chunks_mismatch",
            Rejection::NestedManifest => "nested_manifest",
            Rejection::WrongRoot => "wrong_root",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Format(e) => write!(f, "{e}"),
            Rejection::Empty => f.write_str("empty value"),
            Rejection::MissingChunk(i) => write!(f, "missing chunk {i}"),
            Rejection::ChunksMismatch(what) => write!(f, "chunks do not match manifest: {what}"),
            Rejection::NestedManifest => f.write_str("chunks hold a manifest"),
            Rejection::WrongRoot => f.write_str("root fails verification"),
        }
    }
}

impl From<FormatError> for Rejection {
    fn from(e: FormatError) -> Self {
        Rejection::Format(e)
    }
}
