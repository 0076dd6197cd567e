//! One key: get, put, delete and compare-and-swap.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use tombola_core::state::{Metadata, StateKey, cas_matches, encode_value};

use crate::answer::{self, ApiError};
use crate::request;
use crate::store::{Store, Stored, Written};

/// How many times a compare-and-swap re-reads when the key changed between
/// its read and its write, before it answers with a conflict.
const CAS_ATTEMPTS: usize = 8;

/// An entry as answered.
#[derive(Debug, Serialize)]
struct Entry<'a> {
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

fn parse_stored(key: &StateKey, text: &str, what: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text).map_err(|e| {
        tracing::error!(%key, what, error = %e, "stored JSON is damaged");
        ApiError::new(
            500,
            "redis-data-error",
            format!("the stored {what} of {key} is not JSON: {e}"),
        )
    })
}

/// `GET /api/v1/state/{key}`.
pub fn get(
    store: &Store,
    key: &StateKey,
    query: &str,
) -> Result<spin_sdk::http::Response, ApiError> {
    let include_metadata = request::query_flag(query, "include_metadata")?;
    let (revision, stored) = store.get(key)?;
    let stored = stored.ok_or_else(|| ApiError::no_key(key.as_str()))?;
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
    Ok(answer::ok(
        200,
        &Entry {
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

/// A value and metadata, checked and in their stored form.
struct Checked {
    value: String,
    metadata: Option<String>,
    ttl_secs: Option<u64>,
}

fn check(
    store: &Store,
    field: &str,
    value: Option<Value>,
    metadata: Option<Value>,
) -> Result<Checked, ApiError> {
    let value =
        value.ok_or_else(|| ApiError::bad_request(field, format!("{field} is required")))?;
    let value = encode_value(&value, store.settings().max_value_bytes)
        .map_err(|e| ApiError::bad_request(field, format!("{field} {e}")))?;
    let metadata = metadata
        .map(Metadata::from_value)
        .transpose()
        .map_err(|e| ApiError::bad_request(e.field(), format!("{} {e}", e.field())))?;
    Ok(Checked {
        value,
        ttl_secs: metadata.as_ref().and_then(Metadata::ttl_secs),
        metadata: metadata.as_ref().map(Metadata::encode),
    })
}

#[derive(Debug, Serialize)]
struct WriteAnswer<'a> {
    key: &'a str,
    version: u64,
    create_revision: u64,
    created: bool,
}

fn written(key: &StateKey, revision: u64, create_revision: u64) -> spin_sdk::http::Response {
    let created = revision == create_revision;
    answer::ok(
        if created { 201 } else { 200 },
        &WriteAnswer {
            key: key.as_str(),
            version: revision,
            create_revision,
            created,
        },
    )
}

/// `PUT /api/v1/state/{key}` with `{value, metadata?}`.
pub fn put(
    store: &Store,
    key: &StateKey,
    body: &[u8],
    source: &str,
) -> Result<spin_sdk::http::Response, ApiError> {
    let body: PutBody = request::json(body)?;
    let checked = check(store, "value", body.value, body.metadata)?;
    match store.put(
        key,
        &checked.value,
        checked.metadata.as_deref(),
        checked.ttl_secs,
        source,
        None,
    )? {
        Written::Ok {
            revision,
            create_revision,
        } => {
            tracing::info!(%key, revision, source, "put");
            Ok(written(key, revision, create_revision))
        }
        Written::Conflict { current } => Err(ApiError::new(
            500,
            "redis-data-error",
            format!("an unconditional write of {key} reported a conflict at version {current}"),
        )),
    }
}

#[derive(Debug, Serialize)]
struct Deleted<'a> {
    key: &'a str,
    revision: u64,
}

/// `DELETE /api/v1/state/{key}`.
pub fn delete(
    store: &Store,
    key: &StateKey,
    source: &str,
) -> Result<spin_sdk::http::Response, ApiError> {
    match store.delete(key, source)? {
        Ok(revision) => {
            tracing::info!(%key, revision, source, "deleted");
            Ok(answer::ok(
                200,
                &Deleted {
                    key: key.as_str(),
                    revision,
                },
            ))
        }
        Err(_) => Err(ApiError::no_key(key.as_str())),
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
    Ok(ApiError::new(
        409,
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
/// write came in between, it compares again.
pub fn cas(store: &Store, body: &[u8], source: &str) -> Result<spin_sdk::http::Response, ApiError> {
    let body: CasBody = request::json(body)?;
    let key = request::key("key", &body.key)?;
    let expected = body.expected.ok_or_else(|| {
        ApiError::bad_request(
            "expected",
            "expected is required (null: the key must not exist)",
        )
    })?;
    let checked = check(store, "new_value", body.new_value, body.metadata)?;
    for attempt in 1..=CAS_ATTEMPTS {
        let (_, current) = store.get(&key)?;
        let current_value = current
            .as_ref()
            .map(|stored| parse_stored(&key, &stored.value, "value"))
            .transpose()?;
        if !cas_matches(&expected, current_value.as_ref()) {
            tracing::debug!(%key, "compare-and-swap: value differs");
            return Err(mismatch(&key, current.as_ref())?);
        }
        let version = current.as_ref().map_or(0, |s| s.mod_revision);
        match store.put(
            &key,
            &checked.value,
            checked.metadata.as_deref(),
            checked.ttl_secs,
            source,
            Some(version),
        )? {
            Written::Ok {
                revision,
                create_revision,
            } => {
                tracing::info!(%key, revision, previous = version, source, "compare-and-swap");
                return Ok(written(&key, revision, create_revision));
            }
            Written::Conflict { current } => {
                tracing::debug!(%key, attempt, read = version, current, "compare-and-swap raced a write; comparing again");
            }
        }
    }
    let (_, current) = store.get(&key)?;
    Err(mismatch(&key, current.as_ref())?)
}
