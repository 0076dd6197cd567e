//! `POST /v1/pools/{pool}/draws`: one draw request, exactly once per
//! request id.

use serde::{Deserialize, Serialize};
use spin_sdk::http::Response;
use tombola_core::pool::{FailReason, ItemId, Outcome, PoolId, RequestId, draw_entry};
use tombola_edge::answer;
use tombola_edge::error::ApiError;
use tombola_edge::redis::StoreError;

use crate::commit::{self, Committed};
use crate::{backend, errors, request, store};

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
}

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
    let conn = store::connect()?;
    let committed = commit::commit(&conn, pool, &draw.request_id, &entry, None)?;
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
    })
}
