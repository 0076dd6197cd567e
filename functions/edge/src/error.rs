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

use std::fmt::Display;

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

    /// `text`, the value of `name` (a path parameter, a body's field, a
    /// header), parsed by `parse`.
    ///
    /// # Errors
    ///
    /// 400 naming `name`, quoting `text` and saying why `parse` refused it.
    pub fn parsed<T, E: Display>(
        name: &str,
        text: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, Self> {
        parse(text).map_err(|e| Self::bad_request(name, format!("{name} {text:?} {e}")))
    }

    /// 401 for a route that needs a bearer token and got none.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", "Unauthorized", detail)
    }

    /// 403 for a token that does not open the route.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, "forbidden", "Forbidden", detail)
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
    /// A Redis failure: 503 `redis-unavailable` or `redis-busy` (retry),
    /// 500 `redis-data-error` or `not-configured` (an operator must look).
    /// The failure of a write also says what can be known of it
    /// ([`crate::redis::Outcome`]): in `outcome`, and at the end of the
    /// detail.
    fn from(error: StoreError) -> Self {
        let outcome = error.outcome();
        tracing::error!(
            kind = error.kind(),
            outcome = outcome.map(|o| o.name()),
            error = error.message(),
            "redis step failed"
        );
        let message = error.message().to_owned();
        let answer = match error.cause() {
            StoreError::Busy(_) => ApiError::new(503, "redis-busy", "Service unavailable", message),
            StoreError::Data(_) => ApiError::new(
                500,
                "redis-data-error",
                "Stored data is not what Tombola writes",
                message,
            ),
            StoreError::NotConfigured(_) => ApiError::not_configured(message),
            // Unavailable: a cause is never marked.
            _ => ApiError::new(503, "redis-unavailable", "Service unavailable", message),
        };
        match outcome {
            Some(outcome) => {
                let detail = format!("{}: {}", answer.detail, outcome.explain());
                ApiError {
                    detail: detail.into_boxed_str(),
                    ..answer
                }
                .with("outcome", outcome.name())
            }
            None => answer,
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

    fn answer(error: StoreError) -> (u16, &'static str, Option<Value>, String) {
        let error = ApiError::from(error);
        let outcome = error.extra.get("outcome").cloned();
        (error.status, error.code, outcome, error.detail.into())
    }

    #[test]
    fn a_read_that_failed_has_no_outcome() {
        let refused = || StoreError::Unavailable("connect: refused".into());
        assert_eq!(
            answer(refused()),
            (503, "redis-unavailable", None, "connect: refused".into())
        );
        assert_eq!(answer(StoreError::Busy("LOADING".into())).1, "redis-busy");
        assert_eq!(
            answer(StoreError::Data("x".into())),
            (500, "redis-data-error", None, "x".into())
        );
        assert_eq!(
            answer(StoreError::NotConfigured("x".into())),
            (500, "not-configured", None, "x".into())
        );
    }

    #[test]
    fn a_write_that_failed_says_whether_anything_was_written() {
        let (status, code, outcome, detail) =
            answer(StoreError::Unavailable("connect: refused".into()).unsent());
        assert_eq!((status, code), (503, "redis-unavailable"));
        assert_eq!(outcome, Some(Value::from("not-written")));
        assert!(
            detail.starts_with("connect: refused: nothing was written"),
            "{detail}"
        );
        let (status, code, outcome, detail) =
            answer(StoreError::Unavailable("put.lua: timed out".into()).sent());
        assert_eq!((status, code), (503, "redis-unavailable"));
        assert_eq!(outcome, Some(Value::from("unknown")));
        assert!(
            detail.contains("may or may not have been applied")
                && !detail.contains("nothing was written"),
            "{detail}"
        );
        let busy = answer(StoreError::Busy("OOM".into()).sent());
        assert_eq!(
            (busy.0, busy.1, busy.2),
            (503, "redis-busy", Some(Value::from("unknown")))
        );
        let data = answer(StoreError::Data("bad reply".into()).sent());
        assert_eq!(
            (data.0, data.1, data.2),
            (500, "redis-data-error", Some(Value::from("unknown")))
        );
    }

    #[test]
    fn a_405_names_what_the_path_takes() {
        let error = ApiError::method_not_allowed("PUT", "/v1/pools", &["GET", "POST"]);
        assert_eq!(error.headers, [("allow", "GET, POST".to_owned())]);
        assert_eq!(ApiError::too_large(10).status, 413);
    }
}
