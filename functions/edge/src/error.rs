//! One error type for every component, rendered in either wire format.
//!
//! The draw, lottery and back-office APIs answer errors as
//! `application/problem+json` (RFC 9457): `type`, `title`, `status`,
//! `detail`, `field` on a 400, and members of the error's own. The state
//! API wraps the same error in its envelope, `{"success": false, "error":
//! {"code", "message", "status", "field"?, ...}}`. A handler builds an
//! [`ApiError`] and never thinks about the format; the component's
//! dispatch renders it with its [`Format`].
//!
//! Statuses keep the caller's fault apart from ours: 400 bad input, 401 and
//! 403 tokens, 404 an unknown thing, 405 a method the path does not take
//! (with `Allow`), 409 a conflict with what is stored, 413 a body over its
//! route's limit, 422 stored data that cannot be trusted, 500 our fault or
//! the configuration's, 503 the store unreachable (with `Retry-After`).

use serde::Serialize;
use serde_json::{Map, Value};
use spin_sdk::http::Response;

use crate::redis::StoreError;

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 1;

/// Where problem types live: `type` is this followed by the code.
pub const PROBLEM_BASE: &str = "https://tombola.dev/problems/";

/// How a component writes its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/problem+json`.
    Problem,
    /// The state API's `{"success": false, "error": ...}` envelope.
    Envelope,
}

