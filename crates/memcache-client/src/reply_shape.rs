//! Where one reply ends in a stream of pipelined replies, sans-IO: the
//! one owner of a reply's shape. Each exchange declares its
//! ([`crate::exchange::Exchange::reply_end`]); a pooled connection's
//! reading ([`crate::reply::Reading`]) and a multiplexed connection's
//! driver both follow it.
//!
//! The driver reads replies for many callers, in request order, without
//! their exchanges (which borrow the callers' keys), so the shape must be
//! enough to find a reply's last item and to bound how many items it may
//! have: a confused or hostile server can neither shift replies onto the
//! next caller unnoticed nor make the driver buffer without limit. The
//! caller's exchange still checks every item (keys, opaques, outcomes).

use memcache_codec::{MetaStatus, Response};

/// The shape of one request's reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReplyEnd {
    /// Sent with `noreply`: complete once written.
    Nothing,
    /// Exactly this many one-line replies (storage, delete, arithmetic,
    /// touch, meta commands, version, ...).
    Lines(usize),
    /// Retrieval lines: `VALUE`* `END`, `ends` times, with at most
    /// `values` values in all (one per requested key).
    Ends { ends: usize, values: usize },
    /// `stats`: at most `lines` `STAT` lines, then `END` or `RESET`.
    Stats { lines: usize },
    /// A meta pipeline: at most `replies` meta replies, then `MN`.
    Noop { replies: usize },
}

/// What one more item means for the reply it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// More items follow.
    More,
    /// This item completes the reply.
    Done,
    /// This item ends the reply, and the connection can no longer be
    /// trusted: an error line, or an item the reply cannot contain.
    Broken,
}

impl ReplyEnd {
    /// Takes one item of the reply and says whether it was the last.
    pub fn step(&mut self, item: &Response) -> Step {
        match (self, item) {
            (end, Response::Value(_)) => end.step_value(),
            // A one-line command answered `SERVER_ERROR` (out of memory,
            // object too large): memcached has swallowed the request's data
            // and the stream is in step; the line is that command's reply.
            (ReplyEnd::Lines(n), Response::ServerError(_)) => count_down(n),
            (_, Response::Error | Response::ClientError(_) | Response::ServerError(_)) => {
                Step::Broken
            }
            (ReplyEnd::Lines(_), Response::Stat { .. } | Response::End) => Step::Broken,
            (ReplyEnd::Lines(n), _) => count_down(n),
            (ReplyEnd::Ends { ends, .. }, Response::End) => count_down(ends),
            (ReplyEnd::Stats { lines }, Response::Stat { .. }) => one_more(lines),
            (ReplyEnd::Stats { .. }, Response::End | Response::Reset) => Step::Done,
            (ReplyEnd::Noop { .. }, Response::Meta(m)) if m.status == MetaStatus::Noop => {
                Step::Done
            }
            (ReplyEnd::Noop { replies }, Response::Meta(_)) => one_more(replies),
            _ => Step::Broken,
        }
    }

    /// [`ReplyEnd::step`] for a `VALUE` item (which the driver decodes on
    /// the codec's fast path, as a bare [`memcache_codec::Value`]).
    #[inline]
    pub fn step_value(&mut self) -> Step {
        match self {
            ReplyEnd::Ends { values, .. } => one_more(values),
            _ => Step::Broken,
        }
    }
}

/// One more of `n` expected items: done at the last (a zero count, which
/// no exchange produces, is broken rather than an underflow).
fn count_down(n: &mut usize) -> Step {
    match *n {
        0 => Step::Broken,
        1 => {
            *n = 0;
            Step::Done
        }
        _ => {
            *n -= 1;
            Step::More
        }
    }
}

/// One more of at most `n` items before the reply's last: broken once the
/// bound is spent.
#[inline]
fn one_more(n: &mut usize) -> Step {
    match n.checked_sub(1) {
        Some(left) => {
            *n = left;
            Step::More
        }
        None => Step::Broken,
    }
}

#[cfg(test)]
mod tests {
    use memcache_codec::{Decoder, Limits};

    use super::*;

