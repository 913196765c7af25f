//! What every benchmarked system provides, and the error type of the bench.

use std::time::Duration;

use crate::workload::Workload;

/// A client under test: runs a number of operations of a workload and says
/// how long they took.
pub trait System {
    /// The name in the table.
    fn name(&self) -> &str;

    /// Runs `ops` operations of `workload`; how long they took.
    fn run(&mut self, workload: Workload, ops: usize) -> Result<Duration, BenchError>;

    /// Facts about the run worth a line under the table.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Why a benchmark run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{system}: {message}")]
    System { system: String, message: String },
    #[error("memcache-client: {0}")]
    Ours(#[from] memcache_client::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("usage: {0}")]
    Usage(String),
    #[error("python results: {0}")]
    Python(String),
}

impl BenchError {
    /// Wraps any displayable error of a system.
    pub fn system(system: &str, error: impl std::fmt::Display) -> BenchError {
        BenchError::System {
            system: system.to_string(),
            message: error.to_string(),
        }
    }
}

/// Checks that a get workload found what was stored (a miss would make the
/// comparison meaningless).
pub fn expect_hit(system: &str, found: bool) -> Result<(), BenchError> {
    if found {
        Ok(())
    } else {
        Err(BenchError::system(system, "unexpected miss on a warm key"))
    }
}

/// Runs `ops` calls of `op` and times them.
pub fn timed(
    ops: usize,
    mut op: impl FnMut(usize) -> Result<(), BenchError>,
) -> Result<Duration, BenchError> {
    let start = std::time::Instant::now();
    for i in 0..ops {
        op(i)?;
    }
    Ok(start.elapsed())
}

/// Runs `work(t)` on `threads` OS threads; the clock starts once all of
/// them are ready (thread creation is not measured) and stops when the last
/// one is done.
pub fn timed_threads<F>(threads: usize, work: F) -> Result<Duration, BenchError>
where
    F: Fn(usize) -> Result<(), BenchError> + Sync,
{
    let ready = std::sync::Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (ready, work) = (&ready, &work);
                scope.spawn(move || {
                    ready.wait();
                    work(t)
                })
            })
            .collect();
        ready.wait();
        let start = std::time::Instant::now();
        for handle in handles {
            handle
                .join()
                .map_err(|_| BenchError::Protocol("benchmark thread panicked".into()))??;
        }
        Ok(start.elapsed())
    })
}
