//! Server-wide commands, sent to every server: `version`, `stats`,
//! `flush_all`, `verbosity`, `quit`. Results are per server, labelled
//! `host:port` (or the socket path), in configuration order.

use std::collections::HashMap;
use std::time::Duration;

use crate::trace::OpSpan;
use memcache_codec::{Request, Response};

use super::{finish, Client};
use crate::exchange::{Single, Stats};
use crate::server::Connections;
use crate::trace::op_span;
use crate::{Error, Result};

impl Client {
    /// Each server's version string.
    pub async fn version(&self) -> Result<Vec<(String, String)>> {
        let span = op_span!("version");
        let r = async {
            let replies = self
                .broadcast(|| Single::new(Request::Version), &span)
                .await?;
            replies
                .into_iter()
                .map(|(label, ex)| match ex.reply {
                    Some(Response::Version(v)) => {
                        Ok((label, String::from_utf8_lossy(&v).into_owned()))
                    }
                    _ => Err(Error::UnexpectedResponse { command: "version" }),
                })
                .collect()
        }
        .await;
        finish(&span, r)
    }

    /// Each server's statistics: `stats` or `stats <arg>` (`items`,
    /// `slabs`, `settings`, ...).
    pub async fn stats(&self, arg: Option<&str>) -> Result<Vec<(String, HashMap<String, String>)>> {
        let span = op_span!("stats");
        let r = async {
            let replies = self
                .broadcast(
                    || Stats {
                        arg,
                        stats: Vec::new(),
                    },
                    &span,
                )
                .await?;
            Ok(replies
                .into_iter()
                .map(|(label, ex)| (label, ex.stats.into_iter().collect()))
                .collect())
        }
        .await;
        finish(&span, r)
    }

    /// Invalidates every item on every server, now or after `delay`.
    pub async fn flush_all(&self, delay: Option<Duration>) -> Result<()> {
        let span = op_span!("flush_all");
        let delay = delay.map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
        let request = Request::FlushAll {
            delay,
            noreply: false,
        };
        let r = self.broadcast_ok(request, "flush_all", &span).await;
        finish(&span, r)
    }

    /// Sets every server's logging verbosity.
    pub async fn verbosity(&self, level: u32) -> Result<()> {
        let span = op_span!("verbosity");
        let request = Request::Verbosity {
            level,
            noreply: false,
        };
        let r = self.broadcast_ok(request, "verbosity", &span).await;
        finish(&span, r)
    }

    /// Politely closes every idle pooled connection (`quit`). The client
    /// stays usable: later calls open new connections.
    pub async fn quit(&self) -> Result<()> {
        let span = op_span!("quit");
        let r = async {
            let mut quit = bytes::BytesMut::new();
            Request::Quit.encode(&mut quit, &self.config().limits)?;
            for server in self.servers() {
                match &server.connections {
                    Connections::Pooled(pool) => {
                        for mut conn in pool.take_idle() {
                            // The server closes the connection; a send failure
                            // means it already had, which is what quit asks for.
                            let _ = conn.send_only(&quit).await;
                        }
                    }
                    // Closed once what is queued on them is answered.
                    Connections::Multiplexed(mux) => mux.release_all(),
                }
            }
            Ok(())
        }
        .await;
        finish(&span, r)
    }

    /// Runs one exchange on every server concurrently.
    async fn broadcast<E: crate::exchange::Exchange>(
        &self,
        make: impl Fn() -> E,
        span: &OpSpan,
    ) -> Result<Vec<(String, E)>> {
        let work = (0..self.servers().len()).map(|i| (i, make())).collect();
        let done = self.on_servers(work, span).await?;
        Ok(done
            .into_iter()
            .map(|(i, ex)| (self.servers()[i].addr.to_string(), ex))
            .collect())
    }

    /// Sends `request` to every server; each must answer `OK`.
    async fn broadcast_ok(
        &self,
        request: Request<'_>,
        command: &'static str,
        span: &OpSpan,
    ) -> Result<()> {
        let replies = self.broadcast(|| Single::new(request), span).await?;
        for (_, ex) in replies {
            if !matches!(ex.reply, Some(Response::Ok)) {
                return Err(Error::UnexpectedResponse { command });
            }
        }
        Ok(())
    }
}
