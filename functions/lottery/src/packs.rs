//! `/v1/lottery/stores/{store}/packs` and `/closes`: what the store pushed,
//! as the cloud keeps it, and the lottery's own settlement of a pack,
//! which is the cloud's field and never the store's.

use serde_json::json;
use spin_sdk::http::Response;
use tombola_core::lottery::{CloudPack, LotterySettlement, PackKey, StoreId};
use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::request;
use crate::store::{self, Parts, Settled};
use crate::stores::{no_store, read};

/// `GET .../packs`: each pack as the store last pushed it, beside the
/// lottery's settlement, in pack order.
pub fn list(store: &StoreId) -> Result<Response, ApiError> {
    let conn = store::connect()?;
    let parts = Parts {
        packs: true,
        settled: true,
        ..Parts::default()
    };
    let view = read(&conn, store, parts, None)?;
    let packs: Vec<CloudPack> = view
        .packs
        .into_values()
        .map(|pack| CloudPack {
            settlement: view.settled.get(&pack.key()).copied(),
            pack,
        })
        .collect();
    Ok(answer::json(200, &json!({"packs": packs})))
}

/// `PUT .../packs/{game}/{number}/settlement`: records the lottery's
/// settlement of a pack the store pushed (replacing an earlier one); 404
/// for a pack the store never pushed.
pub fn settle(store: &StoreId, pack: PackKey, body: &[u8]) -> Result<Response, ApiError> {
    let settlement: LotterySettlement = request::json(body)?;
    let conn = store::connect()?;
    match store::settle(&conn, store, pack, settlement)? {
        Settled::Done(held) => {
            tracing::info!(%store, %pack, "lottery settlement recorded");
            Ok(answer::json(
                200,
                &CloudPack {
                    pack: held,
                    settlement: Some(settlement),
                },
            ))
        }
        Settled::NoPack => Err(ApiError::not_found(
            "no-such-pack",
            "No such pack",
            format!("store {store} has pushed no pack {pack}"),
        )),
        Settled::NoStore => Err(no_store(store)),
    }
}

/// `GET .../closes`: the store's day closes, by date.
pub fn closes(store: &StoreId) -> Result<Response, ApiError> {
    let conn = store::connect()?;
    let parts = Parts {
        closes: true,
        ..Parts::default()
    };
    let view = read(&conn, store, parts, None)?;
    let closes: Vec<_> = view.closes.into_values().collect();
    Ok(answer::json(200, &json!({"closes": closes})))
}
