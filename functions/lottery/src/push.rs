//! `POST /v1/lottery/stores/{store}/push`: a store's mutations, after
//! Replicache's rules ([`tombola_core::lottery::decide_push`]).
//!
//! The store is read at one instant (its version, the client's last
//! mutation id, its bins, and of its packs and closes only what the push
//! names and the packs on the counter: [`push_reads`], so a push's read
//! does not grow with the store's history), the core decides the push,
//! and one script writes the records with the client's new id and the
//! counter's index, only if the store's version is still the one read; a
//! push that lost that race is decided again. A store registered before
//! the index is read whole once, and that push builds its index. A push
//! delivered twice finds its ids at or below the last one: duplicates,
//! acknowledged with no effect. The script that applies mutations records
//! the time as the store's `last_push_at`; a push that applies none (only
//! duplicates, or a refused gap) writes nothing, so it records nothing.

use std::collections::BTreeMap;

use spin_sdk::http::Response;
use tombola_core::lottery::{Push, StoreCopy, StoreId, decide_push, on_counter, push_reads};
use tombola_edge::answer;
use tombola_edge::error::ApiError;
use tombola_edge::host::now_millis;

use crate::auth;
use crate::request;
use crate::store::{self, ATTEMPTS, Counter, DecidedPush, Parts, Written};
use crate::stores::no_store;

/// Answers a push to `store` of `body`, authorised by the store's key in
/// `header`: 200 with a status per mutation and `last_mutation_id`.
pub fn post(store: &StoreId, header: Option<&str>, body: &[u8]) -> Result<Response, ApiError> {
    let value: serde_json::Value = request::json(body)?;
    let push = Push::from_json(&value)
        .map_err(|error| ApiError::bad_request(&error.field, error.to_string()))?;
    let conn = store::connect()?;
    let parts = Parts {
        bins: true,
        packs: true,
        closes: true,
        ..Parts::default()
    };
    let reads = push_reads(&push);
    for _ in 0..ATTEMPTS {
        let view = store::read_for_push(&conn, store, &push.client_id, parts, &reads)?
            .ok_or_else(|| no_store(store))?;
        auth::require_store(header, &view.key_hash, &store.to_string())?;
        let games = store::games(&conn)?
            .games
            .into_iter()
            .map(|change| (change.record.code(), change.record))
            .collect::<BTreeMap<_, _>>();
        // A store registered before the counter's index was read whole;
        // this push builds the index from it.
        let unindexed = (!view.counter_indexed).then(|| view.packs.clone());
        let copy = StoreCopy {
            games,
            bins: view
                .bins
                .iter()
                .filter(|change| !change.record.removed)
                .map(|change| change.record.number)
                .collect(),
            packs: view.packs,
            closes: view.closes,
        };
        let decision = decide_push(&push, view.last_mutation_id, copy);
        let counter = match &unindexed {
            None => Counter::Kept,
            Some(packs) => Counter::Whole(on_counter(packs, &decision.writes).collect()),
        };
        let reply = &decision.plan.reply;
        if decision.plan.steps.is_empty() {
            tracing::info!(%store, client = %push.client_id, last = reply.last_mutation_id, "push changed nothing");
            return Ok(answer::json(200, reply));
        }
        let decided = DecidedPush {
            client: &push.client_id,
            version: &view.version,
            last_mutation_id: reply.last_mutation_id,
            writes: &decision.writes,
            counter,
        };
        match store::write_push(&conn, store, decided, now_millis())? {
            Written::Done { .. } => {
                tracing::info!(
                    %store,
                    client = %push.client_id,
                    from = view.last_mutation_id,
                    last = reply.last_mutation_id,
                    packs = decision.writes.packs.len(),
                    closes = decision.writes.closes.len(),
                    "push applied"
                );
                return Ok(answer::json(200, reply));
            }
            Written::NoStore => return Err(no_store(store)),
            Written::Stale => {
                tracing::debug!(%store, client = %push.client_id, "the store changed while the push was decided; deciding again");
            }
        }
    }
    Err(store::contended(&format!("store {store}")))
}
