//! Optional span log: received spans appended to a JSON-lines file and
//! replayed into the store at start, so a restart keeps what was collected.
//!
//! The file stays bounded like the store: at start, and whenever it has grown
//! to more than twice the spans the store holds (at least
//! [`MIN_LINES_BEFORE_COMPACTION`]), it is rewritten to just the retained spans.
//! Appending and storing a batch happen under the log's lock, and compaction
//! takes that lock too, so a compacted file never misses a stored span.
//! A line that does not parse (say, half-written when the process died) is
//! skipped and counted rather than failing the start.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::model::Span;
use crate::store::Store;

/// The log is never compacted while it has fewer lines than this.
pub const MIN_LINES_BEFORE_COMPACTION: usize = 10_000;

/// A span log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// Reading or writing the file failed.
    #[error("span log {path}: {source}")]
    Io {
        /// The span log.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// A span could not be encoded as JSON.
    #[error("span log {path}: could not encode span: {source}")]
    Encode {
        /// The span log.
        path: PathBuf,
        /// The encoding error.
        source: serde_json::Error,
    },
}

/// What replaying a span log found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Spans stored from the log.
    pub spans_read: usize,
    /// Lines that were not a valid span (for example a torn last line).
    pub lines_skipped: usize,
}

#[derive(Debug)]
struct OpenLog {
    file: File,
    /// Lines in the file, to decide when to compact.
    lines: usize,
}

/// An open span log that received spans are appended to.
#[derive(Debug)]
pub struct SpanLog {
    path: PathBuf,
    open: Mutex<OpenLog>,
}

impl SpanLog {
    /// Replays `path` (if it exists) into `store`, rewrites it to hold just
    /// the retained spans, and opens it for appending.
    pub fn open(path: &Path, store: &mut Store) -> Result<(SpanLog, LoadReport), PersistError> {
        let report = replay(path, store)?;
        let spans: Vec<&Span> = store.spans().collect();
        rewrite(path, &spans)?;
        let log = SpanLog {
            path: path.to_owned(),
            open: Mutex::new(OpenLog {
                file: open_append(path)?,
                lines: spans.len(),
            }),
        };
        Ok((log, report))
    }

    fn lock(&self) -> MutexGuard<'_, OpenLog> {
        // A panic elsewhere while holding the lock leaves the file usable.
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends spans, one JSON object per line, in a single write, then runs
    /// `store` (which puts them in memory) before releasing the log.
    pub fn append_then<T>(
        &self,
        spans: &[Span],
        store: impl FnOnce() -> T,
    ) -> (Result<(), PersistError>, T) {
        let mut open = self.lock();
        let written = encode(&self.path, spans.iter()).and_then(|buf| {
            open.file
                .write_all(&buf)
                .map_err(|source| io_error(&self.path, source))
        });
        if written.is_ok() {
            open.lines += spans.len();
        }
        (written, store())
    }

    /// Appends spans (the store is not involved; see [`SpanLog::append_then`]).
    pub fn append(&self, spans: &[Span]) -> Result<(), PersistError> {
        self.append_then(spans, || ()).0
    }

    /// Rewrites the log to the store's spans if it has grown to more than
    /// twice their number. Returns whether it compacted.
    pub fn compact_if_grown(&self, store: &std::sync::RwLock<Store>) -> Result<bool, PersistError> {
        let mut open = self.lock();
        let store = store.read().unwrap_or_else(|p| p.into_inner());
        let held = store.stats().spans;
        if open.lines <= MIN_LINES_BEFORE_COMPACTION.max(held.saturating_mul(2)) {
            return Ok(false);
        }
        let spans: Vec<&Span> = store.spans().collect();
        rewrite(&self.path, &spans)?;
        open.file = open_append(&self.path)?;
        open.lines = spans.len();
        Ok(true)
    }

    /// Lines currently in the file.
    pub fn lines(&self) -> usize {
        self.lock().lines
    }

    /// Where the log lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn encode<'a>(path: &Path, spans: impl Iterator<Item = &'a Span>) -> Result<Vec<u8>, PersistError> {
    let mut buf = Vec::new();
    for span in spans {
        serde_json::to_writer(&mut buf, span).map_err(|source| PersistError::Encode {
            path: path.to_owned(),
            source,
        })?;
        buf.push(b'\n');
    }
    Ok(buf)
}

fn open_append(path: &Path) -> Result<File, PersistError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| io_error(path, source))
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

/// Replaces the log's contents via a temporary file and rename, so a crash
/// mid-way leaves the old log intact.
fn rewrite(path: &Path, spans: &[&Span]) -> Result<(), PersistError> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".compact");
    let tmp = PathBuf::from(tmp_name);
    let buf = encode(path, spans.iter().copied())?;
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

    fn span(trace: u64) -> Span {
        Span {
            trace_id: format!("{trace:016x}"),
            id: "0000000000000001".into(),
            name: Some("op".into()),
            timestamp: Some(trace),
            duration: Some(1),
            ..Span::default()
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

    #[test]
    fn a_long_run_compacts_the_log_to_the_store() {
        let path = temp_path("running");
        let _ = fs::remove_file(&path);
        let store = std::sync::RwLock::new(Store::new(3, 10));
        let log = {
            let mut guard = store.write().unwrap();
            SpanLog::open(&path, &mut guard).unwrap().0
        };
        let total = MIN_LINES_BEFORE_COMPACTION as u64 + 7;
        for trace in 1..=total {
            let (written, ()) = log.append_then(&[span(trace)], || {
                store.write().unwrap().insert(span(trace));
            });
            written.unwrap();
            let compacted = log.compact_if_grown(&store).unwrap();
            assert_eq!(compacted, trace == MIN_LINES_BEFORE_COMPACTION as u64 + 1);
        }
        assert_eq!(log.lines(), 3 + 6);
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 9);
        // Reloading the compacted file gives the same three newest traces.
        let mut reloaded = Store::new(3, 10);
        SpanLog::open(&path, &mut reloaded).unwrap();
        assert!(reloaded.trace(&format!("{total:016x}")).is_some());
        assert_eq!(reloaded.stats().traces, 3);
    }
}
