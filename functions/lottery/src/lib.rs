//! Tombola's lottery cloud: a Spin HTTP component in the cloud app, the
//! source of truth for games and each store's bins, and where each store's
//! packs and day closes arrive, all in Redis under `/v1/lottery`.
//!
//! Operators register stores (each gets an API key, shown once and kept
//! as a SHA-256), define games and manage bins. A store's app pulls the
//! games and bins changed since its cookie and pushes its outbox after
//! Replicache's rules; the rules are `tombola_core::lottery`'s
//! ([`tombola_core::lottery::decide_push`], `pull_page`, the merges), this
//! component reads, asks the core, and writes in one script.
//!
//! # Layout
//! - [`router`]: the route table and dispatch; [`openapi`] documents it.
//! - Routes: [`games`], [`stores`] (register, show, rotate the key),
//!   [`bins`], [`packs`] (packs, settlements, day closes), [`pull`],
//!   [`push`].
//! - [`store`] and [`scripts`]: the core's keys and records to and from
//!   Redis, one Lua script per round trip.
//! - [`auth`]: the operator token and the stores' keys; [`request`]:
//!   bodies and path parameters.

pub mod auth;
pub mod bins;
pub mod games;
pub mod openapi;
pub mod packs;
pub mod pull;
pub mod push;
pub mod request;
pub mod router;
pub mod scripts;
pub mod store;
pub mod stores;

/// The component's entry point. Exported only on wasm: the export's name
/// (`wasi:http/incoming-handler@0.2.0#handle`) is not a symbol a native
/// linker accepts, and native builds exist for the unit tests.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle(request: spin_sdk::http::IncomingRequest) -> spin_sdk::http::Response {
    tombola_edge::host::init_tracing();
    router::dispatch(request).await
}
