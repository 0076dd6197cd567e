//! The change feed pushed: `GET /api/v1/state/events` with
//! `Accept: text/event-stream` streams the feed as Server-Sent Events.
//!
//! Spin's HTTP trigger has no WebSockets but streams a response body as
//! the guest writes it, so the stream is the long poll's loop kept open:
//! it reads the feed every [`POLL_INTERVAL`], sends each revision as one
//! message (tombola-core's [`stream`](tombola_core::state::stream): `id:`
//! the revision, a `data:` line per change), a [`HEARTBEAT`] comment after
//! [`HEARTBEAT_EVERY`] with nothing to send, and a `compacted` event, then
//! the end, when the follower is behind compaction. It starts after
//! `Last-Event-ID` when a reconnecting client sends one, else after
//! `after`; `prefix` keeps the changes of keys that start with it.
//!
//! A stream lasts at most `events_stream_secs` (default
//! [`DEFAULT_STREAM_SECS`]): Spin has no per-request timeout, but clients
//! and proxies do, and a browser's `EventSource` reconnects by itself
//! (after the `retry:` the stream starts with) and resumes where it was.
//! Redis failing under a stream ends it; the reconnect is then answered
//! 503 until Redis is back.

use std::time::{Duration, Instant};

use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use tombola_core::state::stream::{HEARTBEAT, LAST_EVENT_ID_HEADER, compacted, message, retry};
use tombola_core::state::{Event, check_feed_start};
use tombola_edge::error::{ApiError, Format};
use tombola_edge::outparam::{self, write};
use tombola_edge::settings;

use crate::auth::{Access, Tokens};
use crate::feed::{self, MAX_EVENTS, POLL_INTERVAL};
use crate::request::header;
use crate::store::Store;

/// The media type that asks for the stream.
pub const EVENT_STREAM: &str = "text/event-stream";

/// How long a stream with nothing to send waits before a heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(3);

/// How long a stream lasts when `events_stream_secs` is not set.
pub const DEFAULT_STREAM_SECS: u64 = 300;

/// How long a client waits before it reconnects, in milliseconds.
const RETRY_MS: u64 = 1000;

/// Whether a request to the feed asks for the stream.
pub fn wanted(request: &IncomingRequest) -> bool {
    header(request, "accept").is_some_and(|accept| {
        accept
            .split(',')
            .any(|kind| kind.split(';').next().unwrap_or("").trim() == EVENT_STREAM)
    })
}

/// Where a stream starts, checked before anything is sent: the token, the
/// revision to follow after, and the key prefix.
fn open(request: &IncomingRequest, query_string: &str) -> Result<(Store, u64, String), ApiError> {
    Tokens::load().check(header(request, "authorization").as_deref(), Access::Read)?;
    let last = header(request, LAST_EVENT_ID_HEADER);
    let (after, prefix) = feed::start(query_string, last.as_deref())?;
    Ok((Store::open()?, after, prefix))
}

/// Serves the stream, or the error that keeps it from starting, whole.
pub async fn serve(request: IncomingRequest, query_string: &str, out: ResponseOutparam) {
    match open(&request, query_string) {
        Ok((store, after, prefix)) => follow(&store, after, &prefix, out).await,
        Err(error) => {
            error.log("GET", "/api/v1/state/events");
            outparam::send_whole(out, error.render(Format::Envelope)).await;
        }
    }
}

async fn follow(store: &Store, mut after: u64, prefix: &str, out: ResponseOutparam) {
    let lifetime = settings::number("events_stream_secs", DEFAULT_STREAM_SECS);
    let end = Instant::now() + Duration::from_secs(lifetime);
    let mut body = outparam::start_stream(
        out,
        &[
            ("content-type", EVENT_STREAM),
            ("cache-control", "no-cache"),
            ("x-accel-buffering", "no"),
        ],
    );
    tracing::info!(after, prefix, lifetime, "event stream opened");
    if !write(&mut body, &retry(RETRY_MS)).await {
        return;
    }
    let mut quiet_since = Instant::now();
    while Instant::now() < end {
        let read = store.events(after, MAX_EVENTS).map_err(ApiError::from);
        let feed = match read {
            Ok(feed) => feed,
            Err(error) => {
                tracing::warn!(after, detail = %error.detail, "the event stream lost Redis; ending it");
                return;
            }
        };
        if let Err(gone) = check_feed_start(after, feed.compacted) {
            tracing::debug!(
                after,
                compacted = feed.compacted,
                "event stream behind compaction"
            );
            write(&mut body, &compacted(&gone, feed.revision)).await;
            return;
        }
        let revisions = match decode(after, &feed.events) {
            Ok(revisions) => revisions,
            Err(error) => {
                tracing::error!(after, detail = %error.detail, "the event stream read a bad feed; ending it");
                return;
            }
        };
        let text: String = revisions
            .iter()
            .filter_map(|events| message(events, prefix))
            .collect();
        if let Some(last) = revisions.last().and_then(|events| events.first()) {
            after = last.revision;
        }
        if !text.is_empty() {
            if !write(&mut body, &text).await {
                tracing::debug!(after, "event stream client went away");
                return;
            }
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() >= HEARTBEAT_EVERY {
            if !write(&mut body, HEARTBEAT).await {
                tracing::debug!(after, "event stream client went away");
                return;
            }
            quiet_since = Instant::now();
        }
        if revisions.is_empty() {
            std::thread::sleep(POLL_INTERVAL);
        }
    }
    tracing::debug!(after, "event stream reached its lifetime");
}

/// The feed's stored revisions as events, held to the feed's order.
fn decode(after: u64, stored: &[String]) -> Result<Vec<Vec<Event>>, ApiError> {
    let revisions = feed::decode(stored)?;
    feed::check_order(after, &revisions)?;
    Ok(revisions)
}
