//! The change feed: `GET /api/v1/state/events?after=&wait=&limit=`.
//!
//! Spin's HTTP trigger has no WebSockets, so the feed is long-polled: when
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
use tombola_core::state::{Event, check_feed_start};

use tombola_edge::answer;
use tombola_edge::error::ApiError;
use tombola_edge::redis::StoreError;
use tombola_edge::route::query_number;

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
    /// The `after` to ask with next: the last event's revision.
    next_after: u64,
}

/// Serves the feed.
pub fn events(store: &Store, query: &str) -> Result<Response, ApiError> {
    let after = query_number(query, "after", 0, 0..=u64::MAX)?;
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
        let revisions = feed
            .events
            .iter()
            .map(|text| {
                Event::decode_revision(text)
                    .map_err(|e| StoreError::Data(format!("a stored event cannot be read: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        check_order(after, &revisions)?;
        let events: Vec<Event> = revisions.into_iter().flatten().collect();
        let next_after = events.last().map_or(after, |e| e.revision);
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

/// The feed promises every revision from `after + 1` on, each one change
/// or a transaction's changes; a gap would silently skip a change, so it
/// is an error, never an answer.
fn check_order(after: u64, revisions: &[Vec<Event>]) -> Result<(), ApiError> {
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
