//! The lottery back office's rules: what a store's instant-ticket inventory
//! may do, pure and free of I/O.
//!
//! The store's app (`functions/backoffice`) reads rows, calls these
//! functions with them, and writes back the values they return; a refusal
//! is a typed error naming the field at fault, and leaves nothing to write.
//!
//! # Layout
//!
//! - [`money`]: [`Cents`], whole cents, never floating point.
//! - [`game`]: [`Game`], [`GameCode`], ticket [`Numbering`] and the
//!   [`PackTerms`] a pack copies from its game.
//! - [`barcode`]: [`BarcodeLayout`] as data, the named defaults, and
//!   reading a [`Barcode`] through one.
//! - [`bin`]: [`BinNumber`] and bins created in bulk.
//! - [`pack`]: [`Pack`] and its lifecycle RECEIVED -> ACTIVE -> SETTLED or
//!   RETURNED, one active pack per bin.
//! - [`sales`]: [`Serial`], [`Reading`] and the tickets sold between two
//!   readings, [`sold_between`].
//! - [`date`]: [`BusinessDate`].

pub mod barcode;
pub mod bin;
pub mod date;
pub mod game;
pub mod money;
pub mod pack;
pub mod sales;

pub use barcode::{
    Barcode, BarcodeError, BarcodeField, BarcodeLayout, DEFAULT_LAYOUT, LayoutError, LayoutRecord,
    Span,
};
pub use bin::{BinError, BinNumber, new_bins};
pub use date::{BusinessDate, DateError};
pub use game::{CodeError, Game, GameCode, GameError, GameSpec, GameStatus, Numbering, PackTerms};
pub use money::Cents;
pub use pack::{
    Activation, Displace, DisplaceAction, Pack, PackError, PackKey, PackNumber, PackState,
    PackStatus, ReturnedFrom,
};
pub use sales::{Reading, ReadingRole, Sale, SalesError, Serial, sold_between};
