//! `GET /v1/health`: probes Redis, the component's one backing service.
//!
//! The probe opens a connection, as every route does, and sends `PING`.
//! Spin's outbound Redis has no connection pool to wait on: a Redis that
//! refuses connections fails the open at once, and the probe answers 503
//! with what failed; the first probe after Redis returns connects afresh.

use serde::Serialize;
use spin_sdk::http::Response;
use spin_sdk::redis::RedisResult;

use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::backend;

/// The status of one backing service.
#[derive(Debug, Serialize)]
pub struct Check {
    /// `ok` or `error`.
    pub status: &'static str,
    /// What failed, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The health answer.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok` when every check passed, else `unavailable`.
    pub status: &'static str,
    /// The Redis holding the logs and the catalog.
    pub redis: Check,
}

fn probe_redis() -> Result<(), String> {
    let address = backend::redis_address();
    let connection = tombola_edge::redis::connect(&address)
        .map_err(|e| format!("cannot connect to Redis at {address}: {}", e.message()))?;
    match connection.execute("PING", &[]) {
        Ok(reply) if reply == [RedisResult::Status("PONG".into())] => Ok(()),
        Ok(reply) => Err(format!("unexpected PING reply {reply:?}")),
        Err(e) => Err(format!("PING failed: {}", backend::describe_redis(&e))),
    }
}

/// Probes Redis and answers 200, or 503 with what failed.
pub async fn get() -> Response {
    match probe_redis() {
        Ok(()) => {
            tracing::debug!("health probe passed");
            answer::json(
                200,
                &Health {
                    status: "ok",
                    redis: Check {
                        status: "ok",
                        error: None,
                    },
                },
            )
        }
        Err(error) => {
            tracing::error!(service = "redis", error = %error, "health probe failed");
            let check = Check {
                status: "error",
                error: Some(error.clone()),
            };
            ApiError::new(
                503,
                "backend-unavailable",
                "Service unavailable",
                format!("redis: {error}"),
            )
            .with("redis", &check)
            .render(tombola_edge::error::Format::Problem)
        }
    }
}
