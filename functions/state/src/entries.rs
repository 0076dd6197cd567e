//! One key: get, put, delete and compare-and-swap.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use spin_sdk::http::Response;
use tombola_core::state::{
    DEFAULT_MAX_VALUE_BYTES, IdempotencyKey, Metadata, StateKey, Write, cas_matches, encode_value,
};
use tombola_edge::error::ApiError;
use tombola_edge::redis::StoreError;
use tombola_edge::{answer, body, route, settings};

use crate::store::{Applied, Entry, Store, Stored, Written};
use crate::writes;

/// How many times a compare-and-swap re-reads when the key changed between
/// its read and its write, before it answers with a conflict.
const CAS_ATTEMPTS: usize = 8;

/// The largest value, in bytes of compact JSON (`max_value_bytes`).
pub fn max_value_bytes() -> usize {
    let max = settings::number("max_value_bytes", DEFAULT_MAX_VALUE_BYTES as u64);
    usize::try_from(max).unwrap_or(usize::MAX)
}

/// The largest request body: a value at the limit plus room for the rest
/// of the body (metadata, the CAS's expected value).
pub fn max_body_bytes() -> usize {
    max_value_bytes()
        .saturating_mul(2)
        .saturating_add(64 * 1024)
}

/// 404 for a key that does not exist.
fn no_key(key: &StateKey) -> ApiError {
    ApiError::not_found(
        "not-found",
        "No such key",
        format!("no key {:?}", key.as_str()),
    )
}

/// An entry as answered.
#[derive(Debug, Serialize)]
struct EntryAnswer<'a> {
    key: &'a str,
    value: Value,
    version: u64,
    revision: u64,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    details: Option<Details<'a>>,
}

/// What `include_metadata=true` adds.
#[derive(Debug, Serialize)]
struct Details<'a> {
    metadata: Value,
    create_revision: u64,
    mod_revision: u64,
    updated_at: u64,
    source: &'a str,
}

/// A stored value or metadata (`what`) as JSON; stored text that is not
/// JSON is Redis's fault (500), never the caller's.
pub fn parse_stored(key: &StateKey, text: &str, what: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::Data(format!("the stored {what} of {key} is not JSON: {e}")).into()
    })
}

/// `GET /api/v1/state/{key}`.
pub fn get(store: &Store, key: &StateKey, query: &str) -> Result<Response, ApiError> {
    let include_metadata = route::query_flag(query, "include_metadata")?;
    let (revision, stored) = store.get(key)?;
    let stored = stored.ok_or_else(|| no_key(key))?;
    let details = if include_metadata {
        Some(Details {
            metadata: match &stored.metadata {
                Some(text) => parse_stored(key, text, "metadata")?,
                None => Value::Null,
            },
            create_revision: stored.create_revision,
            mod_revision: stored.mod_revision,
            updated_at: stored.updated_at,
            source: &stored.source,
        })
    } else {
        None
    };
    Ok(answer::envelope(
        200,
        &EntryAnswer {
            key: key.as_str(),
            value: parse_stored(key, &stored.value, "value")?,
            version: stored.mod_revision,
            revision,
            details,
        },
    ))
}

/// Accepts any JSON value for a field, `null` included, so a missing field
/// (`None`) is told apart from an explicit `null` (`Some(Null)`).
fn present<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(de).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBody {
    #[serde(default, deserialize_with = "present")]
    value: Option<Value>,
    #[serde(default)]
    metadata: Option<Value>,
}

fn check(field: &str, value: Option<Value>, metadata: Option<Value>) -> Result<Entry, ApiError> {
    let value =
        value.ok_or_else(|| ApiError::bad_request(field, format!("{field} is required")))?;
    let value = encode_value(&value, max_value_bytes())
        .map_err(|e| ApiError::bad_request(field, format!("{field} {e}")))?;
    let metadata = metadata
        .map(Metadata::from_value)
        .transpose()
        .map_err(|e| ApiError::bad_request(e.field(), format!("{} {e}", e.field())))?;
    Ok(Entry {
        value,
        ttl_secs: metadata.as_ref().and_then(Metadata::ttl_secs),
        metadata: metadata.as_ref().map(Metadata::encode),
    })
}

