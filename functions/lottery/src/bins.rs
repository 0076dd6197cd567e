//! `/v1/lottery/stores/{store}/bins`: the operator's side of a store's
//! bins. The cloud owns them: a store pulls them, and a bin it made on
//! first setup counts only where the cloud has none of that number.

use serde_json::json;
use spin_sdk::http::Response;
use tombola_core::lottery::{BinChange, BinNumber, Change, StoreId, bin_change};
use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::store::{self, ATTEMPTS, Parts, Written};
use crate::stores::{no_store, read};

const BINS: Parts = Parts {
    bins: true,
    clients: false,
    packs: false,
    closes: false,
    settled: false,
};

/// `GET /v1/lottery/stores/{store}/bins`: every bin with its revision,
/// removed ones included.
pub fn list(store: &StoreId) -> Result<Response, ApiError> {
    let conn = store::connect()?;
    let view = read(&conn, store, BINS, None)?;
    Ok(answer::json(
        200,
        &json!({"revision": view.revision, "bins": view.bins}),
    ))
}

/// `PUT .../bins/{number}` (`add`) adds the bin, 201, or answers 200 when
/// it stands; `DELETE` removes it (200), 404 when there is none.
pub fn change(store: &StoreId, number: BinNumber, add: bool) -> Result<Response, ApiError> {
    let conn = store::connect()?;
    for _ in 0..ATTEMPTS {
        let view = read(&conn, store, BINS, None)?;
        let held = view.bins.iter().find(|bin| bin.record.number == number);
        let bin = match bin_change(held.map(|change| &change.record), number, add) {
            BinChange::Missing => {
                return Err(ApiError::not_found(
                    "no-such-bin",
                    "No such bin",
                    format!("store {store} has no bin {number}"),
                ));
            }
            BinChange::Unchanged => {
                let held = held.expect("an unchanged bin is held");
                return Ok(answer::json(200, held));
            }
            BinChange::Write(bin) => bin,
        };
        match store::put_bin(&conn, store, &view.version, bin)? {
            Written::Done { revision, .. } => {
                tracing::info!(%store, bin = %number, removed = bin.removed, revision, "bin written");
                let status = if add { 201 } else { 200 };
                return Ok(answer::json(
                    status,
                    &Change {
                        revision,
                        record: bin,
                    },
                ));
            }
            Written::NoStore => return Err(no_store(store)),
            Written::Stale => continue,
        }
    }
    Err(store::contended(&format!("store {store}")))
}
