//! Request tracking and sessions, as the state manager's middleware kept
//! them: when `track_requests` is on, the draw and state components record
//! each request and refresh the session of the user it names.
//!
//! What is recorded is decided here: the request's method, path, start
//! time and an allow-listed set of its headers ([`RECORDED_HEADERS`]:
//! never a token, a cookie or any other secret); its completion (end time,
//! status, duration); and the user's session. The records live in Redis
//! under one hash tag ([`request_key`], [`completion_key`],
//! [`session_key`]), as JSON, with a TTL.
//!
//! ```
//! use tombola_core::state::tracking::{correlation_id, started};
//!
//! assert_eq!(correlation_id(Some("order-42"), "generated"), "order-42");
//! assert_eq!(correlation_id(Some("bad id!"), "generated"), "generated");
//! let record = started("GET", "/v1/pools", 1_000, &[
//!     ("Authorization", "Bearer s3cret"),
//!     ("User-Agent", "curl/8"),
//! ]);
//! assert_eq!(
//!     record,
//!     r#"{"headers":{"user-agent":"curl/8"},"method":"GET","path":"/v1/pools","start_time":1000}"#
//! );
//! ```

use std::collections::BTreeMap;

use serde_json::json;

/// The header that carries a request's correlation id, taken from the
/// request when valid and returned on the answer.
pub const CORRELATION_ID_HEADER: &str = "X-Correlation-Id";

/// The header that names the request's user, whose session it refreshes.
pub const USER_ID_HEADER: &str = "X-User-Id";

/// The request headers a record keeps (lower case); every other header,
/// `Authorization`, `Cookie` and `Idempotency-Key` among them, is left
/// out.
pub const RECORDED_HEADERS: &[&str] = &[
    "accept",
    "content-length",
    "content-type",
    "user-agent",
    "x-forwarded-for",
    "x-source",
    "x-user-id",
];

/// How long request records are kept when `request_state_ttl_secs` is not
/// set.
pub const DEFAULT_REQUEST_STATE_TTL_SECS: u64 = 300;

/// How long a session is kept when `session_state_ttl_secs` is not set.
pub const DEFAULT_SESSION_STATE_TTL_SECS: u64 = 3600;

/// The longest correlation or user id.
pub const MAX_ID_LEN: usize = 128;

/// Whether `id` may be a correlation or user id: 1 to [`MAX_ID_LEN`]
/// characters from `A-Z a-z 0-9 - _ . :`.
pub fn is_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The request's correlation id: the one it carries when valid, else
/// `generated` (an invalid one is replaced, never refused: tracking must
/// not fail a request).
pub fn correlation_id(given: Option<&str>, generated: &str) -> String {
    given.filter(|id| is_id(id)).unwrap_or(generated).to_owned()
}

/// A generated correlation id from 128 random bits.
pub fn generated_id(high: u64, low: u64) -> String {
    format!("{high:016x}{low:016x}")
}

/// The user a request names, when the header holds a valid id.
pub fn user(given: Option<&str>) -> Option<&str> {
    given.filter(|id| is_id(id))
}

/// The key of a request's record.
pub fn request_key(correlation_id: &str) -> String {
    format!("tombola:{{track}}:request:{correlation_id}")
}

/// The key of a request's completion record.
pub fn completion_key(correlation_id: &str) -> String {
    format!("{}:completion", request_key(correlation_id))
}

/// The key of a user's session.
pub fn session_key(user: &str) -> String {
    format!("tombola:{{track}}:session:{user}")
}

/// The record of a request as it started: method, path, start time (ms
/// since the epoch) and the [`RECORDED_HEADERS`] it carries, as JSON.
pub fn started(method: &str, path: &str, start_time: u64, headers: &[(&str, &str)]) -> String {
    let kept: BTreeMap<String, &str> = headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), *value))
        .filter(|(name, _)| RECORDED_HEADERS.contains(&name.as_str()))
        .collect();
    json!({"method": method, "path": path, "start_time": start_time, "headers": kept}).to_string()
}

/// The record of a request's completion, as JSON.
pub fn completion(start_time: u64, end_time: u64, status: u16) -> String {
    json!({
        "end_time": end_time,
        "status": status,
        "duration_ms": end_time.saturating_sub(start_time),
    })
    .to_string()
}

/// A user's session after a request, as JSON.
pub fn session(correlation_id: &str, at: u64) -> String {
    json!({
        "last_request": at,
        "correlation_id": correlation_id,
        "active": true,
        "last_heartbeat": at,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn ids_are_taken_when_valid_and_generated_otherwise() {
        assert_eq!(correlation_id(None, "g"), "g");
        assert_eq!(correlation_id(Some("a-b_c.d:e"), "g"), "a-b_c.d:e");
        for bad in ["", "a b", "a/b", "é", &"x".repeat(MAX_ID_LEN + 1)] {
            assert_eq!(correlation_id(Some(bad), "g"), "g", "{bad:?}");
        }
        assert_eq!(generated_id(1, 0xab), "000000000000000100000000000000ab");
        assert_eq!(user(Some("u-42")), Some("u-42"));
        assert_eq!(user(Some("u 42")), None);
        assert_eq!(user(None), None);
    }

    #[test]
    fn records_keep_only_the_allowed_headers() {
        let record: Value = serde_json::from_str(&started(
            "PUT",
            "/api/v1/state/a",
            10,
            &[
                ("authorization", "Bearer adm1n"),
                ("Cookie", "session=1"),
                ("Idempotency-Key", "k"),
                ("X-Source", "deploy"),
                ("Content-Type", "application/json"),
            ],
        ))
        .unwrap();
        assert_eq!(
            record,
            json!({"method": "PUT", "path": "/api/v1/state/a", "start_time": 10,
                   "headers": {"x-source": "deploy", "content-type": "application/json"}})
        );
        for name in RECORDED_HEADERS {
            assert!(!["authorization", "cookie", "idempotency-key"].contains(name));
        }
    }

    #[test]
    fn completions_and_sessions_say_when_and_what() {
        let done: Value = serde_json::from_str(&completion(1_000, 1_250, 201)).unwrap();
        assert_eq!(
            done,
            json!({"end_time": 1_250, "status": 201, "duration_ms": 250})
        );
        let clock_back: Value = serde_json::from_str(&completion(2, 1, 200)).unwrap();
        assert_eq!(clock_back["duration_ms"], 0);
        let s: Value = serde_json::from_str(&session("c1", 7)).unwrap();
        assert_eq!(
            s,
            json!({"last_request": 7, "correlation_id": "c1", "active": true, "last_heartbeat": 7})
        );
        assert_eq!(request_key("c1"), "tombola:{track}:request:c1");
        assert_eq!(
            completion_key("c1"),
            "tombola:{track}:request:c1:completion"
        );
        assert_eq!(session_key("u"), "tombola:{track}:session:u");
    }
}
