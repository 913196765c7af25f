//! Item expiry as a type, and its translation to memcached's `exptime`.
//!
//! memcached reads `exptime` as seconds from now when it is at most 30 days
//! (2,592,000 s) and as an absolute unix time otherwise; 0 means never. The
//! translation here hides that rule: a long relative expiry becomes an
//! absolute time, and an absolute time that would be misread as relative
//! (the distant past) becomes "already expired".

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Largest `exptime` memcached treats as relative seconds.
pub const MAX_RELATIVE_EXPTIME: u32 = 60 * 60 * 24 * 30;

/// When a stored item expires.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Expiry {
    /// Never (until evicted).
    #[default]
    Never,
    /// After this long. Rounded up to whole seconds, at least one: a zero
    /// would mean "never" on the wire.
    After(Duration),
    /// At this wall-clock time.
    At(SystemTime),
}

impl From<Duration> for Expiry {
    fn from(d: Duration) -> Self {
        Expiry::After(d)
    }
}

impl From<SystemTime> for Expiry {
    fn from(t: SystemTime) -> Self {
        Expiry::At(t)
    }
}

impl Expiry {
    /// The `exptime` to send, given the current time.
    pub fn to_exptime(self, now: SystemTime) -> u32 {
        match self {
            Expiry::Never => 0,
            Expiry::After(d) => {
                let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
                let secs = secs.max(1);
                if secs <= u64::from(MAX_RELATIVE_EXPTIME) {
                    secs as u32
                } else {
                    absolute(unix_secs(now).saturating_add(secs))
                }
            }
            Expiry::At(t) => absolute(unix_secs(t)),
        }
    }

    /// [`Expiry::to_exptime`] at the current time.
    pub fn to_exptime_now(self) -> u32 {
        match self {
            Expiry::Never => 0,
            other => other.to_exptime(SystemTime::now()),
        }
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// An absolute unix time as `exptime`: times that memcached would read as
/// relative (<= 30 days after 1970) are in the past anyway, so they become
/// the smallest absolute value, which expires at once; times past 2106 are
/// capped.
fn absolute(secs: u64) -> u32 {
    let floor = u64::from(MAX_RELATIVE_EXPTIME) + 1;
    secs.clamp(floor, u64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn never_is_zero() {
        assert_eq!(Expiry::Never.to_exptime(at(1_700_000_000)), 0);
    }

    #[test]
    fn short_durations_are_relative_and_rounded_up() {
        let now = at(1_700_000_000);
        assert_eq!(Expiry::After(Duration::from_secs(60)).to_exptime(now), 60);
        assert_eq!(
            Expiry::After(Duration::from_millis(1500)).to_exptime(now),
            2
        );
        assert_eq!(Expiry::After(Duration::ZERO).to_exptime(now), 1);
        let thirty_days = Duration::from_secs(u64::from(MAX_RELATIVE_EXPTIME));
        assert_eq!(
            Expiry::After(thirty_days).to_exptime(now),
            MAX_RELATIVE_EXPTIME
        );
    }

    #[test]
    fn long_durations_become_absolute() {
        let now = at(1_700_000_000);
        let d = Duration::from_secs(u64::from(MAX_RELATIVE_EXPTIME) + 1);
        assert_eq!(
            Expiry::After(d).to_exptime(now),
            1_700_000_000 + MAX_RELATIVE_EXPTIME + 1
        );
    }

    #[test]
    fn absolute_times_are_unix_seconds_and_never_misread_as_relative() {
        let now = at(1_700_000_000);
        assert_eq!(Expiry::At(at(1_800_000_000)).to_exptime(now), 1_800_000_000);
        assert_eq!(Expiry::At(at(5)).to_exptime(now), MAX_RELATIVE_EXPTIME + 1);
        assert_eq!(Expiry::At(at(1 << 40)).to_exptime(now), u32::MAX);
    }
}
