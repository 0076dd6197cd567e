//! Tombola's state component: a versioned key-value store for the platform
//! around the draws, served under `/api/v1/state`.
//!
//! Every write bumps one global revision and appends one event to a change
//! feed, in the same Lua script, so a client that lists keys at revision
//! `r` and follows the feed from `r + 1` sees every later change exactly
//! once and in order (etcd's model). Compare-and-swap compares JSON values
//! (`tombola-core`), then writes only if the key's modify revision is still
//! the one it read (Consul's `ModifyIndex`).
//!
//! # Layout
//! - [`router`]: the route table and dispatch; [`openapi`] documents it.
//! - Routes: [`entries`] (get, put, delete, compare-and-swap), [`txn`]
//!   (transactions after etcd's Txn), [`listing`]
//!   (keys by prefix, statistics), [`metrics`] (Prometheus), [`feed`] (the
//!   long-polled change feed) and [`stream`] (the same, as Server-Sent
//!   Events),
//!   [`snapshots`] (take, list, restore).
//! - [`store`] and [`scripts`]: the Redis keys and one Lua script per
//!   operation.
//! - [`writes`]: what every write shares: its `Idempotency-Key`, its
//!   answer from what it recorded, the answer to a retry.
//! - [`request`], [`auth`]: the `X-Source` and `Idempotency-Key` headers,
//!   tokens.
//!
//! Routing, bodies, queries, settings, the Redis connection and the error
//! envelope are `tombola-edge`'s, which also tells a client what a failed
//! write did (`outcome`). The rules (what a key, a value or metadata may
//! be, which names the routes keep, what a CAS compares, the event,
//! snapshot and idempotency record formats, what a retry is told) live in
//! [`tombola_core::state`].

pub mod auth;
pub mod entries;
pub mod feed;
pub mod listing;
pub mod metrics;
pub mod openapi;
pub mod request;
pub mod router;
pub mod scripts;
pub mod snapshots;
pub mod store;
pub mod stream;
pub mod txn;
pub mod writes;

/// The component's entry point. Exported only on wasm: the export's name
/// (`wasi:http/incoming-handler@0.2.0#handle`) is not a symbol a native
/// linker accepts, and native builds exist for the unit tests.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle(request: spin_sdk::http::IncomingRequest, out: spin_sdk::http::ResponseOutparam) {
    tombola_edge::host::init_tracing();
    router::dispatch(request, out).await
}
