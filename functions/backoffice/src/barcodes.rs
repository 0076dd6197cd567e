//! `POST /api/v1/lottery/barcodes/parse`: what a scanned barcode says,
//! through the store's layout, without storing anything.
//!
//! The layout is the `barcode_layout` variable: a default's name
//! (`back-3-6-3`, `back-4-6-3`, `scan-24`) or a layout as JSON. The
//! validation digits past the fields are checked to be digits and dropped.

use serde::Deserialize;
use spin_sdk::http::Response;
use tombola_core::lottery::{BarcodeLayout, DEFAULT_LAYOUT};
use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::db::Db;
use crate::{errors, request, store};

/// The store's barcode layout.
///
/// # Errors
///
/// 500 when `barcode_layout` is set to something that is not a layout:
/// reading barcodes through a guess would store wrong packs.
pub fn layout() -> Result<BarcodeLayout, ApiError> {
    let setting = tombola_edge::settings::text("barcode_layout", DEFAULT_LAYOUT);
    BarcodeLayout::from_setting(&setting).map_err(errors::layout)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Parse {
    barcode: String,
}

/// `POST /barcodes/parse`: the game, pack and ticket a barcode carries,
/// and what the store knows of them.
pub fn parse(db: &Db, body: &[u8]) -> Result<Response, ApiError> {
    let body: Parse = request::json(body)?;
    let layout = layout()?;
    let barcode = layout
        .parse(&body.barcode)
        .map_err(|e| errors::barcode("barcode", e))?;
    let (game, pack) = db.read("parse barcode", |db| {
        Ok((
            store::game(db, barcode.game)?,
            store::pack(db, barcode.key())?,
        ))
    })?;
    Ok(answer::json(
        200,
        &serde_json::json!({
            "layout": layout.name(),
            "game": barcode.game,
            "pack": barcode.pack,
            "ticket": barcode.ticket,
            "known_game": game,
            "known_pack": pack,
        }),
    ))
}
