//! When the store retries a push to the cloud, and whether it should.
//!
//! An answer to a push is [`Delivery::Delivered`] (2xx),
//! [`Delivery::Permanent`] (a 4xx other than 429: the cloud refused it and
//! will refuse it again, so the mutation is dead-lettered with its reason
//! and later ones go on) or [`Delivery::Transient`] (no answer, 5xx, 429,
//! or any other status, which says nothing against the mutation itself).
//! A transient failure is retried after [`retry_delay`]: 1 s doubling per
//! failure up to 5 minutes, with jitter from a random value the caller
//! draws, and never sooner than the server's `Retry-After`.

use std::time::Duration;

use super::date::{BusinessDate, days_from_civil};

/// The delay after the first failure, before jitter.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);

/// The longest delay the schedule itself asks for (a `Retry-After` may ask
/// for more).
pub const MAX_DELAY: Duration = Duration::from_secs(5 * 60);

/// What came back from a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushAnswer {
    /// No HTTP answer: the connection failed or timed out.
    NetworkError,
    /// An HTTP answer with this status code.
    Status(u16),
}

/// What to do with the mutations a push carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// The cloud has them: drop them from the queue.
    Delivered,
    /// Try again later, in order.
    Transient,
    /// The cloud refuses them for good: dead-letter them with the reason.
    Permanent,
}

/// Classifies a push answer.
///
/// ```
/// use tombola_core::lottery::{classify, Delivery, PushAnswer};
///
/// assert_eq!(classify(PushAnswer::Status(200)), Delivery::Delivered);
/// assert_eq!(classify(PushAnswer::Status(503)), Delivery::Transient);
/// assert_eq!(classify(PushAnswer::Status(429)), Delivery::Transient);
/// assert_eq!(classify(PushAnswer::Status(400)), Delivery::Permanent);
/// assert_eq!(classify(PushAnswer::NetworkError), Delivery::Transient);
/// ```
pub fn classify(answer: PushAnswer) -> Delivery {
    match answer {
        PushAnswer::Status(200..=299) => Delivery::Delivered,
        PushAnswer::Status(429) => Delivery::Transient,
        PushAnswer::Status(400..=499) => Delivery::Permanent,
        // 5xx, and statuses (1xx, 3xx, nonsense) that refuse nothing: a
        // misrouted push must wait, not lose the store's mutations.
        PushAnswer::Status(_) | PushAnswer::NetworkError => Delivery::Transient,
    }
}

/// The delay before retrying after `failures` failed attempts in a row,
/// before jitter: none before any failure, then 1 s, 2 s, 4 s... capped at
/// [`MAX_DELAY`].
pub fn base_delay(failures: u32) -> Duration {
    match failures {
        0 => Duration::ZERO,
        // 2^9 s is already past the cap; larger shifts would overflow.
        1..=9 => (FIRST_DELAY * (1 << (failures - 1))).min(MAX_DELAY),
        _ => MAX_DELAY,
    }
}

/// The delay before retrying after `failures` failed attempts in a row.
///
/// With `base` the [`base_delay`], the delay is `base / 2` plus
/// `random mod (base / 2 + 1)` milliseconds, so it lies between half the
/// base and the base ("equal jitter": retries spread out, yet never come
/// sooner than half the schedule). `random` is any `u64` the caller draws.
/// A `retry_after` from the server's last answer is a floor, honoured even
/// past [`MAX_DELAY`].
///
/// ```
/// use std::time::Duration;
/// use tombola_core::lottery::retry_delay;
///
/// assert_eq!(retry_delay(1, 0, None), Duration::from_millis(500));
/// assert_eq!(retry_delay(1, 500, None), Duration::from_secs(1));
/// assert!(retry_delay(30, u64::MAX, None) <= Duration::from_secs(300));
/// assert_eq!(retry_delay(1, 0, Some(Duration::from_secs(120))), Duration::from_secs(120));
/// ```
pub fn retry_delay(failures: u32, random: u64, retry_after: Option<Duration>) -> Duration {
    let base = base_delay(failures).as_millis() as u64;
    let half = base / 2;
    let jittered = Duration::from_millis(half + random % (half + 1));
    retry_after.map_or(jittered, |floor| jittered.max(floor))
}

/// The time, in milliseconds since the Unix epoch, `delay` after `now_ms`
/// (saturating, so a huge `Retry-After` means "much later", not a wrap).
pub fn next_attempt_at(now_ms: u64, delay: Duration) -> u64 {
    let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    now_ms.saturating_add(delay_ms)
}

