//! Meta commands (`mg`, `ms`, `md`, `ma`, `me`) and pipelines of them
//! closed by `mn`.
//!
//! A single meta call always waits for its reply, so the quiet flag is
//! cleared there (quiet only makes sense in a pipeline). In a pipeline the
//! opaque (`O`) token of each request is set to its position, which is how
//! replies are matched to requests when quiet ones stay silent.

use crate::trace::OpSpan;
use bytes::Bytes;
use memcache_codec::{
    MetaArithmeticFlags, MetaDeleteFlags, MetaGetFlags, MetaResponse, MetaSetFlags, MetaStatus,
    Request, Response,
};

use super::{finish, Client};
use crate::exchange::MetaPipeline;
use crate::trace::{self, op_span};
use crate::{Error, Result};

/// One request of a [`Client::meta_pipeline`]. With `base64_key` set in its
/// flags the key may be any bytes.
#[derive(Clone, Copy, Debug)]
pub enum MetaRequest<'a> {
    /// `mg`: meta get.
    Get {
        /// The item's key.
        key: &'a [u8],
        /// What to return and how.
        flags: MetaGetFlags,
    },
    /// `ms`: meta set.
    Set {
        /// The item's key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
        /// Mode, CAS, TTL and what to return.
        flags: MetaSetFlags,
    },
    /// `md`: meta delete.
    Delete {
        /// The item's key.
        key: &'a [u8],
        /// CAS, invalidation and what to return.
        flags: MetaDeleteFlags,
    },
    /// `ma`: meta arithmetic.
    Arithmetic {
        /// The item's key.
        key: &'a [u8],
        /// Mode, delta, auto-vivify and what to return.
        flags: MetaArithmeticFlags,
    },
}

impl<'a> MetaRequest<'a> {
    fn key(&self) -> &'a [u8] {
        match *self {
            MetaRequest::Get { key, .. }
            | MetaRequest::Set { key, .. }
            | MetaRequest::Delete { key, .. }
            | MetaRequest::Arithmetic { key, .. } => key,
        }
    }

    /// The wire request with the opaque token set to `opaque`.
    fn with_opaque(self, opaque: u32) -> Request<'a> {
        match self {
            MetaRequest::Get { key, mut flags } => {
                flags.opaque = Some(opaque);
                Request::MetaGet { key, flags }
            }
            MetaRequest::Set {
                key,
                value,
                mut flags,
            } => {
                flags.opaque = Some(opaque);
                Request::MetaSet { key, value, flags }
            }
            MetaRequest::Delete { key, mut flags } => {
                flags.opaque = Some(opaque);
                Request::MetaDelete { key, flags }
            }
            MetaRequest::Arithmetic { key, mut flags } => {
                flags.opaque = Some(opaque);
                Request::MetaArithmetic { key, flags }
            }
        }
    }
}

impl Client {
    /// `mg`: reads an item's value and/or metadata, as the flags ask.
    pub async fn meta_get(
        &self,
        key: impl AsRef<[u8]>,
        mut flags: MetaGetFlags,
    ) -> Result<MetaResponse> {
        let span = op_span!("meta_get");
        flags.quiet = false;
        let key = key.as_ref();
        let r = self
            .meta_single(key, Request::MetaGet { key, flags }, &span)
            .await;
        if let Ok(response) = &r {
            // A value or header for an item that was there is a hit; a miss,
            // or a placeholder this call just won (vivify), is a miss.
            let hit = matches!(response.status, MetaStatus::Value | MetaStatus::Header)
                && !response.flags.win;
            self.inner
                .metrics
                .lookups(span.op, usize::from(hit), usize::from(!hit));
        }
        finish(&span, r)
    }

    /// `ms`: stores a value (mode, CAS, TTL and client flags via `flags`).
    pub async fn meta_set(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        mut flags: MetaSetFlags,
    ) -> Result<MetaResponse> {
        let span = op_span!("meta_set");
        flags.quiet = false;
        let (key, value) = (key.as_ref(), value.as_ref());
        span.record("memcached.value_size", trace::int(value.len()));
        let r = self
            .meta_single(key, Request::MetaSet { key, value, flags }, &span)
            .await;
        finish(&span, r)
    }

    /// `md`: deletes (or invalidates) an item.
    pub async fn meta_delete(
        &self,
        key: impl AsRef<[u8]>,
        mut flags: MetaDeleteFlags,
    ) -> Result<MetaResponse> {
        let span = op_span!("meta_delete");
        flags.quiet = false;
        let key = key.as_ref();
        let r = self
            .meta_single(key, Request::MetaDelete { key, flags }, &span)
            .await;
        finish(&span, r)
    }

