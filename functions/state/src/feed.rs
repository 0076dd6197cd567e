//! The change feed: `GET /api/v1/state/events?after=&wait=&limit=`.
//!
//! Spin's HTTP trigger has no WebSockets, so the feed is long-polled (and,
//! with `Accept: text/event-stream`, streamed: [`crate::stream`]): when
//! nothing newer than `after` exists, the request waits up to `wait`
//! seconds, checking Redis every [`POLL_INTERVAL`], and answers as soon as
//! a change lands (or with no events when the wait runs out). A revision
//! the feed no longer holds answers 410, as etcd reports compaction.
//!
//! The store keeps each event in parts; tombola-core's `Event` reads them
//! (and the JSON events of earlier builds) and makes the feed's JSON.

use std::time::{Duration, Instant};

use serde::Serialize;
use spin_sdk::http::Response;
use tombola_core::state::stream::{LAST_EVENT_ID_HEADER, resume_after};
use tombola_core::state::{Event, ListQuery, check_feed_start};

use tombola_edge::answer;
use tombola_edge::error::ApiError;
use tombola_edge::redis::StoreError;
use tombola_edge::route::{query, query_number};

use crate::store::Store;

/// The longest wait a request may ask for, in seconds.
pub const MAX_WAIT_SECS: u64 = 30;

/// How often a waiting request checks for changes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The most revisions one answer carries (a transaction's changes share
/// one).
pub const MAX_EVENTS: u64 = 1000;

#[derive(Debug, Serialize)]
struct Events {
    events: Vec<Event>,
    /// The current revision.
    revision: u64,
    /// The `after` to ask with next: the last revision read.
    next_after: u64,
}

/// Where a follower starts, as the long poll and the stream both read
/// it: after `Last-Event-ID` when it is sent (a reconnecting
/// `EventSource`), else after `after`; only keys starting with `prefix`.
pub fn start(query_string: &str, last_event_id: Option<&str>) -> Result<(u64, String), ApiError> {
    let after = query_number(query_string, "after", 0, 0..=u64::MAX)?;
    let after = resume_after(last_event_id, after)
        .map_err(|e| ApiError::bad_request(LAST_EVENT_ID_HEADER, e.to_string()))?;
    let prefix = query(query_string, "prefix")?.unwrap_or_default();
    ListQuery::new(Some(&prefix), None, None)
        .map_err(|e| ApiError::bad_request(e.field(), e.to_string()))?;
    Ok((after, prefix))
}

/// Serves the feed.
pub fn events(
    store: &Store,
    query: &str,
    last_event_id: Option<&str>,
) -> Result<Response, ApiError> {
    let (after, prefix) = start(query, last_event_id)?;
    let wait = query_number(query, "wait", 0, 0..=MAX_WAIT_SECS)?;
    let limit = query_number(query, "limit", MAX_EVENTS, 1..=MAX_EVENTS)?;
    let deadline = Instant::now() + Duration::from_secs(wait);
    loop {
        let feed = store.events(after, limit)?;
        if let Err(compacted) = check_feed_start(after, feed.compacted) {
            tracing::debug!(
                after,
                compacted = feed.compacted,
                "feed asked for a compacted revision"
            );
            return Err(
                ApiError::new(410, "compacted", "Compacted", compacted.to_string())
                    .with("compacted", feed.compacted)
                    .with("revision", feed.revision),
            );
        }
        if feed.events.is_empty() && Instant::now() < deadline {
            std::thread::sleep(POLL_INTERVAL);
            continue;
        }
        let revisions = decode(&feed.events)?;
        check_order(after, &revisions)?;
        // The last revision read, whether or not it had the prefix.
        let next_after = revisions
            .last()
            .and_then(|events| events.first())
            .map_or(after, |e| e.revision);
        let events: Vec<Event> = revisions
            .into_iter()
            .flatten()
            .filter(|e| e.key.starts_with(&prefix))
            .collect();
        return Ok(answer::envelope(
            200,
            &Events {
                events,
                revision: feed.revision,
                next_after,
            },
        ));
    }
}

/// The stored revisions as events (each one change, or a transaction's).
pub fn decode(stored: &[String]) -> Result<Vec<Vec<Event>>, ApiError> {
    stored
        .iter()
        .map(|text| {
            Event::decode_revision(text)
                .map_err(|e| StoreError::Data(format!("a stored event cannot be read: {e}")).into())
        })
        .collect()
}

/// The feed promises every revision from `after + 1` on, each one change
/// or a transaction's changes; a gap would silently skip a change, so it
/// is an error, never an answer.
pub fn check_order(after: u64, revisions: &[Vec<Event>]) -> Result<(), ApiError> {
    for (i, revision) in revisions.iter().enumerate() {
        let expected = after + 1 + i as u64;
        // decode_revision holds a transaction's events to one revision.
        if let Some(event) = revision.first().filter(|e| e.revision != expected) {
            return Err(StoreError::Data(format!(
                "the feed after {after} holds revision {} where {expected} belongs",
                event.revision
            ))
            .into());
        }
    }
    Ok(())
}
