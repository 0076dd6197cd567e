//! Transactions: `POST /api/v1/state/txn`, after etcd's Txn.
//!
//! The compares and what a transaction may hold are tombola-core's
//! ([`tombola_core::state::txn`]). The compares are decided on what one
//! read script saw; the branch they chose then runs in one Lua script
//! only if every compared key's version is still the one read, so no
//! write can land between the decision and the branch. When one did, the
//! transaction reads and decides again, as a compare-and-swap does.

use serde_json::Value;
use spin_sdk::http::Response;
use tombola_core::state::{IdempotencyKey, Recorded, StateKey, Txn, Write};
use tombola_edge::error::ApiError;
use tombola_edge::redis::StoreError;

use crate::entries::{max_value_bytes, parse_stored};
use crate::store::{Applied, Ran, Store};
use crate::writes;

/// How many times a transaction reads and decides again when a compared
/// key moved between its read and its branch, before it answers 409.
const ATTEMPTS: usize = 8;

/// The largest request body: the transaction's values at their limit,
/// twice over for JSON's spacing, plus room for its compares.
pub fn max_body_bytes() -> usize {
    tombola_core::state::txn::MAX_TXN_BYTES * 2 + 256 * 1024
}

/// `POST /api/v1/state/txn` with `{compare, success, failure}`.
pub fn txn(
    store: &Store,
    body: &[u8],
    source: &str,
    idempotency_key: Option<IdempotencyKey>,
) -> Result<Response, ApiError> {
    let body: Value = tombola_edge::body::json(body)?;
    let txn = Txn::parse(&body, max_value_bytes())
        .map_err(|e| ApiError::bad_request(&e.field, e.to_string()))?;
    let fields = txn.fields();
    let write = Write::Txn {
        fields: &fields,
        source,
    };
    let idempotency = writes::idempotency(idempotency_key, &write);
    let keys = txn.compared_keys();
    for attempt in 1..=ATTEMPTS {
        // Until the branch is sent, a failure has written nothing.
        let read = match store
            .read_compared(&keys, idempotency.as_ref())
            .map_err(StoreError::unsent)?
        {
            Applied::Now(read) => read,
            Applied::Again(again) => return writes::again(again),
        };
        let values = read
            .iter()
            .zip(&keys)
            .map(|(read, key)| {
                read.as_ref()
                    .map(|(text, version)| Ok((parse_stored(key, text, "value")?, *version)))
                    .transpose()
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let current = |key: &StateKey| {
            let i = keys.iter().position(|k| *k == key)?;
            values[i].as_ref().map(|(value, version)| (value, *version))
        };
        let succeeded = txn.holds(current);
        let versions: Vec<(&StateKey, u64)> = keys
            .iter()
            .zip(&values)
            .map(|(key, read)| (*key, read.as_ref().map_or(0, |(_, v)| *v)))
            .collect();
        let ops = txn.branch(succeeded);
        match store.txn(&versions, succeeded, ops, source, idempotency.as_ref())? {
            Applied::Now(Ran::Ok(recorded)) => {
                if let Recorded::Txn(answer) = &recorded {
                    tracing::info!(
                        succeeded,
                        revision = answer.revision,
                        ops = ops.len(),
                        source,
                        "transaction"
                    );
                }
                return Ok(writes::answer(&recorded));
            }
            Applied::Now(Ran::Moved(key)) => {
                tracing::debug!(attempt, %key, "transaction raced a write; deciding again");
            }
            Applied::Again(again) => return writes::again(again),
        }
    }
    Err(ApiError::conflict(
        "txn-contended",
        format!(
            "the compared keys kept changing: the transaction was decided {ATTEMPTS} times and \
             each time a compared key moved before its branch ran; nothing was written, retry"
        ),
    ))
}