    /// `ma`: increments or decrements, optionally creating the item.
    pub async fn meta_arithmetic(
        &self,
        key: impl AsRef<[u8]>,
        mut flags: MetaArithmeticFlags,
    ) -> Result<MetaResponse> {
        let span = op_span!("meta_arithmetic");
        flags.quiet = false;
        let key = key.as_ref();
        let r = self
            .meta_single(key, Request::MetaArithmetic { key, flags }, &span)
            .await;
        finish(&span, r)
    }

    /// `me`: the item's internal metadata as name/value pairs, `None` on a
    /// miss.
    pub async fn meta_debug(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<(Bytes, Bytes)>>> {
        let span = op_span!("meta_debug");
        let key = key.as_ref();
        let r = async {
            let reply = self
                .single_key(
                    key,
                    Request::MetaDebug {
                        key,
                        base64_key: false,
                    },
                    &span,
                )
                .await?;
            match reply {
                Some(Response::MetaDebug(pairs)) => {
                    span.record("memcached.hit", true);
                    Ok(Some(pairs))
                }
                Some(Response::Meta(m)) if m.status == MetaStatus::Miss => {
                    span.record("memcached.hit", false);
                    Ok(None)
                }
                _ => Err(Error::UnexpectedResponse { command: "me" }),
            }
        }
        .await;
        finish(&span, r)
    }

    /// Sends meta requests pipelined per server, each server's batch closed
    /// by `mn`: one round trip per server, servers in parallel. The result
    /// has one entry per request, in input order: `None` where a quiet
    /// request stayed silent (a quiet `mg` miss, a quiet `ms`/`md` success).
    /// The requests' opaque tokens are replaced by their positions.
    pub async fn meta_pipeline(
        &self,
        requests: &[MetaRequest<'_>],
    ) -> Result<Vec<Option<MetaResponse>>> {
        let span = op_span!("meta_pipeline");
        let r = self.meta_pipeline_in(requests, &span).await;
        finish(&span, r)
    }

    async fn meta_pipeline_in(
        &self,
        requests: &[MetaRequest<'_>],
        span: &OpSpan,
    ) -> Result<Vec<Option<MetaResponse>>> {
        span.record("db.operation.batch.size", trace::int(requests.len()));
        let count = u32::try_from(requests.len())
            .map_err(|_| Error::InvalidArgument("too many requests in one pipeline"))?;
        let keys: Vec<&[u8]> = requests.iter().map(MetaRequest::key).collect();
        trace::record_keys(span, self.config().record_keys, &keys);
        // Every request, before any is sent: a bad one must not leave the
        // pipeline half applied on the other servers. Each carries its
        // position as its opaque; the pipelines write these validated
        // requests without a second check.
        let limits = &self.config().limits;
        let valid = requests
            .iter()
            .zip(0..count)
            .map(|(r, pos)| Ok((r.key(), r.with_opaque(pos).validate(limits)?)))
            .collect::<Result<Vec<_>>>()?;
        let groups = self.group(valid, |(key, _)| *key)?;
        let work = groups
            .into_iter()
            .map(|(server, items)| {
                let requests = items.into_iter().map(|(_, (_, v))| v).collect();
                (server, MetaPipeline::new(requests))
            })
            .collect();
        let done = self.on_servers(work, span).await?;
        let mut results: Vec<Option<MetaResponse>> = vec![None; count as usize];
        for (_, pipeline) in done {
            for reply in pipeline.replies {
                let slot = reply
                    .flags
                    .opaque
                    .and_then(|o| results.get_mut(o as usize))
                    .ok_or(Error::UnexpectedResponse {
                        command: "meta pipeline",
                    })?;
                *slot = Some(reply);
            }
        }
        Ok(results)
    }

    async fn meta_single(
        &self,
        key: &[u8],
        request: Request<'_>,
        span: &OpSpan,
    ) -> Result<MetaResponse> {
        // Hit or miss only means something for reads.
        let is_read = matches!(
            request,
            Request::MetaGet { .. } | Request::MetaArithmetic { .. }
        );
        match self.single_key(key, request, span).await? {
            Some(Response::Meta(m)) => {
                if !span.is_disabled() {
                    span.record("memcached.outcome", m.status.code());
                    if is_read {
                        match m.status {
                            MetaStatus::Value | MetaStatus::Header => {
                                span.record("memcached.hit", true);
                            }
                            MetaStatus::Miss | MetaStatus::NotFound => {
                                span.record("memcached.hit", false);
                            }
                            _ => {}
                        }
                    }
                    if let Some(value) = &m.value {
                        span.record("memcached.value_size", trace::int(value.len()));
                    }
                }
                Ok(m)
            }
            _ => Err(Error::UnexpectedResponse { command: "meta" }),
        }
    }
}
