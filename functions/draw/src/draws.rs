//! `POST /v1/pools/{pool}/draws`: one draw request, exactly once per
//! request id.

use serde::{Deserialize, Serialize};
use spin_sdk::http::Response;
use spin_sdk::redis::Connection;
use tombola_core::pool::provable::FairDrawLine;
use tombola_core::pool::{
    ClientSeed, Entry, FailReason, ItemId, Outcome, PoolId, RequestId, draw_entry,
};
use tombola_edge::answer;
use tombola_edge::error::ApiError;
use tombola_edge::redis::StoreError;

use crate::commit::{self, Committed, DrawCommitted, SaveWith};
use crate::{backend, errors, fairness, request, store};

fn one() -> u32 {
    1
}

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawRequest {
    /// Chosen by the client; a retry with the same id gets the same answer.
    pub request_id: RequestId,
    /// How many draws, 1 to 1000.
    #[serde(default = "one")]
    pub count: u32,
    /// Draw nothing unless every draw can be served.
    #[serde(default)]
    pub all_or_nothing: bool,
    /// Rules 2 only: the player's client seed; absent, the server picks one
    /// and answers it.
    #[serde(default)]
    pub client_seed: Option<ClientSeed>,
}

/// The answer.
#[derive(Debug, Serialize)]
pub struct DrawResponse {
    /// The pool.
    pub pool: PoolId,
    /// The request id.
    pub request_id: RequestId,
    /// The log entry's sequence number.
    pub seq: u64,
    /// The items drawn, in order.
    pub drawn: Vec<ItemId>,
    /// How many draws failed.
    pub failed: u32,
    /// Why they failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailReason>,
    /// Whether this answers a retry of an earlier request.
    pub replay: bool,
    /// Rules 2: what the draw's randomness was made of (absent for other
    /// rules); a retry carries the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fairness: Option<ReceiptView>,
}

/// A rules-2 draw's receipt.
#[derive(Debug, Serialize)]
pub struct ReceiptView {
    /// The client seed: the player's, or the one the server picked.
    pub client_seed: ClientSeed,
    /// The draw's nonce under the server seed in force.
    pub nonce: u64,
    /// `SHA-256` of the server seed in force, 64 hex digits.
    pub commitment: String,
}

// Attempts of a draw that finds the rotation due, rotating in between.
const DRAW_ATTEMPTS: usize = 3;

/// `POST /v1/pools/{pool}/draws`.
pub fn post(pool: &PoolId, body: &[u8]) -> Result<Response, ApiError> {
    let draw: DrawRequest = request::json(body)?;
    let entry = draw_entry(
        draw.request_id.clone(),
        draw.count,
        draw.all_or_nothing,
        backend::seed(),
    )
    .map_err(errors::decide)?;
    let given = draw.client_seed.is_some();
    let client_seed = client_seed(draw.client_seed);
    let fair = FairDrawLine::new(
        draw.request_id.clone(),
        draw.count,
        draw.all_or_nothing,
        client_seed,
    )
    .map_err(errors::decide)?;
    let conn = store::connect()?;
    let committed = committed_draw(&conn, pool, &draw.request_id, &entry, &fair, given, None)?;
    let response = answer(pool, draw.request_id, committed)?;
    if response.reason == Some(FailReason::Closed) {
        return Err(
            ApiError::conflict("pool-closed", format!("pool {pool} is closed"))
                .with("seq", response.seq)
                .with("replay", response.replay),
        );
    }
    Ok(answer::json(200, &response))
}

/// The client seed a draw or chunk draws with: the player's, or one the
/// server picks.
pub fn client_seed(given: Option<ClientSeed>) -> ClientSeed {
    given.unwrap_or_else(|| {
        ClientSeed::new(&format!("{:016x}", backend::seed()))
            .expect("hex digits form a client seed")
    })
}

/// Commits a draw or a chunk (see [`commit::commit_draw`]), rotating the
/// server seed first whenever the pool's rotation interval is reached.
pub fn committed_draw(
    conn: &Connection,
    pool: &PoolId,
    request: &RequestId,
    entry: &Entry,
    fair: &FairDrawLine,
    given: bool,
    save_with: Option<SaveWith<'_>>,
) -> Result<Committed, ApiError> {
    for _ in 0..DRAW_ATTEMPTS {
        match commit::commit_draw(conn, pool, request, entry, fair, given, save_with)? {
            DrawCommitted::Committed(committed) => return Ok(*committed),
            DrawCommitted::NotFair => {
                return Err(ApiError::conflict(
                    "pool-not-fair",
                    format!("pool {pool} is not under rules 2: it takes no client seed"),
                ));
            }
            DrawCommitted::RotationDue => {
                fairness::rotate_seed(conn, pool, None)?;
            }
        }
    }
    Err(ApiError::conflict(
        "rotation-contended",
        "the server seed kept reaching its rotation interval; retry",
    ))
}

fn answer(
    pool: &PoolId,
    request: RequestId,
    committed: Committed,
) -> Result<DrawResponse, ApiError> {
    let Outcome::Draw {
        drawn,
        failed,
        reason,
    } = committed.outcome
    else {
        return Err(StoreError::Data(format!(
            "entry {} of draw request {request} has outcome {:?}",
            committed.seq, committed.outcome
        ))
        .into());
    };
    tracing::info!(
        pool = %pool,
        request = %request,
        seq = committed.seq,
        drawn = drawn.len(),
        failed,
        replay = committed.replay,
        "draw answered"
    );
    Ok(DrawResponse {
        pool: pool.clone(),
        request_id: request,
        seq: committed.seq,
        drawn,
        failed,
        reason,
        replay: committed.replay,
        fairness: committed.receipt.map(|receipt| ReceiptView {
            client_seed: receipt.client_seed,
            nonce: receipt.nonce,
            commitment: receipt.commitment.to_string(),
        }),
    })
}
