//! Tombola's draw component: a Spin HTTP component serving the draw engine.
//!
//! # Layout
//! - [`router`]: maps a method and path to a route; the one table the OpenAPI test reads.
//! - [`health`]: `GET /v1/health`, the probe of every backing service.
//! - [`problem`]: `application/problem+json` answers for every error.
//! - [`backend`]: opening Spin's key-value store and the Redis connection.
//!
//! Handlers stay thin: everything that decides an outcome lives in `tombola-core`.

pub mod backend;
pub mod health;
pub mod problem;
pub mod router;

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
async fn handle(request: IncomingRequest) -> Response {
    init_tracing();
    router::dispatch(request).await
}

/// Sends `tracing` events to stderr, which Spin keeps as the component's log.
fn init_tracing() {
    use std::sync::Once;
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let filter = spin_sdk::variables::get("log_level").unwrap_or_else(|_| "info".into());
        let level = filter.parse().unwrap_or(tracing::Level::INFO);
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .without_time()
            .init();
    });
}
