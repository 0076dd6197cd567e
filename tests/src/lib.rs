//! A wasmtime host for Tombola's Spin components, over a real Redis, and the
//! fixtures the integration suites use.
//!
//! # Layout
//! - [`manifest`]: reads `spin.toml` (components, routes, variables, grants).
//! - [`outbound`]: `allowed_outbound_hosts` checks.
//! - [`outbound_http`]: outgoing HTTP from components, as Spin grants it.
//! - [`spin`]: Spin's key-value, Redis and variables interfaces.
//! - [`sqlite`]: Spin's SQLite interface, over rusqlite.
//! - [`host`]: compiles, routes and runs each request in a fresh instance.
//! - [`redis_server`]: a throwaway `redis-server` on a free loopback port.
//! - [`app`]: the host and Redis together, with an HTTP client, for tests.
//! - [`load`]: a paced (open-loop) HTTP load generator for benchmarks.
//! - [`lottery`]: the lottery cloud over a durable Redis, with a store
//!   registered, for the suites that sync a store with it.
//! - [`fault_proxy`]: a TCP proxy that drops a reply on command.
//! - [`process`]: the standalone host as a child process, for kill tests.
//! - [`store`]: the store's app (`spin-store.toml`) over a SQLite file of
//!   its own, in process or as a child, and a dump of every table.

pub mod app;
pub mod fault_proxy;
pub mod host;
pub mod keys;
pub mod load;
pub mod lottery;
pub mod manifest;
pub mod outbound;
pub mod outbound_http;
pub mod process;
pub mod redis_server;
pub mod spin;
pub mod sqlite;
pub mod store;
