//! Tombola's draw component: a Spin HTTP component serving the draw engine.
//!
//! Every change to a pool is one entry appended to the pool's log in Redis
//! by a Lua script, atomically with the request-id check and the read of
//! the newest snapshot and tail; the outcome is then computed by replay
//! (`tombola-core`), recorded, and only then answered.
//!
//! # Layout
//! - [`router`]: the route table and dispatch; [`openapi`] documents it.
//! - Routes: [`health`], [`pools`] (create, list, show), [`draws`],
//!   [`operations`] (multi-draws: run, resume, roll back), [`admin`]
//!   (restock, close, recover), [`audit`], [`log`], [`metrics`],
//!   [`fairness`] (rules 2: rotate, the fairness listing, a draw's proof).
//! - [`commit`]: append once, replay, record; the one place that goes back
//!   to Redis when the core says a tail is not enough.
//! - [`store`] and [`scripts`]: moving the core's keys and formats to and
//!   from Redis, one Lua script per round trip.
//! - [`catalog`]: the pool catalog, in Redis beside the logs.
//! - [`request`], [`auth`], [`errors`]: bodies, operator tokens, and what
//!   each refusal of the core is told.
//! - [`backend`]: the Redis address, the clock and seeds.
//!
//! Handlers stay thin: parse, ask `tombola-core`, persist in one script,
//! answer. Every rule that decides what a client is told is the core's.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod backend;
pub mod catalog;
pub mod commit;
pub mod draws;
pub mod errors;
pub mod fairness;
pub mod health;
pub mod log;
pub mod metrics;
pub mod openapi;
pub mod operations;
pub mod pools;
pub mod request;
pub mod router;
pub mod scripts;
pub mod store;

/// The component's entry point. Exported only on wasm: the export's name
/// (`wasi:http/incoming-handler@0.2.0#handle`) is not a symbol a native
/// linker accepts, and native builds exist for the unit tests.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle(request: spin_sdk::http::IncomingRequest) -> spin_sdk::http::Response {
    tombola_edge::host::init_tracing();
    router::dispatch(request).await
}
