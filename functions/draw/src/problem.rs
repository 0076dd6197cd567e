//! `application/problem+json` (RFC 9457) answers.
//!
//! Every error the component returns goes through [`Problem`], so a client
//! always gets the same shape: `type`, `title`, `status`, `detail`, and
//! fields of our own where they help (`field` for the input at fault).

use serde::Serialize;
use spin_sdk::http::Response;

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 1;

/// One error answer.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem, stable across releases.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this request.
    pub detail: Box<str>,
    /// The request field at fault, for 400s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<Box<str>>,
    /// Members of our own for this kind of problem (RFC 9457 extensions).
    #[serde(flatten)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
    /// The `Allow` header of a 405: the methods the path takes.
    #[serde(skip)]
    pub allow: Option<Box<str>>,
}

impl Problem {
    /// A problem of the given status, kind slug and title.
    pub fn new(status: u16, slug: &str, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://tombola.dev/problems/{slug}"),
            title,
            status,
            detail: detail.into().into_boxed_str(),
            field: None,
            extensions: serde_json::Map::new(),
            allow: None,
        }
    }

    /// 400 for bad input, naming the field at fault.
    pub fn bad_request(field: &str, detail: impl Into<String>) -> Self {
        let mut problem = Self::new(400, "bad-request", "Bad request", detail);
        problem.field = Some(field.into());
        problem
    }

    /// 404 for a pool that does not exist.
    pub fn no_pool(pool: &str) -> Self {
        Self::new(
            404,
            "no-such-pool",
            "No such pool",
            format!("no pool {pool:?}"),
        )
    }

    /// 409 for a request that conflicts with what is stored.
    pub fn conflict(slug: &str, detail: impl Into<String>) -> Self {
        Self::new(409, slug, "Conflict", detail)
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
        let mut problem = Self::new(
            405,
            "method-not-allowed",
            "Method not allowed",
            format!("{path} does not accept {method}, only {allow}"),
        );
        problem.allow = Some(allow.into_boxed_str());
        problem
    }

    /// 503 for a backing service that cannot be reached.
    pub fn unavailable(service: &str, detail: impl Into<String>) -> Self {
        Self::new(
            503,
            &format!("{service}-unavailable"),
            "Service unavailable",
            detail,
        )
    }

    /// Adds an extension member.
    pub fn with(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).expect("extension values always serialize");
        self.extensions.insert(name.to_owned(), value);
        self
    }

    /// The HTTP answer.
    pub fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).expect("a problem always serializes");
        let mut builder = Response::builder();
        builder
            .status(self.status)
            .header("content-type", "application/problem+json");
        if self.status == 503 {
            builder.header("retry-after", RETRY_AFTER_SECS.to_string());
        }
        if let Some(allow) = &self.allow {
            builder.header("allow", &**allow);
        }
        builder.body(body).build()
    }
}

/// A JSON answer with the given status.
pub fn json<T: Serialize>(status: u16, value: &T) -> Response {
    let body = serde_json::to_vec(value).expect("response types always serialize");
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body)
        .build()
}

impl From<crate::store::StoreError> for Problem {
    fn from(error: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        tracing::error!(
            kind = error.kind(),
            error = error.message(),
            "redis step failed"
        );
        match &error {
            StoreError::Unavailable(m) => Problem::unavailable("redis", m.clone()),
            StoreError::Busy(m) => {
                Problem::new(503, "redis-busy", "Service unavailable", m.clone())
            }
            StoreError::Data(m) => Problem::new(
                500,
                "redis-data-error",
                "Stored data is not what Tombola writes",
                m.clone(),
            ),
        }
    }
}

impl From<crate::ledger::LedgerError> for Problem {
    fn from(error: crate::ledger::LedgerError) -> Self {
        match error {
            crate::ledger::LedgerError::Store(e) => e.into(),
            crate::ledger::LedgerError::Unrecoverable { position, reason } => {
                tracing::error!(%position, %reason, "pool state cannot be computed");
                Problem::new(
                    422,
                    "unrecoverable",
                    "The pool's stored history cannot be replayed",
                    format!("{position}: {reason}"),
                )
                .with("position", position)
            }
        }
    }
}
