//! The change feed pushed as Server-Sent Events: what a client following
//! `GET /api/v1/state/events` with `Accept: text/event-stream` is told.
//!
//! One message per revision, its `id:` the revision, so a browser's
//! `EventSource` resumes after the last revision it saw by sending it as
//! `Last-Event-ID`. Each `data:` line is one change, the feed's JSON
//! ([`Event`]); a transaction's revision has one line per change, in order,
//! so a revision arrives whole or not at all (a message counts only once
//! its blank line has arrived). A follower behind compaction is told so by
//! a `compacted` event carrying what the long poll's 410 carries, and the
//! stream then ends.
//!
//! ```
//! use tombola_core::state::stream::{message, resume_after};
//! use tombola_core::state::{Event, EventKind};
//!
//! let put = Event {
//!     revision: 7,
//!     key: "app/mode".into(),
//!     kind: EventKind::Put,
//!     old_value: None,
//!     new_value: Some(serde_json::json!("on")),
//!     timestamp: 1,
//!     source: "admin".into(),
//! };
//! assert_eq!(
//!     message(&[put.clone()], "app/").unwrap(),
//!     "id: 7\ndata: {\"revision\":7,\"key\":\"app/mode\",\"type\":\"put\",\
//!      \"old_value\":null,\"new_value\":\"on\",\"timestamp\":1,\"source\":\"admin\"}\n\n"
//! );
//! assert_eq!(message(&[put], "other/"), None);
//! assert_eq!(resume_after(Some("7"), 0), Ok(7));
//! ```

use serde_json::json;
use thiserror::Error;

use super::{Compacted, Event};

/// The comment a stream sends when it has had nothing to say for a
/// while, so that clients and proxies keep the connection open.
pub const HEARTBEAT: &str = ": heartbeat\n\n";

/// The header a reconnecting `EventSource` sends.
pub const LAST_EVENT_ID_HEADER: &str = "Last-Event-ID";

/// The first field of every stream: how long a client waits before it
/// reconnects, in milliseconds.
pub fn retry(ms: u64) -> String {
    format!("retry: {ms}\n\n")
}

/// The message of one revision's `events` whose keys start with `prefix`:
/// `id:` the revision, a `data:` line per change; `None` when no change
/// has the prefix (the revision is then not sent).
pub fn message(events: &[Event], prefix: &str) -> Option<String> {
    let revision = events.first()?.revision;
    let lines: Vec<String> = events
        .iter()
        .filter(|event| event.key.starts_with(prefix))
        .map(|event| {
            let json = serde_json::to_string(event).expect("an event always serializes");
            format!("data: {json}\n")
        })
        .collect();
    (!lines.is_empty()).then(|| format!("id: {revision}\n{}\n", lines.concat()))
}

/// The event that ends a stream behind compaction: `event: compacted`,
/// its data what the long poll's 410 carries (`code`, `message`,
/// `compacted`, and the current `revision`).
pub fn compacted(gone: &Compacted, revision: u64) -> String {
    let data = json!({
        "code": "compacted",
        "status": 410,
        "message": gone.to_string(),
        "compacted": gone.compacted,
        "revision": revision,
    });
    format!("event: compacted\ndata: {data}\n\n")
}

/// A `Last-Event-ID` that is not a revision.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Last-Event-ID must be a revision (a whole number), not {0:?}")]
pub struct BadLastEventId(pub String);

/// The revision a stream follows after: a reconnecting client's
/// `Last-Event-ID` when it sends one, else the `after` it asked for.
///
/// Fails when `Last-Event-ID` is not a whole number (decimal digits only)
/// that fits in 64 bits.
pub fn resume_after(last_event_id: Option<&str>, after: u64) -> Result<u64, BadLastEventId> {
    let Some(id) = last_event_id else {
        return Ok(after);
    };
    let bad = || BadLastEventId(id.to_owned());
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    id.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::state::EventKind;

    fn event(revision: u64, key: &str) -> Event {
        Event {
            revision,
            key: key.into(),
            kind: EventKind::Delete,
            old_value: Some(json!({"multi": "line\nvalue"})),
            new_value: None,
            timestamp: 5,
            source: "s".into(),
        }
    }

    #[test]
    fn a_transactions_revision_is_one_message_with_a_line_per_change() {
        let events = [event(9, "a/1"), event(9, "b/1"), event(9, "a/2")];
        let text = message(&events, "").unwrap();
        assert!(text.starts_with("id: 9\ndata: {"), "{text}");
        assert!(text.ends_with("}\n\n"), "{text}");
        let data: Vec<Value> = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(data.len(), 3, "a value's line feed stays escaped: {text}");
        assert_eq!(data[2]["key"], "a/2");
        assert_eq!(data[0]["old_value"]["multi"], "line\nvalue");

        let filtered = message(&events, "a/").unwrap();
        assert_eq!(filtered.matches("data: ").count(), 2);
        assert!(filtered.starts_with("id: 9\n"));
        assert_eq!(message(&events, "c/"), None);
        assert_eq!(message(&[], ""), None);
    }

    #[test]
    fn compaction_is_an_event_with_the_long_polls_answer() {
        let text = compacted(
            &Compacted {
                after: 1,
                compacted: 4,
            },
            10,
        );
        let data = text
            .strip_prefix("event: compacted\ndata: ")
            .and_then(|d| d.strip_suffix("\n\n"))
            .unwrap();
        let data: Value = serde_json::from_str(data).unwrap();
        assert_eq!(
            (
                &data["code"],
                &data["compacted"],
                &data["revision"],
                &data["status"]
            ),
            (&json!("compacted"), &json!(4), &json!(10), &json!(410))
        );
        assert!(
            data["message"]
                .as_str()
                .unwrap()
                .contains("revision 1 is compacted")
        );
    }

    #[test]
    fn a_reconnecting_client_resumes_after_its_last_event_id() {
        assert_eq!(resume_after(None, 3), Ok(3));
        assert_eq!(resume_after(Some("12"), 3), Ok(12));
        assert_eq!(resume_after(Some("0"), 3), Ok(0));
        for bad in ["", "x1", " 12", "+5", "-1", "18446744073709551616"] {
            assert_eq!(
                resume_after(Some(bad), 3),
                Err(BadLastEventId(bad.into())),
                "{bad:?}"
            );
        }
        assert_eq!(retry(1000), "retry: 1000\n\n");
        assert!(HEARTBEAT.starts_with(':') && HEARTBEAT.ends_with("\n\n"));
    }
}
