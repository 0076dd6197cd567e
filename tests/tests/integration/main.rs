//! Integration suites: real HTTP requests to the built components, hosted
//! in wasmtime, over a real `redis-server`.
//!
//! Build the components first (`cargo xtask test` does).

mod draws;
mod health;
mod operations;
mod pools;
mod recovery;
mod state;
