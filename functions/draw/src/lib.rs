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
//!   (restock, close, recover), [`audit`], [`log`].
//! - [`commit`]: append once, replay, record: the one write path.
//! - [`ledger`]: choosing where replay starts, falling back to the archive.
//! - [`store`] and [`scripts`]: the Redis keys and Lua scripts.
//! - [`catalog`]: the pool catalog in Spin's key-value store.
//! - [`request`], [`auth`], [`problem`]: input, operator tokens, errors.
//! - [`backend`]: variables, connections, clock and seeds from the host.
//!
//! Handlers stay thin: everything that decides an outcome lives in `tombola-core`.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod backend;
pub mod catalog;
pub mod commit;
pub mod draws;
pub mod health;
pub mod ledger;
pub mod log;
pub mod openapi;
pub mod operations;
pub mod pools;
pub mod problem;
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
