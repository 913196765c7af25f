//! Commands that change items: storage (`set`, `add`, `replace`, `append`,
//! `prepend`, `cas`), `delete`, `incr`/`decr`, `touch`, and the pipelined
//! `set_many`/`delete_many`.

use crate::trace::OpSpan;
use memcache_codec::{Request, Response, StoreCommand};

use super::{finish, Client};
use crate::exchange::{Batch, Exchange};
use crate::trace::{self, op_span};
use crate::{DeleteOutcome, Error, Expiry, Result, StoreOptions, StoreOutcome, TouchOutcome};

fn store_outcome(reply: Option<Response>) -> Result<StoreOutcome> {
    match reply {
        None => Ok(StoreOutcome::NoReply),
        Some(Response::Stored) => Ok(StoreOutcome::Stored),
        Some(Response::NotStored) => Ok(StoreOutcome::NotStored),
        Some(Response::Exists) => Ok(StoreOutcome::Exists),
        Some(Response::NotFound) => Ok(StoreOutcome::NotFound),
        Some(_) => Err(Error::UnexpectedResponse { command: "storage" }),
    }
}

fn delete_outcome(reply: Option<Response>) -> Result<DeleteOutcome> {
    match reply {
        Some(Response::Deleted) => Ok(DeleteOutcome::Deleted),
        Some(Response::NotFound) => Ok(DeleteOutcome::NotFound),
        _ => Err(Error::UnexpectedResponse { command: "delete" }),
    }
}

