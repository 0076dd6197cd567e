//! The response envelope: `{"success": true, "data": ...}` or
//! `{"success": false, "error": {...}}`.
//!
//! Every error goes through [`ApiError`], so a client always gets the same
//! shape: `code` (a stable slug), `message`, `status`, `field` (the input
//! at fault) on a 400, and members of the error's own (a CAS mismatch
//! carries the current value and version). A 503 carries `Retry-After`,
//! a 405 `Allow`. An error of a write that failed in Redis carries
//! `outcome`: `not-written`, or `unknown` once its script was sent.

use serde::Serialize;
use spin_sdk::http::Response;

use crate::store::{StoreError, WriteFailed};

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 1;

/// One error answer.
#[derive(Debug, PartialEq, Serialize)]
pub struct ApiError {
    /// A stable slug naming the kind of error.
    pub code: &'static str,
    /// What went wrong in this request.
    pub message: String,
    /// The HTTP status code.
    pub status: u16,
    /// The request field at fault, for 400s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Members of this kind of error's own.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Response headers of this kind of error's own (`Allow` on a 405).
    #[serde(skip)]
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    /// An error of the given status and code.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            status,
            field: None,
            extra: serde_json::Map::new(),
            headers: Vec::new(),
        }
    }

    /// 400 for bad input, naming the field at fault.
    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        let mut error = Self::new(400, "bad-request", message);
        error.field = Some(field.to_owned());
        error
    }

    /// 404 for a key that does not exist.
    pub fn no_key(key: &str) -> Self {
        Self::new(404, "not-found", format!("no key {key:?}"))
    }

    /// 405 for a path that exists but not with `method`; `allow` lists the
    /// methods it takes, in the `Allow` header RFC 9110 requires.
    pub fn method_not_allowed(path: &str, method: &str, allow: &[&str]) -> Self {
        let mut error = Self::new(
            405,
            "method-not-allowed",
            format!(
                "{path} does not accept {method}; it accepts {}",
                allow.join(", ")
            ),
        );
        error.headers.push(("allow", allow.join(", ")));
        error
    }

    /// Adds a member of the error's own.
    pub fn with(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).expect("error members always serialize");
        self.extra.insert(name.to_owned(), value);
        self
    }

    /// The HTTP answer.
    pub fn into_response(self) -> Response {
        let status = self.status;
        let body = serde_json::json!({"success": false, "error": self});
        let mut builder = Response::builder();
        builder
            .status(status)
            .header("content-type", "application/json");
        if status == 503 {
            builder.header("retry-after", RETRY_AFTER_SECS.to_string());
        }
        for (name, value) in &self.headers {
            builder.header(*name, value.as_str());
        }
        builder
            .body(serde_json::to_vec(&body).expect("an error always serializes"))
            .build()
    }
}

/// A successful answer with `data`.
pub fn ok<T: Serialize>(status: u16, data: &T) -> Response {
    ok_with(status, data, &[])
}

/// A successful answer with `data` and headers of its own.
pub fn ok_with<T: Serialize>(status: u16, data: &T, headers: &[(&str, &str)]) -> Response {
    let body = serde_json::to_vec(&serde_json::json!({"success": true, "data": data}))
        .expect("response types always serialize");
    let mut builder = Response::builder();
    builder
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder.header(*name, *value);
    }
    builder.body(body).build()
}

/// The status and code of a Redis failure.
fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Unavailable(m) | StoreError::Unknown(m) => {
            ApiError::new(503, "redis-unavailable", m)
        }
        StoreError::NotConfigured(m) => ApiError::new(500, "not-configured", m),
        StoreError::Busy(m) => ApiError::new(503, "redis-busy", m),
        StoreError::Data(m) => ApiError::new(500, "redis-data-error", m),
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(
            kind = error.kind(),
            error = error.message(),
            "redis step failed"
        );
        store_error(error)
    }
}

impl From<WriteFailed> for ApiError {
    fn from(failed: WriteFailed) -> Self {
        let outcome = failed.outcome;
        tracing::error!(
            kind = failed.error.kind(),
            error = failed.error.message(),
            outcome = outcome.name(),
            "redis step of a write failed"
        );
        let mut error = store_error(failed.error);
        error.message = format!("{}: {}", error.message, outcome.explain());
        error.with("outcome", outcome.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialize_with_their_own_members() {
        let error = ApiError::bad_request("value", "must not be null").with("limit", 5);
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            serde_json::json!({"code": "bad-request", "message": "must not be null",
                "status": 400, "field": "value", "limit": 5})
        );
        let store: ApiError = StoreError::Unavailable("connect: refused".into()).into();
        assert_eq!((store.status, store.code), (503, "redis-unavailable"));
        assert!(store.extra.is_empty(), "a read has no outcome");
        let data: ApiError = StoreError::Data("bad reply".into()).into();
        assert_eq!((data.status, data.code), (500, "redis-data-error"));
    }

    #[test]
    fn a_failed_write_says_whether_anything_was_written() {
        let unsent: ApiError =
            WriteFailed::unsent(StoreError::Unavailable("connect: refused".into())).into();
        assert_eq!((unsent.status, unsent.code), (503, "redis-unavailable"));
        assert_eq!(unsent.extra["outcome"], "not-written");
        assert!(
            unsent
                .message
                .starts_with("connect: refused: nothing was written"),
            "{}",
            unsent.message
        );
        let sent: ApiError =
            WriteFailed::sent(StoreError::Unavailable("put.lua: timed out".into())).into();
        assert_eq!((sent.status, sent.code), (503, "redis-unavailable"));
        assert_eq!(sent.extra["outcome"], "unknown");
        assert!(
            sent.message.contains("may or may not have been applied"),
            "{}",
            sent.message
        );
        let busy: ApiError = WriteFailed::sent(StoreError::Busy("OOM".into())).into();
        assert_eq!(
            (busy.status, busy.code, &busy.extra["outcome"]),
            (503, "redis-busy", &serde_json::json!("unknown"))
        );
        let data: ApiError = WriteFailed::sent(StoreError::Data("bad reply".into())).into();
        assert_eq!(
            (data.status, data.code, &data.extra["outcome"]),
            (500, "redis-data-error", &serde_json::json!("unknown"))
        );
    }

    #[test]
    fn a_405_names_the_allowed_methods_in_allow_and_not_in_the_body() {
        let error = ApiError::method_not_allowed("/api/v1/state/k", "POST", &["GET", "PUT"]);
        assert_eq!((error.status, error.code), (405, "method-not-allowed"));
        assert_eq!(error.headers, vec![("allow", "GET, PUT".to_owned())]);
        let body = serde_json::to_value(&error).unwrap();
        assert!(body.get("headers").is_none(), "{body}");
        assert!(
            error.message.ends_with("it accepts GET, PUT"),
            "{}",
            error.message
        );
    }
}
