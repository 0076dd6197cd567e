//! Integration suites: real HTTP requests to the built components, hosted
//! in wasmtime, over a real `redis-server`.
//!
//! Build the components first (`cargo xtask test` does).

mod backoffice;
mod decided;
mod draws;
mod fair;
mod faults;
mod health;
mod host_fidelity;
mod hostile;
mod lottery;
mod operations;
mod pools;
mod recovery;
mod scripts;
mod state;
mod state_draw_metrics;
mod state_stream;
mod state_tracking;
mod state_txn;
mod state_upkeep;
mod sync;