/// Generates the five storage commands, which differ only in their name.
macro_rules! storage_command {
    ($(#[$doc:meta])* $method:ident, $name:literal, $command:expr) => {
        $(#[$doc])*
        pub async fn $method(
            &self,
            key: impl AsRef<[u8]>,
            value: impl AsRef<[u8]>,
            options: StoreOptions,
        ) -> Result<StoreOutcome> {
            let span = op_span!($name);
            let r = self
                .store(
                    $command,
                    None,
                    key.as_ref(),
                    value.as_ref(),
                    options,
                    &span,
                )
                .await;
            finish(&span, r)
        }
    };
}

impl Client {
    storage_command!(
        /// Stores the value unconditionally.
        set, "set", StoreCommand::Set
    );
    storage_command!(
        /// Stores the value only if the key is absent (`NotStored` otherwise).
        add, "add", StoreCommand::Add
    );
    storage_command!(
        /// Stores the value only if the key exists (`NotStored` otherwise).
        replace, "replace", StoreCommand::Replace
    );
    storage_command!(
        /// Appends to an existing value (`NotStored` if absent); flags and
        /// expiry of `options` are ignored by the server.
        append, "append", StoreCommand::Append
    );
    storage_command!(
        /// Prepends to an existing value (`NotStored` if absent).
        prepend, "prepend", StoreCommand::Prepend
    );

    /// Stores the value only if the item is unchanged since `gets` returned
    /// `cas`: `Stored`, `Exists` (changed) or `NotFound` (gone).
    pub async fn cas(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        cas: u64,
        options: StoreOptions,
    ) -> Result<StoreOutcome> {
        let span = op_span!("cas");
        let r = self
            .store(
                StoreCommand::Set,
                Some(cas),
                key.as_ref(),
                value.as_ref(),
                options,
                &span,
            )
            .await;
        finish(&span, r)
    }

    async fn store(
        &self,
        command: StoreCommand,
        cas: Option<u64>,
        key: &[u8],
        value: &[u8],
        options: StoreOptions,
        span: &OpSpan,
    ) -> Result<StoreOutcome> {
        span.record("memcached.value_size", trace::int(value.len()));
        let exptime = options.expiry.to_exptime_now();
        let request = match cas {
            Some(cas) => Request::Cas {
                key,
                flags: options.flags,
                exptime,
                value,
                cas,
                noreply: options.noreply,
            },
            None => Request::Store {
                command,
                key,
                flags: options.flags,
                exptime,
                value,
                noreply: options.noreply,
            },
        };
        let outcome = store_outcome(self.single_key(key, request, span).await?)?;
        let field = if cas.is_some() {
            "memcached.cas_outcome"
        } else {
            "memcached.outcome"
        };
        span.record(field, outcome.as_str());
        Ok(outcome)
    }

    /// Deletes the key: `Deleted` or `NotFound`.
    pub async fn delete(&self, key: impl AsRef<[u8]>) -> Result<DeleteOutcome> {
        let span = op_span!("delete");
        let r = async {
            let reply = self
                .single_key(
                    key.as_ref(),
                    Request::Delete {
                        key: key.as_ref(),
                        noreply: false,
                    },
                    &span,
                )
                .await?;
            let outcome = delete_outcome(reply)?;
            span.record("memcached.outcome", outcome.as_str());
            Ok(outcome)
        }
        .await;
        finish(&span, r)
    }

    /// Deletes the key without waiting for the answer.
    pub async fn delete_noreply(&self, key: impl AsRef<[u8]>) -> Result<()> {
        let span = op_span!("delete");
        let r = self
            .single_key(
                key.as_ref(),
                Request::Delete {
                    key: key.as_ref(),
                    noreply: true,
                },
                &span,
            )
            .await
            .map(drop);
        finish(&span, r)
    }

    /// Adds `delta` to a decimal value: the new value, or `None` if the key
    /// is missing. Wraps at 2^64 as memcached does.
    pub async fn incr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>> {
        let span = op_span!("incr");
        let r = self.arithmetic(key.as_ref(), delta, true, &span).await;
        finish(&span, r)
    }

    /// Subtracts `delta` (memcached stops at 0): the new value, or `None` if
    /// the key is missing.
    pub async fn decr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>> {
        let span = op_span!("decr");
        let r = self.arithmetic(key.as_ref(), delta, false, &span).await;
        finish(&span, r)
    }

    /// `incr` without waiting for the answer.
    pub async fn incr_noreply(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<()> {
        let span = op_span!("incr");
        let r = self
            .single_key(
                key.as_ref(),
                arithmetic_request(key.as_ref(), delta, true, true),
                &span,
            )
            .await
            .map(drop);
        finish(&span, r)
    }

    /// `decr` without waiting for the answer.
    pub async fn decr_noreply(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<()> {
        let span = op_span!("decr");
        let r = self
            .single_key(
                key.as_ref(),
                arithmetic_request(key.as_ref(), delta, false, true),
                &span,
            )
            .await
            .map(drop);
        finish(&span, r)
    }

    async fn arithmetic(
        &self,
        key: &[u8],
        delta: u64,
        incr: bool,
        span: &OpSpan,
    ) -> Result<Option<u64>> {
        let reply = self
            .single_key(key, arithmetic_request(key, delta, incr, false), span)
            .await?;
        match reply {
            Some(Response::Number(n)) => {
                span.record("memcached.hit", true);
                Ok(Some(n))
            }
            Some(Response::NotFound) => {
                span.record("memcached.hit", false);
                Ok(None)
            }
            _ => Err(Error::UnexpectedResponse {
                command: "incr/decr",
            }),
        }
    }

    /// Sets a new expiry on the key: `Touched` or `NotFound`.
    pub async fn touch(&self, key: impl AsRef<[u8]>, expiry: Expiry) -> Result<TouchOutcome> {
        let span = op_span!("touch");
        let exptime = expiry.to_exptime_now();
        let r = async {
            let reply = self
                .single_key(
                    key.as_ref(),
                    Request::Touch {
                        key: key.as_ref(),
                        exptime,
                        noreply: false,
                    },
                    &span,
                )
                .await?;
            let outcome = match reply {
                Some(Response::Touched) => TouchOutcome::Touched,
                Some(Response::NotFound) => TouchOutcome::NotFound,
                _ => return Err(Error::UnexpectedResponse { command: "touch" }),
            };
            span.record("memcached.outcome", outcome.as_str());
            Ok(outcome)
        }
        .await;
        finish(&span, r)
    }

    /// `touch` without waiting for the answer.
    pub async fn touch_noreply(&self, key: impl AsRef<[u8]>, expiry: Expiry) -> Result<()> {
        let span = op_span!("touch");
        let exptime = expiry.to_exptime_now();
        let r = self
            .single_key(
                key.as_ref(),
                Request::Touch {
                    key: key.as_ref(),
                    exptime,
                    noreply: true,
                },
                &span,
            )
            .await
            .map(drop);
        finish(&span, r)
    }

    /// Stores many items, pipelined: one write and one read pass per server,
    /// servers in parallel. Outcomes are in input order.
    pub async fn set_many<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        items: &[(K, V)],
        options: StoreOptions,
    ) -> Result<Vec<StoreOutcome>> {
        let span = op_span!("set_many");
        let r = async {
            span.record("db.operation.batch.size", trace::int(items.len()));
            let keys: Vec<&[u8]> = items.iter().map(|(k, _)| k.as_ref()).collect();
            trace::record_keys(&span, self.config().record_keys, &keys);
            let exptime = options.expiry.to_exptime_now();
            let requests = items.iter().map(|(key, value)| Request::Store {
                command: StoreCommand::Set,
                key: key.as_ref(),
                flags: options.flags,
                exptime,
                value: value.as_ref(),
                noreply: options.noreply,
            });
            let replies = self.pipeline(requests, &span).await?;
            replies.into_iter().map(store_outcome).collect()
        }
        .await;
        finish(&span, r)
    }

    /// Deletes many keys, pipelined per server. Outcomes are in input order.
    pub async fn delete_many<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<DeleteOutcome>> {
        let span = op_span!("delete_many");
        let r = async {
            span.record("db.operation.batch.size", trace::int(keys.len()));
            trace::record_keys(&span, self.config().record_keys, keys);
            let requests = keys.iter().map(|key| Request::Delete {
                key: key.as_ref(),
                noreply: false,
            });
            let replies = self.pipeline(requests, &span).await?;
            replies.into_iter().map(delete_outcome).collect()
        }
        .await;
        finish(&span, r)
    }

    /// Sends single-key, single-line requests grouped by server; the replies
    /// come back in input order (`None` for `noreply` requests).
    async fn pipeline<'a>(
        &self,
        requests: impl Iterator<Item = Request<'a>>,
        span: &OpSpan,
    ) -> Result<Vec<Option<Response>>> {
        // Every request, before any is sent: a bad one must not leave the
        // batch half applied on the other servers. The batches write these
        // validated requests without a second check.
        let limits = &self.config().limits;
        let requests = requests
            .map(|r| r.validate(limits))
            .collect::<Result<Vec<_>, _>>()?;
        let count = requests.len();
        let groups = self.group(requests, |r| request_key(r.request()))?;
        let mut positions = Vec::with_capacity(groups.len());
        let mut work = Vec::with_capacity(groups.len());
        for (server, items) in groups {
            let (pos, reqs): (Vec<usize>, Vec<_>) = items.into_iter().unzip();
            positions.push(pos);
            work.push((server, Batch::new(reqs)));
        }
        let done = self.on_servers(work, span).await?;
        let mut replies: Vec<Option<Response>> = vec![None; count];
        for (pos, (_, batch)) in positions.into_iter().zip(done) {
            if batch.expects_reply() {
                for (p, reply) in pos.into_iter().zip(batch.replies) {
                    replies[p] = Some(reply);
                }
            }
        }
        Ok(replies)
    }
}

/// The key of a single-key request (the pipelined ones are all single-key).
fn request_key<'a>(request: &Request<'a>) -> &'a [u8] {
    match *request {
        Request::Store { key, .. }
        | Request::Cas { key, .. }
        | Request::Delete { key, .. }
        | Request::Incr { key, .. }
        | Request::Decr { key, .. }
        | Request::Touch { key, .. } => key,
        _ => &[],
    }
}

/// `incr` or `decr` of `delta` on `key`.
fn arithmetic_request(key: &[u8], delta: u64, incr: bool, noreply: bool) -> Request<'_> {
    if incr {
        Request::Incr {
            key,
            delta,
            noreply,
        }
    } else {
        Request::Decr {
            key,
            delta,
            noreply,
        }
    }
}
