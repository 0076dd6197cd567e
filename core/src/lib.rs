//! Tombola's pure draw engine.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
