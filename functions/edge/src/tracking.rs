//! Request tracking and sessions, when the `track_requests` variable is
//! `true`: [`begin`] before a route runs, [`finish`] with its answer.
//!
//! The correlation id is taken from `X-Correlation-Id` when valid, else
//! generated from the host's CSPRNG, and returned on the answer. What is
//! recorded, under which keys and for how long is tombola-core's
//! ([`tombola_core::state::tracking`]); the records are written in one
//! script call after the route has answered (`request_state_ttl_secs`,
//! `session_state_ttl_secs`), and a failure to write them is logged, never
//! the request's failure.

use spin_sdk::http::{IncomingRequest, Response};
use tombola_core::state::tracking::{
    CORRELATION_ID_HEADER, DEFAULT_REQUEST_STATE_TTL_SECS, DEFAULT_SESSION_STATE_TTL_SECS,
    USER_ID_HEADER, completion, completion_key, correlation_id, generated_id, request_key, session,
    session_key, started, user,
};

use crate::redis::Script;
use crate::{host, settings};

const TRACK: Script = Script::writing("tracking.lua", "", include_str!("tracking.lua"));

/// A request being tracked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// Its correlation id.
    pub correlation_id: String,
    user: Option<String>,
    start: u64,
    record: String,
}

/// Whether `track_requests` is on.
pub fn enabled() -> bool {
    settings::text("track_requests", "false").trim() == "true"
}

/// Starts tracking a request of `method` to `path`, when tracking is on.
pub fn begin(request: &IncomingRequest, method: &str, path: &str) -> Option<Tracked> {
    if !enabled() {
        return None;
    }
    let headers: Vec<(String, String)> = request
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let header = |wanted: &str| {
        headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.as_str())
    };
    let generated = generated_id(host::seed(), host::seed());
    let correlation_id = correlation_id(header(CORRELATION_ID_HEADER), &generated);
    let user = user(header(USER_ID_HEADER)).map(str::to_owned);
    let start = host::now_millis();
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    Some(Tracked {
        record: started(method, path, start, &pairs),
        correlation_id,
        user,
        start,
    })
}

/// Records a tracked request with its answer, and returns the answer with
/// its `X-Correlation-Id`.
pub fn finish(tracked: Option<Tracked>, mut response: Response) -> Response {
    let Some(tracked) = tracked else {
        return response;
    };
    let end = host::now_millis();
    let done = completion(tracked.start, end, *response.status());
    let ttl = settings::number("request_state_ttl_secs", DEFAULT_REQUEST_STATE_TTL_SECS).max(1);
    let session_ttl =
        settings::number("session_state_ttl_secs", DEFAULT_SESSION_STATE_TTL_SECS).max(1);
    let id = &tracked.correlation_id;
    let mut keys = vec![request_key(id), completion_key(id)];
    let mut now_session = String::new();
    if let Some(user) = &tracked.user {
        keys.push(session_key(user));
        now_session = session(id, end);
    }
    let (ttl, session_ttl) = (ttl.to_string(), session_ttl.to_string());
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let args: [&[u8]; 5] = [
        tracked.record.as_bytes(),
        done.as_bytes(),
        ttl.as_bytes(),
        now_session.as_bytes(),
        session_ttl.as_bytes(),
    ];
    let written = crate::redis::connect(&crate::redis::address())
        .and_then(|conn| TRACK.call(&conn, &keys, &args));
    if let Err(error) = written {
        tracing::warn!(correlation_id = %id, error = %error.message(), "the request's tracking records were not written");
    }
    response.set_header(CORRELATION_ID_HEADER.to_ascii_lowercase(), id.clone());
    response
}
