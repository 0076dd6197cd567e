//! Tombola's pure core: every rule that decides what a client is told.
//!
//! Everything here is deterministic and free of I/O: no clock, no
//! operating-system randomness, no storage. Randomness arrives as a seed in
//! each draw entry, time as a timestamp argument, storage as bytes and
//! lines, and where a decision needs more of what is stored, the core says
//! so as a value ("replay needs the archive") instead of fetching it. The
//! components around the core parse, ask the core, persist in one script or
//! one transaction, and answer.
//!
//! # Layout
//!
//! The core is grouped by domain:
//!
//! - [`pool`]: the draw engine. Prize pools, their log entries and codec,
//!   the sans-io state machine (`decide`, `apply`, `replay`), snapshots,
//!   where replay starts and what it needs, request records, multi-draw
//!   operations, the audit, and the Redis keys of a pool.
//! - [`state`]: the versioned state API's rules: keys, values,
//!   compare-and-swap, the change feed and snapshots.
//! - [`lottery`]: the back office: games, barcodes, bins, packs, sales,
//!   business days and their two-phase close, sync mutations and backoff.
//! - [`number`]: the one rule for whole numbers in JSON (`3`, `3.0` and
//!   `3e0` are the same count), shared by every API.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod crc;
mod fnv;
pub mod lottery;
pub mod number;
pub mod pool;
pub mod state;