/// Reads a `Retry-After` header value: delay-seconds (`120`) or an HTTP
/// date (`Sun, 06 Nov 1994 08:49:37 GMT`), which is turned into a delay
/// from `now_ms` (milliseconds since the Unix epoch; a past date is no
/// delay). Any other value is `None`, as if the header were absent.
///
/// ```
/// use std::time::Duration;
/// use tombola_core::lottery::parse_retry_after;
///
/// assert_eq!(parse_retry_after("120", 0), Some(Duration::from_secs(120)));
/// let now = 784_111_777_000; // 1994-11-06T08:49:37Z
/// assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), Some(Duration::from_secs(30)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now_ms: u64) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    let at_ms = http_date_ms(value)?;
    Some(Duration::from_millis(at_ms.saturating_sub(now_ms)))
}

// An IMF-fixdate (RFC 9110, 5.6.7) as milliseconds since the epoch, or
// `None` for anything else or a date before the epoch.
fn http_date_ms(value: &str) -> Option<u64> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let rest = value.strip_suffix(" GMT")?;
    let (weekday, rest) = rest.split_once(", ")?;
    let mut parts = rest.split(' ');
    let (day, month, year, time) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !DAYS.contains(&weekday) {
        return None;
    }
    let number = |text: &str, width: usize| -> Option<u32> {
        (text.len() == width && text.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
    };
    let month = MONTHS.iter().position(|name| *name == month)? as u8 + 1;
    let date = BusinessDate::new(
        u16::try_from(number(year, 4)?).ok()?,
        month,
        u8::try_from(number(day, 2)?).ok()?,
    )
    .ok()?;
    let mut clock = time.split(':');
    let (hour, minute, second) = (
        number(clock.next()?, 2)?,
        number(clock.next()?, 2)?,
        number(clock.next()?, 2)?,
    );
    if clock.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(
        i64::from(date.year()),
        u32::from(date.month()),
        u32::from(date.day()),
    );
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    u64::try_from(seconds).ok().map(|seconds| seconds * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified() {
        for code in [200, 201, 204, 299] {
            assert_eq!(
                classify(PushAnswer::Status(code)),
                Delivery::Delivered,
                "{code}"
            );
        }
        for code in [429, 500, 502, 503, 504, 599, 100, 301, 302, 600] {
            assert_eq!(
                classify(PushAnswer::Status(code)),
                Delivery::Transient,
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 409, 413, 422, 428, 430, 499] {
            assert_eq!(
                classify(PushAnswer::Status(code)),
                Delivery::Permanent,
                "{code}"
            );
        }
        assert_eq!(classify(PushAnswer::NetworkError), Delivery::Transient);
    }

    #[test]
    fn the_base_delay_doubles_from_one_second_up_to_five_minutes() {
        let seconds: Vec<u64> = (0..=11).map(|n| base_delay(n).as_secs()).collect();
        assert_eq!(seconds, [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(base_delay(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn jitter_spans_half_the_base_to_the_base() {
        assert_eq!(retry_delay(4, 0, None), Duration::from_secs(4));
        assert_eq!(retry_delay(4, 4000, None), Duration::from_secs(8));
        assert_eq!(retry_delay(4, 4001, None), Duration::from_secs(4));
        assert_eq!(retry_delay(4, 1234, None), Duration::from_millis(5234));
        assert_eq!(retry_delay(0, 999, None), Duration::ZERO);
        assert_eq!(retry_delay(20, 150_000, None), MAX_DELAY);
    }

    #[test]
    fn retry_after_is_a_floor_even_past_the_cap() {
        let hour = Duration::from_secs(3600);
        assert_eq!(retry_delay(3, 0, Some(hour)), hour);
        // Shorter than the schedule: the schedule wins.
        assert_eq!(
            retry_delay(4, 0, Some(Duration::from_secs(1))),
            Duration::from_secs(4)
        );
        assert_eq!(
            retry_delay(0, 0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn the_next_attempt_time_saturates() {
        assert_eq!(next_attempt_at(1_000, Duration::from_secs(2)), 3_000);
        assert_eq!(
            next_attempt_at(u64::MAX - 1, Duration::from_secs(2)),
            u64::MAX
        );
        assert_eq!(next_attempt_at(5, Duration::MAX), u64::MAX);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(parse_retry_after(" 0 ", 0), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("86400", 0),
            Some(Duration::from_secs(86_400))
        );
        // Too large for a u64 of seconds: ignored rather than wrapped.
        assert_eq!(parse_retry_after("99999999999999999999999", 0), None);
        let now = 784_111_777_000;
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Mon, 07 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(
            parse_retry_after("Thu, 29 Feb 2024 00:00:00 GMT", 0),
            Some(Duration::from_secs(19_782 * 86_400))
        );
    }

    #[test]
    fn retry_after_ignores_anything_else() {
        for value in [
            "",
            "-5",
            "1.5",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Noe 1994 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49:37:00 GMT",
            "Sun, 06 Nov 1994 08:49:37 extra GMT",
            "Sun, 01 Jan 1969 00:00:00 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(value, 0), None, "{value:?}");
        }
    }
}
