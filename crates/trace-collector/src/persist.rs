//! Optional span log: received spans appended to a JSON-lines file and
//! replayed into the store at start, so a restart keeps what was collected.
//!
//! At start the file is also compacted to the spans the store still holds
//! after eviction, so the file does not grow across restarts without bound.
//! A line that does not parse (say, half-written when the process died) is
//! skipped and counted rather than failing the start.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::model::Span;
use crate::store::Store;

/// A span log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("span log {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("span log {path}: could not encode span: {source}")]
    Encode {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// What replaying a span log found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub spans_read: usize,
    pub lines_skipped: usize,
}

/// An open span log that received spans are appended to.
#[derive(Debug)]
pub struct SpanLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl SpanLog {
    /// Replays `path` (if it exists) into `store`, rewrites it to hold just
    /// the retained spans, and opens it for appending.
    pub fn open(path: &Path, store: &mut Store) -> Result<(SpanLog, LoadReport), PersistError> {
        let report = replay(path, store)?;
        compact(path, store)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| io_error(path, source))?;
        let log = SpanLog {
            path: path.to_owned(),
            file: Mutex::new(file),
        };
        Ok((log, report))
    }

    /// Appends spans, one JSON object per line, in a single write.
    pub fn append(&self, spans: &[Span]) -> Result<(), PersistError> {
        let mut buf = Vec::new();
        for span in spans {
            serde_json::to_writer(&mut buf, span).map_err(|source| PersistError::Encode {
                path: self.path.clone(),
                source,
            })?;
            buf.push(b'\n');
        }
        // A panic elsewhere while holding the lock leaves the file usable.
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(&buf)
            .map_err(|source| io_error(&self.path, source))
    }

    /// Where the log lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn replay(path: &Path, store: &mut Store) -> Result<LoadReport, PersistError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LoadReport::default()),
        Err(source) => return Err(io_error(path, source)),
    };
    let mut report = LoadReport::default();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|source| io_error(path, source))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Span>(&line).map(Span::normalize) {
            Ok(Ok(span)) => {
                store.insert(span);
                report.spans_read += 1;
            }
            _ => report.lines_skipped += 1,
        }
    }
    Ok(report)
}

/// Rewrites the log with the store's spans via a temporary file and rename,
/// so a crash mid-way leaves the old log intact.
fn compact(path: &Path, store: &Store) -> Result<(), PersistError> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".compact");
    let tmp = PathBuf::from(tmp_name);
    let mut buf = Vec::new();
    for span in store.spans() {
        serde_json::to_writer(&mut buf, span).map_err(|source| PersistError::Encode {
            path: path.to_owned(),
            source,
        })?;
        buf.push(b'\n');
    }
    fs::write(&tmp, &buf).map_err(|source| io_error(&tmp, source))?;
    fs::rename(&tmp, path).map_err(|source| io_error(path, source))
}

fn io_error(path: &Path, source: std::io::Error) -> PersistError {
    PersistError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn span(trace: u64) -> Span {
        Span {
            trace_id: format!("{trace:016x}"),
            parent_id: None,
            id: "0000000000000001".into(),
            kind: None,
            name: Some("op".into()),
            timestamp: Some(trace),
            duration: Some(1),
            local_endpoint: None,
            remote_endpoint: None,
            annotations: Vec::new(),
            tags: BTreeMap::new(),
            debug: false,
            shared: false,
        }
    }

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "trace-collector-unit-{}-{name}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir.join("spans.jsonl")
    }

    #[test]
    fn spans_survive_reopen_and_bad_lines_are_skipped() {
        let path = temp_path("reopen");
        let _ = fs::remove_file(&path);
        {
            let mut store = Store::new(10, 10);
            let (log, report) = SpanLog::open(&path, &mut store).unwrap();
            assert_eq!(report, LoadReport::default());
            log.append(&[span(1), span(2)]).unwrap();
        }
        // A torn final line, as after a crash mid-write.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"traceId\":\"00").unwrap();
        drop(f);
        let mut store = Store::new(10, 10);
        let (_log, report) = SpanLog::open(&path, &mut store).unwrap();
        assert_eq!(
            report,
            LoadReport {
                spans_read: 2,
                lines_skipped: 1
            }
        );
        assert_eq!(store.stats().traces, 2);
        // Compaction dropped the torn line.
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 2);
    }

    #[test]
    fn compaction_keeps_only_what_the_cap_retains() {
        let path = temp_path("compact");
        let _ = fs::remove_file(&path);
        {
            let mut store = Store::new(100, 10);
            let (log, _) = SpanLog::open(&path, &mut store).unwrap();
            let spans: Vec<Span> = (1..=50).map(span).collect();
            log.append(&spans).unwrap();
        }
        let mut store = Store::new(5, 10);
        SpanLog::open(&path, &mut store).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 5);
        assert!(store.trace(&format!("{:016x}", 50)).is_some());
        assert!(store.trace(&format!("{:016x}", 45)).is_none());
    }
}
