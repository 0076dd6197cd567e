//! What Tombola's Spin components share at the edge: none of it decides an
//! outcome (that is `tombola-core`'s), all of it talks to the host.
//!
//! # Layout
//! - [`redis`]: Redis errors told apart (connection, busy, data), Lua
//!   scripts called by SHA-1, flat replies read front to back.
//! - [`body`]: request bodies read with a bound, JSON parsed with the field
//!   at fault named.
//! - [`document`]: documents served as they are (the OpenAPI documents).
//! - [`token`]: bearer tokens, compared in constant time.
//! - [`host`]: variables, the clock, seeds, method names, tracing.

pub mod body;
pub mod document;
pub mod host;
pub mod redis;
pub mod token;
