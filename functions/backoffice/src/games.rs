//! `/api/v1/lottery/games`: the games the store sells.
//!
//! Games are the cloud's: the sync writes them here. Until it runs (and
//! for a store set up by hand), `PUT /games/{code}` writes one locally,
//! exactly as the sync will; it is the store's own data about the
//! lottery, so it goes into no outbox.

use serde::Deserialize;
use spin_sdk::http::Response;
use tombola_core::lottery::{Cents, Game, GameCode, GameSpec, GameStatus, Numbering};
use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::db::Db;
use crate::{errors, request, store};

/// `GET /games`: every game, by code.
pub fn list(db: &Db) -> Result<Response, ApiError> {
    let games = db.read("list games", store::games)?;
    Ok(answer::json(200, &serde_json::json!({ "games": games })))
}

/// The body of `PUT /games/{code}`: a game but its code.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GameBody {
    name: String,
    price: Cents,
    pack_value: Cents,
    tickets_per_pack: u32,
    numbering: Numbering,
    #[serde(default = "active")]
    status: GameStatus,
}

fn active() -> GameStatus {
    GameStatus::Active
}

/// `PUT /games/{code}`: writes a game; 201 when new, 200 when replaced.
pub fn put(db: &Db, code: GameCode, body: &[u8]) -> Result<Response, ApiError> {
    let body: GameBody = request::json(body)?;
    let game = Game::new(GameSpec {
        code,
        name: body.name,
        price: body.price,
        pack_value: body.pack_value,
        tickets_per_pack: body.tickets_per_pack,
        numbering: body.numbering,
        status: body.status,
    })
    .map_err(errors::game)?;
    let created = db.write("put game", |db| store::put_game(db, &game))?;
    tracing::info!(game = %code, created, "game written");
    Ok(answer::json(if created { 201 } else { 200 }, &game))
}
