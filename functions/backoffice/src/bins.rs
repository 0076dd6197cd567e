//! `/api/v1/lottery/bins`: the counter's bins, and creating them.

use serde::{Deserialize, Serialize};
use spin_sdk::http::Response;
use tombola_core::lottery::{BinNumber, Mutation, Reading, new_bins};
use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::db::Db;
use crate::store::{self, StoredPack};
use crate::{errors, request};

/// One bin as the counter shows it.
#[derive(Debug, Serialize)]
pub struct BinView {
    /// The bin.
    pub bin: BinNumber,
    /// The pack selling from it, if any.
    pub pack: Option<StoredPack>,
    /// Where that pack stood when the current day began (carried from the
    /// last close, or its activation serial), if a day is open or pending.
    pub day_opening: Option<Reading>,
}

/// `GET /bins`: every bin with its active pack and its serials.
pub fn list(db: &Db) -> Result<Response, ApiError> {
    let bins = db.read("list bins", |db| {
        let active = store::packs(
            db,
            store::PackFilter {
                status: Some(tombola_core::lottery::PackStatus::Active),
                ..Default::default()
            },
        )?;
        let day = store::current_day(db)?;
        let openings = day.as_ref().map(|d| d.day.openings()).unwrap_or_default();
        store::bins(db)?
            .into_iter()
            .map(|bin| {
                let pack = active.iter().find(|p| p.pack.bin() == Some(bin)).cloned();
                let day_opening = pack.as_ref().and_then(|p| {
                    openings
                        .iter()
                        .find(|o| o.pack == p.pack.key())
                        .map(|o| o.reading)
                });
                Ok(BinView {
                    bin,
                    pack,
                    day_opening,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })?;
    Ok(answer::json(200, &serde_json::json!({ "bins": bins })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBins {
    count: u32,
}

/// `POST /bins`: creates `count` bins after the highest one (on first
/// setup, bins 1 to `count`).
pub fn create(db: &Db, body: &[u8]) -> Result<Response, ApiError> {
    let body: CreateBins = request::json(body)?;
    let created = db.write("create bins", |db| {
        let bins = new_bins(store::bins(db)?, body.count).map_err(|e| errors::bin("count", e))?;
        store::insert_bins(db, &bins)?;
        store::enqueue(db, &Mutation::CreateBins { bins: bins.clone() })?;
        Ok(bins)
    })?;
    tracing::info!(count = created.len(), first = %created[0], "bins created");
    Ok(answer::json(201, &serde_json::json!({ "bins": created })))
}
