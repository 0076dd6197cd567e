//! `/api/v1/lottery/packs`: receiving packs, and their lifecycle on the
//! counter (activate, settle, return).
//!
//! Each change reads what it decides from, asks the core, and writes the
//! packs, the day's serials and the outbox row in one transaction.

use serde::Deserialize;
use spin_sdk::http::Response;
use tombola_core::lottery::{
    BinNumber, Displace, GameCode, Mutation, Pack, PackKey, PackNumber, PackState, PackStatus,
    Reading, Serial, open_day,
};
use tombola_edge::answer;
use tombola_edge::error::ApiError;
use tombola_edge::route;

use crate::db::Db;
use crate::store::{self, PackFilter, StoredPack};
use crate::{barcodes, errors, request};

fn no_pack(key: PackKey) -> ApiError {
    errors::not_found(
        "no-such-pack",
        "No such pack",
        "number",
        format!("the store has no pack {key}"),
    )
}

fn stored(db: &Db, key: PackKey) -> Result<StoredPack, ApiError> {
    store::pack(db, key)?.ok_or_else(|| no_pack(key))
}

/// `GET /packs?status=&game=&bin=`: packs, by game and number.
pub fn list(db: &Db, query: &str) -> Result<Response, ApiError> {
    let status = route::query(query, "status")?
        .map(|text| {
            serde_json::from_value::<PackStatus>(serde_json::Value::from(text.as_str())).map_err(
                |_| {
                    ApiError::bad_request(
                        "status",
                        format!("status {text:?} is not RECEIVED, ACTIVE, SETTLED or RETURNED"),
                    )
                },
            )
        })
        .transpose()?;
    let game = route::query(query, "game")?
        .map(|text| {
            text.parse::<GameCode>()
                .map_err(|e| ApiError::bad_request("game", format!("game {text:?} {e}")))
        })
        .transpose()?;
    let bin = route::query(query, "bin")?
        .map(|text| {
            text.parse::<u32>()
                .map_err(|e| e.to_string())
                .and_then(|n| BinNumber::new(n).map_err(|e| e.to_string()))
                .map_err(|e| ApiError::bad_request("bin", format!("bin {text:?}: {e}")))
        })
        .transpose()?;
    let packs = db.read("list packs", |db| {
        store::packs(db, PackFilter { status, game, bin })
    })?;
    Ok(answer::json(200, &serde_json::json!({ "packs": packs })))
}

/// `GET /packs/{game}/{number}`.
pub fn show(db: &Db, key: PackKey) -> Result<Response, ApiError> {
    let pack = db.read("show pack", |db| stored(db, key))?;
    Ok(answer::json(200, &pack))
}

/// The body of `POST /packs`: a scanned barcode, or the pack's fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Receive {
    barcode: Option<String>,
    game: Option<GameCode>,
    number: Option<PackNumber>,
}

impl Receive {
    fn key(self) -> Result<PackKey, ApiError> {
        match (self.barcode, self.game, self.number) {
            (Some(barcode), None, None) => Ok(barcodes::layout()?
                .parse(&barcode)
                .map_err(|e| errors::barcode("barcode", e))?
                .key()),
            (None, Some(game), Some(number)) => Ok(PackKey { game, number }),
            (None, None, None) => Err(ApiError::bad_request(
                "barcode",
                "give the pack's barcode, or its game and number",
            )),
            (Some(_), _, _) => Err(ApiError::bad_request(
                "barcode",
                "give the barcode or the game and number, not both",
            )),
            (None, Some(_), None) => Err(ApiError::bad_request(
                "number",
                "the pack's number is missing",
            )),
            (None, None, Some(_)) => {
                Err(ApiError::bad_request("game", "the pack's game is missing"))
            }
        }
    }
}