    /// Decodes `wire` and steps `end` through it; the steps taken.
    fn steps(mut end: ReplyEnd, wire: &[u8]) -> Vec<Step> {
        let decoder = Decoder::new(Limits::default());
        let mut buf = bytes::BytesMut::from(wire);
        let mut steps = Vec::new();
        while let Some(item) = decoder.decode(&mut buf).unwrap() {
            steps.push(end.step(&item));
        }
        assert!(buf.is_empty(), "undecoded bytes left");
        steps
    }

    use Step::{Broken, Done, More};

    #[test]
    fn lines_end_after_their_count() {
        assert_eq!(steps(ReplyEnd::Lines(1), b"STORED\r\n"), [Done]);
        assert_eq!(
            steps(ReplyEnd::Lines(3), b"STORED\r\nNOT_FOUND\r\n42\r\n"),
            [More, More, Done]
        );
        assert_eq!(steps(ReplyEnd::Lines(2), b"HD\r\nEN\r\n"), [More, Done]);
        // A value or END is no one-line reply.
        assert_eq!(steps(ReplyEnd::Lines(1), b"END\r\n"), [Broken]);
        assert_eq!(steps(ReplyEnd::Lines(1), b"VALUE k 0 1\r\nx\r\n"), [Broken]);
    }

    #[test]
    fn retrievals_end_at_their_last_end_and_bound_values() {
        let two = b"VALUE a 0 1\r\nx\r\nVALUE b 0 1\r\ny\r\nEND\r\n";
        assert_eq!(
            steps(ReplyEnd::Ends { ends: 1, values: 2 }, two),
            [More, More, Done]
        );
        // More values than keys asked for.
        assert_eq!(
            steps(ReplyEnd::Ends { ends: 1, values: 1 }, two),
            [More, Broken, Done]
        );
        assert_eq!(
            steps(ReplyEnd::Ends { ends: 2, values: 5 }, b"END\r\nEND\r\n"),
            [More, Done]
        );
        assert_eq!(
            steps(ReplyEnd::Ends { ends: 1, values: 1 }, b"STORED\r\n"),
            [Broken]
        );
    }

    #[test]
    fn stats_and_meta_pipelines() {
        let stats = b"STAT pid 1\r\nSTAT uptime 2\r\nEND\r\n";
        assert_eq!(
            steps(ReplyEnd::Stats { lines: 10 }, stats),
            [More, More, Done]
        );
        assert_eq!(
            steps(ReplyEnd::Stats { lines: 1 }, stats),
            [More, Broken, Done]
        );
        assert_eq!(steps(ReplyEnd::Stats { lines: 1 }, b"RESET\r\n"), [Done]);
        let meta = b"HD O1\r\nEN O2\r\nMN\r\n";
        assert_eq!(
            steps(ReplyEnd::Noop { replies: 2 }, meta),
            [More, More, Done]
        );
        assert_eq!(
            steps(ReplyEnd::Noop { replies: 1 }, meta),
            [More, Broken, Done]
        );
    }

    #[test]
    fn error_lines_and_unexpected_replies_break() {
        for end in [
            ReplyEnd::Lines(2),
            ReplyEnd::Ends { ends: 1, values: 1 },
            ReplyEnd::Stats { lines: 1 },
            ReplyEnd::Noop { replies: 1 },
        ] {
            for wire in [
                &b"ERROR\r\n"[..],
                b"CLIENT_ERROR bad\r\n",
                b"SERVER_ERROR out of memory\r\n",
            ] {
                let server_error_line = wire.starts_with(b"SERVER") && end == ReplyEnd::Lines(2);
                let expected = if server_error_line { More } else { Broken };
                assert_eq!(steps(end, wire), [expected], "{end:?} {wire:?}");
            }
        }
        // A SERVER_ERROR answers one line of a batch, in step.
        assert_eq!(
            steps(
                ReplyEnd::Lines(2),
                b"SERVER_ERROR out of memory storing object\r\nSTORED\r\n"
            ),
            [More, Done]
        );
        assert_eq!(steps(ReplyEnd::Nothing, b"STORED\r\n"), [Broken]);
    }
}
