//! `/v1/lottery/games`: the games every store sells, defined here and
//! read-only at the stores. Retiring a game is a soft delete: it stays,
//! inactive, and the stores see that on their next pull.

use serde_json::{Map, Value, json};
use spin_sdk::http::Response;
use tombola_core::lottery::{Change, Game, GameCode, GameSpec, GameStatus};
use tombola_edge::answer;
use tombola_edge::error::ApiError;
use tombola_edge::redis::StoreError;

use crate::request;
use crate::store::{self, ATTEMPTS, Expect, Written};

fn no_game(code: GameCode) -> ApiError {
    ApiError::not_found("no-such-game", "No such game", format!("no game {code}"))
}

/// `GET /v1/lottery/games`: every game, retired ones included, with the
/// revision of its last change.
pub fn list() -> Result<Response, ApiError> {
    let conn = store::connect()?;
    let games = store::games(&conn)?;
    Ok(answer::json(
        200,
        &json!({"revision": games.revision, "games": games.games}),
    ))
}

/// `PUT /v1/lottery/games/{code}`: creates the game (201) or replaces it
/// (200). The body is the game without its code, which the path gives;
/// a game put without a status is on sale (`ACTIVE`).
pub fn put(code: GameCode, body: &[u8]) -> Result<Response, ApiError> {
    let mut object: Map<String, Value> = request::json(body)?;
    if object.contains_key("code") {
        return Err(ApiError::bad_request(
            "code",
            "code: the path gives the game's code; leave it out of the body",
        ));
    }
    object.insert("code".into(), Value::String(code.to_string()));
    object
        .entry("status")
        .or_insert_with(|| Value::String("ACTIVE".into()));
    let spec: GameSpec = request::json(&serde_json::to_vec(&object).expect("JSON"))?;
    let game = Game::new(spec).map_err(|error| {
        let text = error.to_string();
        let field = text.split(':').next().unwrap_or("body").to_owned();
        ApiError::bad_request(&field, text)
    })?;
    let conn = store::connect()?;
    match store::put_game(&conn, &game, Expect::Any)? {
        Written::Done { revision, existed } => {
            tracing::info!(game = %code, revision, existed, "game written");
            let status = if existed { 200 } else { 201 };
            Ok(answer::json(
                status,
                &Change {
                    revision,
                    record: game,
                },
            ))
        }
        other => Err(StoreError::Data(format!(
            "game_put.lua answered {other:?} to an unguarded write"
        ))
        .into()),
    }
}

/// `POST /v1/lottery/games/{code}/retire`: the game takes no new packs; a
/// retired game answers as it stands.
pub fn retire(code: GameCode) -> Result<Response, ApiError> {
    let conn = store::connect()?;
    for _ in 0..ATTEMPTS {
        let held = store::games(&conn)?
            .games
            .into_iter()
            .find(|change| change.record.code() == code)
            .ok_or_else(|| no_game(code))?;
        if held.record.status() == GameStatus::Inactive {
            return Ok(answer::json(200, &held));
        }
        let retired = held.record.with_status(GameStatus::Inactive);
        if let Written::Done { revision, .. } =
            store::put_game(&conn, &retired, Expect::At(held.revision))?
        {
            tracing::info!(game = %code, revision, "game retired");
            return Ok(answer::json(
                200,
                &Change {
                    revision,
                    record: retired,
                },
            ));
        }
    }
    Err(crate::store::contended(&format!("game {code}")))
}
