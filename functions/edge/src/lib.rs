//! What Tombola's Spin components share at the edge: none of it decides an
//! outcome (that is `tombola-core`'s), all of it talks to the host.
//!
//! # Layout
//! - [`route`]: route tables with typed, percent-decoded path parameters,
//!   dispatch, and queries.
//! - [`body`]: request bodies read with a bound (413 past it), JSON parsed
//!   with the field at fault named.
//! - [`error`]: [`error::ApiError`], the one error type, rendered as
//!   problem+json or in the state API's envelope.
//! - [`answer`]: JSON answers and the state API's success envelope, written
//!   in one piece.
//! - [`document`]: documents served as they are (the OpenAPI documents).
//! - [`assets`]: a page's files compiled into a component, served whole.
//! - [`metrics`]: the Prometheus text format, for the metrics routes.
//! - [`outparam`]: answers sent through the response outparam, whole or
//!   streamed.
//! - [`redis`]: connecting, Redis errors told apart (connection, busy,
//!   data, configuration), what a failed write's client can know (not
//!   written, or unknown once sent), Lua scripts called by SHA-1, flat
//!   replies read front to back.
//! - [`token`]: bearer tokens, compared in constant time.
//! - [`settings`]: Spin variables with their defaults.
//! - [`tracking`]: request tracking and sessions (`track_requests`).
//! - [`host`]: the clock, seeds, method names, tracing.

pub mod answer;
pub mod assets;
pub mod body;
pub mod document;
pub mod error;
pub mod host;
pub mod metrics;
pub mod outparam;
pub mod redis;
pub mod route;
pub mod settings;
pub mod token;
pub mod tracking;
