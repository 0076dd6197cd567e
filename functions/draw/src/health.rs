//! `GET /v1/health`: probes Spin's key-value store and Redis.
//!
//! The key-value probe writes a key and reads it back; the Redis probe sends
//! `PING`. Either failing answers 503, with the status of both, so an
//! operator sees at once which service is down.

use serde::Serialize;
use spin_sdk::http::Response;
use spin_sdk::redis::RedisResult;

use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::backend;

const PROBE_PREFIX: &str = "tombola:health:probe:";

/// The status of one backing service.
#[derive(Debug, Serialize)]
pub struct Check {
    /// `ok` or `error`.
    pub status: &'static str,
    /// What failed, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Check {
    fn from_result(result: Result<(), String>) -> Self {
        match result {
            Ok(()) => Self {
                status: "ok",
                error: None,
            },
            Err(error) => Self {
                status: "error",
                error: Some(error),
            },
        }
    }

    fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// The health answer.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok` when every check passed, else `unavailable`.
    pub status: &'static str,
    /// Spin's key-value store.
    pub key_value: Check,
    /// The Redis holding the logs.
    pub redis: Check,
}

fn probe_key_value() -> Result<(), String> {
    let describe = backend::describe_key_value;
    let store = backend::key_value().map_err(|e| format!("cannot open store: {}", describe(&e)))?;
    // A key of its own per probe, so concurrent probes cannot read each
    // other's values.
    let token = format!("{:016x}", backend::seed());
    let key = format!("{PROBE_PREFIX}{token}");
    store
        .set(&key, token.as_bytes())
        .map_err(|e| format!("cannot write probe key: {}", describe(&e)))?;
    let read = store.get(&key);
    if let Err(e) = store.delete(&key) {
        tracing::warn!(key = %key, error = %describe(&e), "cannot delete the probe key");
    }
    match read {
        Ok(Some(read)) if read == token.as_bytes() => Ok(()),
        Ok(Some(_)) => Err("probe key read back a different value".into()),
        Ok(None) => Err("probe key vanished after writing it".into()),
        Err(e) => Err(format!("cannot read probe key: {}", describe(&e))),
    }
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

/// Runs both probes and answers 200 or 503.
pub async fn get() -> Response {
    let health = Health {
        status: "ok",
        key_value: Check::from_result(probe_key_value()),
        redis: Check::from_result(probe_redis()),
    };
    if health.key_value.is_ok() && health.redis.is_ok() {
        tracing::debug!("health probe passed");
        return answer::json(200, &health);
    }
    for (service, check) in [("key_value", &health.key_value), ("redis", &health.redis)] {
        if let Some(error) = &check.error {
            tracing::error!(service, error = %error, "health probe failed");
        }
    }
    let detail = [("key-value", &health.key_value), ("redis", &health.redis)]
        .iter()
        .filter_map(|(name, check)| check.error.as_ref().map(|e| format!("{name}: {e}")))
        .collect::<Vec<_>>()
        .join("; ");
    ApiError::new(503, "backend-unavailable", "Service unavailable", detail)
        .with("key_value", &health.key_value)
        .with("redis", &health.redis)
        .render(tombola_edge::error::Format::Problem)
}