/// `POST /packs`: receives a pack into stock; 201, or 409 if the store
/// already has it.
pub fn receive(db: &Db, body: &[u8]) -> Result<Response, ApiError> {
    let key = request::json::<Receive>(body)?.key()?;
    let pack = db.write("receive pack", |db| {
        let game = store::game(db, key.game)?.ok_or_else(|| {
            errors::not_found(
                "no-such-game",
                "No such game",
                "game",
                format!(
                    "the store has no game {}: sync games or put it first",
                    key.game
                ),
            )
        })?;
        let known: Vec<PackKey> = store::pack(db, key)?
            .map(|p| p.pack.key())
            .into_iter()
            .collect();
        let pack = Pack::receive(&game, key, &known).map_err(|e| errors::pack(e, "barcode"))?;
        store::insert_pack(db, &pack)?;
        store::enqueue(db, &Mutation::ReceivePack { pack: key })?;
        stored(db, key)
    })?;
    tracing::info!(pack = %key, "pack received");
    Ok(answer::json(201, &pack))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Activate {
    bin: BinNumber,
    opening: Option<Serial>,
    displace: Option<Displace>,
}

/// `POST /packs/{game}/{number}/activate`: puts a received pack in a bin,
/// selling from `opening` (its first ticket by default). An occupied bin
/// needs `displace`, naming the pack there and whether it is settled or
/// returned.
pub fn activate(db: &Db, key: PackKey, body: &[u8]) -> Result<Response, ApiError> {
    let body: Activate = request::json(body)?;
    let (activated, displaced) = db.write("activate pack", |db| {
        let current = store::current_day(db)?;
        let day = open_day(current.as_ref().map(|d| &d.day)).map_err(|e| errors::day(e, &[]))?;
        if !store::bin_exists(db, body.bin)? {
            return Err(errors::not_found(
                "no-such-bin",
                "No such bin",
                "bin",
                format!("the store has no bin {}", body.bin),
            ));
        }
        let pack = stored(db, key)?.pack;
        let on_counter = store::active_packs(db)?;
        let activation = pack
            .activate(body.bin, body.opening, &on_counter, body.displace)
            .map_err(|e| errors::pack(e, "opening"))?;
        let day = day
            .with_activation(&activation.activated)
            .map_err(|e| errors::day(e, &[]))?;
        if let Some(displaced) = &activation.displaced {
            store::update_pack(db, displaced)?;
        }
        store::update_pack(db, &activation.activated)?;
        let opening = day
            .openings()
            .last()
            .expect("with_activation adds the pack's opening");
        store::insert_opening(db, day.date(), opening)?;
        let PackState::Active { opening, .. } = activation.activated.state() else {
            return Err(crate::db::bad_row(
                "activation",
                "the activated pack is not active",
            ));
        };
        store::enqueue(
            db,
            &Mutation::ActivatePack {
                pack: key,
                bin: body.bin,
                opening,
                displaced: body.displace,
            },
        )?;
        let displaced = activation
            .displaced
            .map(|p| stored(db, p.key()))
            .transpose()?;
        Ok((stored(db, key)?, displaced))
    })?;
    tracing::info!(pack = %key, bin = %body.bin, displaced = ?displaced.as_ref().map(|p| p.pack.key().to_string()), "pack activated");
    Ok(answer::json(
        200,
        &serde_json::json!({ "activated": activated, "displaced": displaced }),
    ))
}

/// `POST /packs/{game}/{number}/settle`: the active pack is sold out.
pub fn settle(db: &Db, key: PackKey) -> Result<Response, ApiError> {
    let pack = db.write("settle pack", |db| {
        let current = store::current_day(db)?;
        open_day(current.as_ref().map(|d| &d.day)).map_err(|e| errors::day(e, &[]))?;
        let pack = stored(db, key)?
            .pack
            .settle()
            .map_err(|e| errors::pack(e, "reading"))?;
        store::update_pack(db, &pack)?;
        store::enqueue(db, &Mutation::SettlePack { pack: key })?;
        stored(db, key)
    })?;
    tracing::info!(pack = %key, "pack settled");
    Ok(answer::json(200, &pack))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Return {
    reading: Option<Reading>,
}

/// `POST /packs/{game}/{number}/return`: back to the distributor, from
/// stock (no reading) or from its bin (with where it stands).
pub fn return_pack(db: &Db, key: PackKey, body: &[u8]) -> Result<Response, ApiError> {
    let body: Return = request::json(body)?;
    let pack = db.write("return pack", |db| {
        let current = store::current_day(db)?;
        open_day(current.as_ref().map(|d| &d.day)).map_err(|e| errors::day(e, &[]))?;
        let pack = stored(db, key)?
            .pack
            .return_to_distributor(body.reading)
            .map_err(|e| errors::pack(e, "reading"))?;
        store::update_pack(db, &pack)?;
        store::enqueue(
            db,
            &Mutation::ReturnPack {
                pack: key,
                reading: body.reading,
            },
        )?;
        stored(db, key)
    })?;
    tracing::info!(pack = %key, reading = ?body.reading, "pack returned");
    Ok(answer::json(200, &pack))
}
