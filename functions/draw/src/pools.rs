//! `/v1/pools`: create, list and show pools.

use serde::Serialize;
use spin_sdk::http::Response;
use tombola_core::pool::{Command, Entry, PoolConfig, PoolId, PoolState, Stock, decide, provable};
use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::catalog::{self, Listing};
use crate::commit::{self, state_of};
use crate::{backend, errors, request, store};

/// One item as a pool view shows it.
#[derive(Debug, Serialize)]
pub struct ItemView {
    /// Item id.
    pub id: String,
    /// Configured weight.
    pub weight: u64,
    /// Configured stock (`null`: unlimited).
    pub stock: Stock,
    /// Units left (`null`: unlimited).
    pub remaining: Stock,
    /// The chance of drawing it next, as an exact fraction.
    pub odds: OddsView,
}

/// An exact probability.
#[derive(Debug, Serialize)]
pub struct OddsView {
    /// Numerator.
    pub numerator: u64,
    /// Denominator (0 when nothing can be drawn).
    pub denominator: u64,
    /// The fraction as a decimal, for display only.
    pub approximate: f64,
}

/// A pool as `GET /v1/pools/{pool}` shows it.
#[derive(Debug, Serialize)]
pub struct PoolView {
    /// Pool id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Weighting mode.
    pub mode: tombola_core::pool::Mode,
    /// Rules version its draws follow.
    pub rules: u32,
    /// Snapshot interval, in entries.
    pub snapshot_every: u32,
    /// Whether draws are closed.
    pub closed: bool,
    /// Items, stock and live odds.
    pub items: Vec<ItemView>,
    /// Sequence number of the newest log entry.
    pub seq: u64,
    /// Sequence number of the snapshot replay started from (0: none).
    pub snapshot_seq: u64,
    /// Rules 2: the commitment to the server seed in force, the next
    /// nonce and the rotation interval. Never the server seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fairness: Option<FairnessView>,
}

/// A rules-2 pool's published randomness.
#[derive(Debug, Serialize)]
pub struct FairnessView {
    /// `SHA-256` of the server seed in force, 64 hex digits.
    pub commitment: String,
    /// The nonce the next draw takes.
    pub nonce: u64,
    /// Draws per server seed before it rotates (0: by the operator only).
    pub rotate_every: u32,
}

/// The published randomness of `state`, if it is under rules 2.
pub fn fairness_view(state: &PoolState) -> Option<FairnessView> {
    state.fairness().map(|fair| FairnessView {
        commitment: fair.commitment().to_string(),
        nonce: fair.nonce(),
        rotate_every: fair.rotate_every(),
    })
}

/// The view of `state` at `seq`.
pub fn view(state: &PoolState, seq: u64, snapshot_seq: u64) -> PoolView {
    let config = state.config();
    let odds = state.odds();
    let items = config
        .items()
        .zip(state.stocks())
        .zip(odds)
        .map(|((item, (_, remaining)), odds)| ItemView {
            id: item.id.to_string(),
            weight: item.weight,
            stock: item.stock,
            remaining,
            odds: OddsView {
                numerator: odds.numerator,
                denominator: odds.denominator,
                approximate: odds.approximate(),
            },
        })
        .collect();
    PoolView {
        id: config.pool().to_string(),
        name: config.name().to_owned(),
        mode: config.mode(),
        rules: config.rules().version(),
        snapshot_every: config.snapshot_every(),
        closed: state.is_closed(),
        items,
        seq,
        snapshot_seq,
        fairness: fairness_view(state),
    }
}

/// `POST /v1/pools` (operator): creates a pool from its configuration.
///
/// The log is started first, then the pool is listed. When the log is
/// already there the answer is 409, and the pool is listed again from its
/// own stored configuration, so a create that failed between the two steps
/// is completed by any later attempt (a listing already there is kept).
pub fn create(body: &[u8]) -> Result<Response, ApiError> {
    let config: PoolConfig = request::json(body)?;
    let rotate_every = config.rotate_every;
    let entry = decide(None, Command::Create(config)).map_err(errors::decide)?;
    let Entry::Create(valid) = &entry else {
        unreachable!("a Create command decides a CREATE entry")
    };
    let pool = valid.pool().clone();
    let seed = backend::server_seed();
    let commit = provable::first_commit(valid, &seed, rotate_every);
    let commit_line = commit.as_ref().map(Entry::encode);
    let committing = commit_line.as_deref().map(|line| store::Committing {
        line,
        seed: &seed,
        rotate_every,
    });
    let conn = store::connect()?;
    if !store::create(&conn, &pool, &entry.encode(), committing)? {
        let computed = commit::load(&conn, &pool)?;
        let stored = state_of(&computed, &pool)?;
        let listing = Listing::of(stored.config(), backend::now_millis());
        if catalog::add(&conn, &listing)? {
            tracing::warn!(pool = %pool, "listed a pool an earlier create left unlisted");
        }
        return Err(ApiError::conflict(
            "pool-exists",
            format!("pool {pool} already exists"),
        ));
    }
    tracing::info!(pool = %pool, seq = 1, fair = commit.is_some(), "pool created");
    catalog::add(&conn, &Listing::of(valid, backend::now_millis()))?;
    let mut state = None;
    tombola_core::pool::apply(&mut state, &entry);
    let mut seq = 1;
    if let Some(commit) = &commit {
        tombola_core::pool::apply(&mut state, commit);
        seq = 2;
    }
    let state = state.expect("a CREATE entry starts a pool");
    Ok(answer::json(201, &view(&state, seq, 0)))
}

/// `GET /v1/pools`: every pool in the catalog.
pub fn list() -> Result<Response, ApiError> {
    let conn = store::connect()?;
    Ok(answer::json(
        200,
        &serde_json::json!({ "pools": catalog::list(&conn)? }),
    ))
}

/// `GET /v1/pools/{pool}`: configuration, remaining stock, live odds.
pub fn show(pool: &PoolId) -> Result<Response, ApiError> {
    let conn = store::connect()?;
    let computed = commit::load(&conn, pool)?;
    let state = state_of(&computed, pool)?;
    Ok(answer::json(
        200,
        &view(state, computed.seq(), computed.start.seq()),
    ))
}