/// `PUT /api/v1/state/{key}` with `{value, metadata?}`.
pub fn put(
    store: &Store,
    key: &StateKey,
    body: &[u8],
    source: &str,
    idempotency_key: Option<IdempotencyKey>,
) -> Result<Response, ApiError> {
    let body: PutBody = body::json(body)?;
    let entry = check("value", body.value, body.metadata)?;
    let write = Write::Put {
        key,
        value: &entry.value,
        metadata: entry.metadata.as_deref(),
        source,
    };
    let idempotency = writes::idempotency(idempotency_key, &write);
    match store.put(key, &entry, source, None, idempotency.as_ref())? {
        Applied::Now(Written::Ok(recorded)) => {
            tracing::info!(%key, ?recorded, source, "put");
            Ok(writes::answer(&recorded))
        }
        Applied::Now(Written::Conflict { current }) => Err(StoreError::Data(format!(
            "an unconditional write of {key} reported a conflict at version {current}"
        ))
        .into()),
        Applied::Again(again) => writes::again(again),
    }
}

/// `DELETE /api/v1/state/{key}`.
pub fn delete(
    store: &Store,
    key: &StateKey,
    source: &str,
    idempotency_key: Option<IdempotencyKey>,
) -> Result<Response, ApiError> {
    let write = Write::Delete { key, source };
    let idempotency = writes::idempotency(idempotency_key, &write);
    match store.delete(key, source, idempotency.as_ref())? {
        Applied::Now(Some(recorded)) => {
            tracing::info!(%key, ?recorded, source, "deleted");
            Ok(writes::answer(&recorded))
        }
        Applied::Now(None) => Err(no_key(key)),
        Applied::Again(again) => writes::again(again),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasBody {
    key: String,
    #[serde(default, deserialize_with = "present")]
    expected: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    new_value: Option<Value>,
    #[serde(default)]
    metadata: Option<Value>,
}

fn mismatch(key: &StateKey, current: Option<&Stored>) -> Result<ApiError, ApiError> {
    let value = match current {
        Some(stored) => parse_stored(key, &stored.value, "value")?,
        None => Value::Null,
    };
    Ok(ApiError::conflict(
        "cas-mismatch",
        format!("the current value of {key} is not the expected one"),
    )
    .with("key", key.as_str())
    .with("current_value", value)
    .with("current_version", current.map_or(0, |s| s.mod_revision)))
}

/// `POST /api/v1/state/cas` with `{key, expected, new_value, metadata?}`:
/// writes `new_value` only if the current value equals `expected` (`null`:
/// the key must not exist).
///
/// The comparison is on JSON values (`tombola-core`), so it runs here, and
/// the write is then conditional on the version it compared: if another
/// write came in between, it compares again. With an idempotency key, its
/// record is looked for before comparing: a compare-and-swap that landed
/// no longer matches, yet its retry must be told what it did.
pub fn cas(
    store: &Store,
    body: &[u8],
    source: &str,
    idempotency_key: Option<IdempotencyKey>,
) -> Result<Response, ApiError> {
    let body: CasBody = body::json(body)?;
    let key = ApiError::parsed("key", &body.key, StateKey::new)?;
    let expected = body.expected.ok_or_else(|| {
        ApiError::bad_request(
            "expected",
            "expected is required (null: the key must not exist)",
        )
    })?;
    let entry = check("new_value", body.new_value, body.metadata)?;
    let write = Write::Cas {
        key: &key,
        expected: &expected,
        value: &entry.value,
        metadata: entry.metadata.as_deref(),
        source,
    };
    let idempotency = writes::idempotency(idempotency_key, &write);
    // Until the conditional write is sent, a failure has written nothing.
    let read = || {
        store
            .get_unless_recorded(&key, idempotency.as_ref())
            .map_err(StoreError::unsent)
    };
    for attempt in 1..=CAS_ATTEMPTS {
        let current = match read()? {
            Applied::Now((_, current)) => current,
            Applied::Again(again) => return writes::again(again),
        };
        let current_value = current
            .as_ref()
            .map(|stored| parse_stored(&key, &stored.value, "value"))
            .transpose()?;
        if !cas_matches(&expected, current_value.as_ref()) {
            tracing::debug!(%key, "compare-and-swap: value differs");
            return Err(mismatch(&key, current.as_ref())?);
        }
        let version = current.as_ref().map_or(0, |s| s.mod_revision);
        match store.put(&key, &entry, source, Some(version), idempotency.as_ref())? {
            Applied::Now(Written::Ok(recorded)) => {
                tracing::info!(%key, ?recorded, previous = version, source, "compare-and-swap");
                return Ok(writes::answer(&recorded));
            }
            Applied::Now(Written::Conflict { current }) => {
                tracing::debug!(%key, attempt, read = version, current, "compare-and-swap raced a write; comparing again");
            }
            Applied::Again(again) => return writes::again(again),
        }
    }
    let (_, current) = store.get(&key).map_err(StoreError::unsent)?;
    Err(mismatch(&key, current.as_ref())?)
}
