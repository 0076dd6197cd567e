//! Tombola's back office at the store: a Spin HTTP component over Spin's
//! SQLite, serving the store's lottery inventory under `/api/v1/lottery`.
//!
//! A store receives packs of instant tickets, activates each into a bin,
//! sells all day and closes the day from each bin's next ticket. The rules
//! are `tombola_core::lottery`'s; this component reads rows, asks the core,
//! and writes what it answers, with the change's outbox row, in one SQLite
//! transaction. It needs no network: the sync with the cloud drains the
//! outbox (`sync_queue`) when it can.
//!
//! # Layout
//! - [`router`]: the route table and dispatch; [`openapi`] documents it.
//! - [`page`]: the store's lottery page at `/`, compiled in.
//! - Routes: [`health`], [`games`], [`bins`], [`packs`] (receive,
//!   activate, settle, return), [`barcodes`], [`days`] (open, prepare,
//!   commit, cancel, reports).
//! - [`db`]: the connection, transactions, SQLite's errors; [`schema`]: the
//!   migrations; [`store`]: the core's values to and from the tables.
//! - [`request`], [`auth`], [`errors`]: bodies and paths, the store token,
//!   and what each refusal of the core is told.
//! - [`sync`]: pushing the outbox to the lottery cloud and pulling its
//!   games and bins; [`cloud`]: one HTTP request to it, with a deadline.

pub mod auth;
pub mod barcodes;
pub mod bins;
pub mod cloud;
pub mod days;
pub mod db;
pub mod errors;
pub mod games;
pub mod health;
pub mod openapi;
pub mod packs;
pub mod page;
pub mod request;
pub mod router;
pub mod schema;
pub mod store;
pub mod sync;

/// The component's entry point. Exported only on wasm: the export's name
/// (`wasi:http/incoming-handler@0.2.0#handle`) is not a symbol a native
/// linker accepts, and native builds exist for the unit tests.
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle(request: spin_sdk::http::IncomingRequest, out: spin_sdk::http::ResponseOutparam) {
    tombola_edge::host::init_tracing();
    router::dispatch(request, out).await;
}
