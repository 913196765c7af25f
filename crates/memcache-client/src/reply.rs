//! Reading one reply, sans-IO: its shape ([`ReplyEnd`]) alone says where
//! it ends, its exchange checks what it holds.
//!
//! Both connection modes read a reply through a [`Reading`]: a pooled
//! connection feeds it straight from the read loop; a multiplexed caller
//! feeds it the items its connection's driver framed (with the same
//! [`ReplyEnd`]). The fuzz harness runs it too. So when a reply is
//! complete, when the stream can no longer be trusted, and which error a
//! call gets are decided here once.

use memcache_codec::{Response, Value};

use crate::exchange::{check, Exchange};
use crate::read::ItemSink;
use crate::reply_shape::{ReplyEnd, Step};
use crate::{Error, Result};

/// One reply being read for its exchange.
///
/// An error from [`Reading::value`] or [`Reading::item`] means the stream
/// is out of step (an error line that ends the reply early, an item the
/// reply cannot hold, a key or opaque nobody asked for): the connection
/// must not carry another request. An error from [`Reading::finish`] is the
/// server's answer to this call alone (a `SERVER_ERROR` line in place of a
/// one-line reply): the stream is in step.
pub(crate) struct Reading<'e, E: ?Sized> {
    end: ReplyEnd,
    exchange: &'e mut E,
    answer: Option<Error>,
}

impl<'e, E: Exchange + ?Sized> Reading<'e, E> {
    pub fn new(exchange: &'e mut E) -> Self {
        Reading {
            end: exchange.reply_end(),
            exchange,
            answer: None,
        }
    }

    /// Takes a `VALUE` item: `Ok(true)` when it completes the reply.
    // Always inlined into the read loop (a call per value measured slower).
    #[inline(always)]
    pub fn value(&mut self, value: Value) -> Result<bool> {
        // A value never ends a reply, and only a one-line reply (which
        // holds none) can carry an error answer.
        if self.end.step_value() == Step::Broken {
            return Err(Error::UnexpectedResponse {
                command: self.exchange.command(),
            });
        }
        self.exchange.feed_value(value)?;
        Ok(false)
    }

    /// Takes any other item: `Ok(true)` when it completes the reply.
    pub fn item(&mut self, item: Response) -> Result<bool> {
        let step = self.end.step(&item);
        if step == Step::Broken {
            return Err(match check(item) {
                Err(error_line) => error_line,
                Ok(_) => Error::UnexpectedResponse {
                    command: self.exchange.command(),
                },
            });
        }
        if self.answer.is_none() {
            if let Err(error) = self.exchange.feed(item) {
                // Only a server error line the shape took as a reply is an
                // answer; any other refusal means a confused stream.
                if !matches!(error, Error::Server(_)) {
                    return Err(error);
                }
                self.answer = Some(error);
            }
        }
        Ok(step == Step::Done)
    }

    /// The call's result, once the reply is complete.
    pub fn finish(self) -> Result<()> {
        match self.answer {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl<E: Exchange + ?Sized> ItemSink for Reading<'_, E> {
    type Error = Error;

    #[inline(always)]
    fn value(&mut self, value: Value) -> Result<bool> {
        Reading::value(self, value)
    }

    fn item(&mut self, item: Response) -> Result<bool> {
        Reading::item(self, item)
    }
}