/// One error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status code.
    pub status: u16,
    /// A stable slug naming the kind of error (`bad-request`, `pool-closed`).
    pub code: &'static str,
    /// A short summary of the kind of error.
    pub title: &'static str,
    /// What went wrong in this request.
    pub detail: Box<str>,
    /// The request field at fault, for 400s.
    pub field: Option<Box<str>>,
    /// Members of this kind of error's own (boxed: errors travel in
    /// `Result`s, which stay small).
    pub extra: Box<Map<String, Value>>,
    /// Response headers of this kind of error's own (`Allow` on a 405).
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    /// An error of the given status, code, title and detail.
    pub fn new(
        status: u16,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into().into_boxed_str(),
            field: None,
            extra: Box::default(),
            headers: Vec::new(),
        }
    }

    /// 400 for bad input, naming the field at fault.
    pub fn bad_request(field: &str, detail: impl Into<String>) -> Self {
        let mut error = Self::new(400, "bad-request", "Bad request", detail);
        error.field = Some(field.into());
        error
    }

    /// 404 for a thing that does not exist.
    pub fn not_found(code: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self::new(404, code, title, detail)
    }

    /// 409 for a request that conflicts with what is stored.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(409, code, "Conflict", detail)
    }

    /// 404 for a path no route serves.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::new(
            404,
            "not-found",
            "Not found",
            format!("no route for {method} {path}"),
        )
    }

    /// 405 for a known path asked with the wrong method, with the `Allow`
    /// header RFC 9110 asks for.
    pub fn method_not_allowed(method: &str, path: &str, allowed: &[&str]) -> Self {
        let allow = allowed.join(", ");
        let mut error = Self::new(
            405,
            "method-not-allowed",
            "Method not allowed",
            format!("{path} does not accept {method}, only {allow}"),
        );
        error.headers.push(("allow", allow));
        error
    }

    /// 413 for a body over its route's limit.
    pub fn too_large(max: usize) -> Self {
        Self::new(
            413,
            "body-too-large",
            "Content too large",
            format!("the request body is over this route's limit of {max} bytes"),
        )
        .with("limit", max)
    }

    /// 422 for stored data that cannot be trusted, naming where it is.
    pub fn unrecoverable(position: &str, reason: &str) -> Self {
        Self::new(
            422,
            "unrecoverable",
            "The stored history cannot be replayed",
            format!("{position}: {reason}"),
        )
        .with("position", position)
    }

    /// 500 for a configuration that cannot work (a missing secret, an
    /// address the manifest does not allow).
    pub fn not_configured(detail: impl Into<String>) -> Self {
        Self::new(500, "not-configured", "Server not configured", detail)
    }

    /// Adds a member of the error's own.
    pub fn with(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).expect("error members always serialize");
        self.extra.insert(name.to_owned(), value);
        self
    }

    /// Logs the error with the request it answers: our faults at error
    /// level, the caller's at debug.
    pub fn log(&self, method: &str, path: &str) {
        if self.status >= 500 {
            tracing::error!(%method, %path, status = self.status, code = %self.code, detail = %self.detail, "request failed");
        } else {
            tracing::debug!(%method, %path, status = self.status, code = %self.code, detail = %self.detail, "request refused");
        }
    }

    /// The HTTP answer, in `format`.
    pub fn render(self, format: Format) -> Response {
        let (content_type, body) = match format {
            Format::Problem => ("application/problem+json", self.problem_json()),
            Format::Envelope => ("application/json", self.envelope_json()),
        };
        let mut headers = self.headers;
        if self.status == 503 {
            headers.push(("retry-after", RETRY_AFTER_SECS.to_string()));
        }
        crate::answer::bytes(self.status, content_type, &headers, body)
    }

    fn problem_json(&self) -> Vec<u8> {
        let mut object = Map::new();
        object.insert("type".into(), format!("{PROBLEM_BASE}{}", self.code).into());
        object.insert("title".into(), self.title.into());
        object.insert("status".into(), self.status.into());
        object.insert("detail".into(), self.detail.as_ref().into());
        if let Some(field) = &self.field {
            object.insert("field".into(), field.as_ref().into());
        }
        object.extend(self.extra.as_ref().clone());
        serde_json::to_vec(&object).expect("a problem always serializes")
    }

    fn envelope_json(&self) -> Vec<u8> {
        let mut error = Map::new();
        error.insert("code".into(), self.code.into());
        error.insert("message".into(), self.detail.as_ref().into());
        error.insert("status".into(), self.status.into());
        if let Some(field) = &self.field {
            error.insert("field".into(), field.as_ref().into());
        }
        error.extend(self.extra.as_ref().clone());
        serde_json::to_vec(&serde_json::json!({ "success": false, "error": error }))
            .expect("an error always serializes")
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(
            kind = error.kind(),
            error = error.message(),
            "redis step failed"
        );
        match error {
            StoreError::Unavailable(message) => ApiError::new(
                503,
                "redis-unavailable",
                "Service unavailable",
                format!("{message}; nothing was written, retry later"),
            ),
            StoreError::Unknown(message) => ApiError::new(
                503,
                "redis-unavailable",
                "Service unavailable",
                format!(
                    "{message}; the outcome is unknown: retry with the same request id or idempotency key"
                ),
            )
            .with("outcome", "unknown"),
            StoreError::Busy(message) => {
                ApiError::new(503, "redis-busy", "Service unavailable", message)
            }
            StoreError::Data(message) => ApiError::new(
                500,
                "redis-data-error",
                "Stored data is not what Tombola writes",
                message,
            ),
            StoreError::NotConfigured(message) => ApiError::not_configured(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn both_formats_carry_the_same_error() {
        let error = ApiError::bad_request("items[2].id", "not an id").with("hint", 3);
        assert_eq!(
            parse(&error.problem_json()),
            serde_json::json!({
                "type": "https://tombola.dev/problems/bad-request", "title": "Bad request",
                "status": 400, "detail": "not an id", "field": "items[2].id", "hint": 3
            })
        );
        assert_eq!(
            parse(&error.envelope_json()),
            serde_json::json!({ "success": false, "error": {
                "code": "bad-request", "message": "not an id", "status": 400,
                "field": "items[2].id", "hint": 3
            }})
        );
    }

    #[test]
    fn store_errors_tell_written_from_unknown() {
        let unavailable = ApiError::from(StoreError::Unavailable("connect: refused".into()));
        assert_eq!(
            (unavailable.status, unavailable.extra.get("outcome")),
            (503, None)
        );
        assert!(unavailable.detail.contains("nothing was written"));
        let unknown = ApiError::from(StoreError::Unknown("append.lua: timed out".into()));
        assert_eq!(unknown.status, 503);
        assert_eq!(unknown.extra.get("outcome"), Some(&Value::from("unknown")));
        assert_eq!(ApiError::from(StoreError::Data("x".into())).status, 500);
        assert_eq!(
            ApiError::from(StoreError::NotConfigured("x".into())).status,
            500
        );
    }

    #[test]
    fn a_405_names_what_the_path_takes() {
        let error = ApiError::method_not_allowed("PUT", "/v1/pools", &["GET", "POST"]);
        assert_eq!(error.headers, [("allow", "GET, POST".to_owned())]);
        assert_eq!(ApiError::too_large(10).status, 413);
    }
}
