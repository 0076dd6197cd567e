//! The rules of the versioned state API (`functions/state`).
//!
//! The state API is a key-value store with one global revision, in the
//! manner of etcd: every write bumps the revision, each entry keeps the
//! revision that created it and the one that last modified it, and every
//! write is one [`Event`] in a change feed that can be followed from any
//! retained revision. This module holds what decides whether a request is
//! acceptable and what goes on the wire; the component persists.
//!
//! - Keys: [`StateKey`], `[A-Za-z0-9:_.\-/]{1,256}` and not a route name
//!   ([`RESERVED_KEYS`], [`RESERVED_PREFIXES`]).
//! - Values: any JSON but `null` (which means "absent" in a compare-and-swap),
//!   at most a configured number of bytes once written compactly
//!   ([`encode_value`]).
//! - Metadata: a JSON object; its `ttl` member, when present, is a whole
//!   number of seconds ([`Metadata`]).
//! - Compare-and-swap: [`cas_matches`] compares JSON values as values
//!   ([`json_equal`]), not as text.
//! - The change feed: [`Event`], stored in parts ([`Event::encode`]) and
//!   built into the feed's JSON when read ([`Event::decode`]), and
//!   [`check_feed_start`] for the revision a follower may resume from.
//! - Listing: [`ListQuery`], a prefix, a page size and a cursor.
//! - Snapshots: [`SnapshotInfo`].
//! - Retries: a write may carry an [`IdempotencyKey`]; its [`Record`]
//!   holds the request's [`Fingerprint`] and what it answered
//!   ([`Recorded`]), and [`replay`] says what a retry is told. What a
//!   client is told of a write the store failed is the edge's: it depends
//!   only on whether the write was sent.
//!
//! ```
//! use tombola_core::state::{StateKey, cas_matches};
//! use serde_json::json;
//!
//! let key = StateKey::new("config/feature:flags")?;
//! assert_eq!(key.as_str(), "config/feature:flags");
//! assert!(StateKey::new("no spaces").is_err());
//!
//! // `null` expects the key to be absent; values compare as JSON.
//! assert!(cas_matches(&json!(null), None));
//! assert!(cas_matches(&json!({"a": 1, "b": 2}), Some(&json!({"b": 2, "a": 1.0}))));
//! assert!(!cas_matches(&json!(1), None));
//! # Ok::<(), tombola_core::state::KeyError>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

pub mod stream;
pub mod tracking;
pub mod txn;

pub use txn::{Txn, TxnAnswer, TxnError};

/// The longest key, in bytes (keys are ASCII).
pub const MAX_KEY_LEN: usize = 256;

/// The names of the API's fixed routes, in the order the component's route
/// table lists them: the router serves these paths before any key, so a
/// key equal to one of them could be written but never read back. This is
/// the one list; the component's route table and its OpenAPI document are
/// checked against it by their tests.
pub const RESERVED_KEYS: &[&str] = &[
    "openapi.json",
    "keys",
    "stats",
    "metrics",
    "events",
    "cas",
    "txn",
    "snapshot",
    "snapshots",
];

/// The literal starts of the API's routes with a parameter
/// (`snapshots/{revision}/restore`): no key may start with one, for the
/// same reason as [`RESERVED_KEYS`].
pub const RESERVED_PREFIXES: &[&str] = &["snapshots/"];

/// The default largest value, in bytes of compact JSON: 1 MiB.
pub const DEFAULT_MAX_VALUE_BYTES: usize = 1024 * 1024;

/// The largest metadata object, in bytes of compact JSON.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// The longest `ttl`, in seconds: ten years.
pub const MAX_TTL_SECS: u64 = 10 * 365 * 24 * 3600;

/// The longest write source, in bytes.
pub const MAX_SOURCE_LEN: usize = 128;

/// The largest page a listing returns.
pub const MAX_LIST_LIMIT: u64 = 1000;

/// The page size of a listing that names none.
pub const DEFAULT_LIST_LIMIT: u64 = 100;

/// Whether `c` may appear in a key.
pub fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '-' | '/')
}

/// Why a key is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The key is empty.
    #[error("must not be empty")]
    Empty,
    /// The key is longer than [`MAX_KEY_LEN`] bytes.
    #[error("is {len} bytes long; the most is {MAX_KEY_LEN}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The key holds a character outside `[A-Za-z0-9:_.\-/]`.
    #[error("holds {ch:?} at byte {position}; keys use A-Z, a-z, 0-9 and : _ . - /")]
    InvalidChar {
        /// The character.
        ch: char,
        /// Its byte offset.
        position: usize,
    },
    /// The key names a route ([`RESERVED_KEYS`]) or starts like one
    /// ([`RESERVED_PREFIXES`]).
    #[error("is reserved for the API's own routes")]
    Reserved,
}

/// Checks the characters and length shared by keys, prefixes and cursors.
fn check_chars(text: &str) -> Result<(), KeyError> {
    if text.len() > MAX_KEY_LEN {
        return Err(KeyError::TooLong { len: text.len() });
    }
    match text.char_indices().find(|(_, c)| !is_key_char(*c)) {
        Some((position, ch)) => Err(KeyError::InvalidChar { ch, position }),
        None => Ok(()),
    }
}

/// A valid key: 1 to [`MAX_KEY_LEN`] characters from `[A-Za-z0-9:_.\-/]`,
/// not a reserved route name. Keys sort bytewise, which is the order
/// listings return them in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct StateKey(String);

impl StateKey {
    /// Validates `text` as a key.
    ///
    /// Fails with the first rule it breaks: empty, too long, a character
    /// outside the set (naming it and its position), or reserved.
    pub fn new(text: &str) -> Result<Self, KeyError> {
        if text.is_empty() {
            return Err(KeyError::Empty);
        }
        check_chars(text)?;
        if RESERVED_KEYS.contains(&text) || RESERVED_PREFIXES.iter().any(|p| text.starts_with(p)) {
            return Err(KeyError::Reserved);
        }
        Ok(Self(text.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a value is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    /// The value is JSON `null`, which compare-and-swap reads as "absent".
    #[error("must not be null (null means an absent key; delete the key instead)")]
    Null,
    /// The value is larger than the configured limit.
    #[error("is {size} bytes as compact JSON; the most is {max}")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
}

/// The stored form of a value: compact JSON, checked against `max_bytes`.
///
/// Fails when the value is `null` or its compact form is over `max_bytes`.
pub fn encode_value(value: &Value, max_bytes: usize) -> Result<String, ValueError> {
    if value.is_null() {
        return Err(ValueError::Null);
    }
    let text = value.to_string();
    if text.len() > max_bytes {
        return Err(ValueError::TooLarge {
            size: text.len(),
            max: max_bytes,
        });
    }
    Ok(text)
}

/// Why metadata is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetadataError {
    /// Metadata is not a JSON object.
    #[error("must be a JSON object")]
    NotObject,
    /// Metadata is larger than [`MAX_METADATA_BYTES`].
    #[error("is {size} bytes as compact JSON; the most is {MAX_METADATA_BYTES}")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
    },
    /// `ttl` is not a whole number of seconds from 1 to [`MAX_TTL_SECS`].
    #[error("ttl must be a whole number of seconds from 1 to {MAX_TTL_SECS}, not {found}")]
    Ttl {
        /// The `ttl` as given.
        found: String,
    },
}

impl MetadataError {
    /// The request field at fault: `metadata` or `metadata.ttl`.
    pub fn field(&self) -> &'static str {
        match self {
            MetadataError::Ttl { .. } => "metadata.ttl",
            _ => "metadata",
        }
    }
}

/// An entry's metadata: a JSON object of the caller's, of which Tombola
/// reads one member, `ttl` (seconds until the entry expires). The
/// invariant: it is an object, at most [`MAX_METADATA_BYTES`], and its
/// `ttl`, if any, is within 1..=[`MAX_TTL_SECS`].
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    members: Map<String, Value>,
    ttl_secs: Option<u64>,
}

impl Metadata {
    /// Validates metadata as given in a request.
    ///
    /// Fails when it is not an object, is too large, or has a `ttl` that is
    /// not a whole number of seconds in range.
    ///
    /// A `ttl` written as a whole-number float (`60.0`, `6e1`) is the
    /// integer it spells, as JSON Schema counts it, and is stored as one.
    pub fn from_value(value: Value) -> Result<Self, MetadataError> {
        let Value::Object(mut members) = value else {
            return Err(MetadataError::NotObject);
        };
        if let Some(ttl) = members.get_mut("ttl")
            && let Some(secs) = ttl.as_number().and_then(crate::number::whole_u64)
        {
            *ttl = Value::from(secs);
        }
        let size = Value::Object(members.clone()).to_string().len();
        if size > MAX_METADATA_BYTES {
            return Err(MetadataError::TooLarge { size });
        }
        let ttl_secs = match members.get("ttl") {
            None => None,
            Some(ttl) => Some(
                ttl.as_u64()
                    .filter(|secs| (1..=MAX_TTL_SECS).contains(secs))
                    .ok_or_else(|| MetadataError::Ttl {
                        found: ttl.to_string(),
                    })?,
            ),
        };
        Ok(Self { members, ttl_secs })
    }

    /// Seconds until the entry expires, if it does.
    pub fn ttl_secs(&self) -> Option<u64> {
        self.ttl_secs
    }

    /// The stored form: compact JSON.
    pub fn encode(&self) -> String {
        Value::Object(self.members.clone()).to_string()
    }
}

/// Whether two JSON values are the same value: objects compare by members
/// whatever their order, arrays element by element, and numbers by value,
/// so `1`, `1.0` and `1e0` are equal.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Whether a compare-and-swap expecting `expected` may write over
/// `current` (`None`: the key is absent). `null` expects the key to be
/// absent; any other value expects a present key whose value is
/// [`json_equal`] to it.
pub fn cas_matches(expected: &Value, current: Option<&Value>) -> bool {
    match (expected, current) {
        (Value::Null, None) => true,
        (Value::Null, Some(_)) | (_, None) => false,
        (expected, Some(current)) => json_equal(expected, current),
    }
}

/// Why a write source is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("must be 1 to {MAX_SOURCE_LEN} visible ASCII characters")]
pub struct SourceError;

/// Validates who a write is attributed to (the `X-Source` header).
///
/// Fails unless it is 1 to [`MAX_SOURCE_LEN`] visible ASCII characters.
pub fn check_source(source: &str) -> Result<(), SourceError> {
    let ok = (1..=MAX_SOURCE_LEN).contains(&source.len())
        && source.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if ok { Ok(()) } else { Err(SourceError) }
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The key was written (created, overwritten or restored).
    Put,
    /// The key was deleted (by a request or by a restore).
    Delete,
    /// The key's `ttl` ran out.
    Expire,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 3] = [EventKind::Put, EventKind::Delete, EventKind::Expire];

    /// Its name, as the feed's `type` and the stored event spell it.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Put => "put",
            EventKind::Delete => "delete",
            EventKind::Expire => "expire",
        }
    }

    /// The kind a name spells, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// The first line of every event stored in [`Event::encode`]'s format;
/// events written by earlier builds are JSON objects and start with `{`.
pub const STORED_EVENT_TAG: &str = "e1";

/// The first line of a revision that holds several events (a
/// transaction's), stored in [`Event::encode_revision`]'s format.
pub const STORED_GROUP_TAG: &str = "g1";

/// One change, as the feed serves it: one JSON object per change, in
/// this field order:
///
/// ```json
/// {"revision":7,"key":"a","type":"put","old_value":1,"new_value":2,
///  "timestamp":1700000000000,"source":"admin"}
/// ```
///
/// `old_value` is `null` when the key did not exist (and on an expiry
/// Redis had already carried out, [`EXPIRED_VALUE_GRACE_SECS`]);
/// `new_value` is `null` on a delete or an expiry. `timestamp` is
/// milliseconds since the Unix epoch. Revisions are consecutive: every
/// revision is one change, but a transaction's, whose changes share its
/// revision and follow one another in order.
///
/// The store keeps an event in its parts ([`Event::encode`]), which the
/// Lua scripts can write without building JSON, and the feed builds the
/// JSON from them ([`Event::decode`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The revision this change created.
    pub revision: u64,
    /// The key it changed.
    pub key: String,
    /// What it did.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The value before, if any.
    pub old_value: Option<Value>,
    /// The value after, if any.
    pub new_value: Option<Value>,
    /// When, in milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Who: the `X-Source` header, the token's name, `ttl` or `restore`.
    pub source: String,
}

/// Why a stored event cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoredEventError {
    /// The text ends before the named line.
    #[error("it ends before its {0} line")]
    Missing(&'static str),
    /// The first line is neither [`STORED_EVENT_TAG`] nor the start of a
    /// JSON object.
    #[error("it starts with {0:?}, which is no event format")]
    Tag(String),
    /// A line that holds a whole number does not.
    #[error("its {field} is {found:?}, not a whole number")]
    Number {
        /// The line.
        field: &'static str,
        /// What it holds.
        found: String,
    },
    /// The type line names no [`EventKind`].
    #[error("its type is {0:?}, not put, delete or expire")]
    Kind(String),
    /// The old value's length runs past the end of the text, or splits a
    /// character.
    #[error("its old value is {len} bytes long, past the end of the event")]
    OldLength {
        /// The length the event gives.
        len: usize,
    },
    /// A value is not JSON text.
    #[error("its {field} is not JSON: {reason}")]
    Value {
        /// `old_value` or `new_value`.
        field: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// An event of an earlier build (a JSON object) that is not an event.
    #[error("it is not an event object: {0}")]
    Json(String),
    /// A transaction's revision is not a list of its events.
    #[error("its transaction's events cannot be read: {0}")]
    Group(String),
}

/// How long an entry's value outlives its `ttl` in Redis, in seconds, so
/// that the script that removes it on time (every script starts by doing
/// so) can still put the value in the `expire` event. A key no request
/// touched for that long after its expiry is dropped by Redis alone, and
/// its `expire` event then has no old value.
pub const EXPIRED_VALUE_GRACE_SECS: u64 = 3600;

impl Event {
    /// The stored form, as the scripts write it: seven lines, then the two
    /// values' JSON text back to back.
    ///
    /// ```text
    /// e1 LF revision LF type LF timestamp LF key LF source LF old-length LF old new
    /// ```
    ///
    /// `type` is an [`EventKind::name`]; `old-length` is the byte length
    /// of `old`, 0 when there was no old value; `new` is the rest of the
    /// text, empty when there is no new value (JSON text is never empty).
    /// Neither a key nor a source holds a line feed ([`StateKey`],
    /// [`check_source`]), and values may hold any bytes, since the length
    /// says where `old` ends.
    pub fn encode(&self) -> String {
        let old = self.old_value.as_ref().map(Value::to_string);
        let new = self.new_value.as_ref().map(Value::to_string);
        let old = old.as_deref().unwrap_or_default();
        format!(
            "{STORED_EVENT_TAG}\n{}\n{}\n{}\n{}\n{}\n{}\n{old}{}",
            self.revision,
            self.kind.name(),
            self.timestamp,
            self.key,
            self.source,
            old.len(),
            new.as_deref().unwrap_or_default(),
        )
    }

    /// The stored form of one revision: a single event's
    /// [`Event::encode`], or for several (a transaction's)
    ///
    /// ```text
    /// g1 LF count LF length,length,... LF event event ...
    /// ```
    ///
    /// each event in [`Event::encode`]'s form, its byte length listed.
    pub fn encode_revision(events: &[Event]) -> String {
        if let [event] = events {
            return event.encode();
        }
        let encoded: Vec<String> = events.iter().map(Event::encode).collect();
        let lengths: Vec<String> = encoded.iter().map(|e| e.len().to_string()).collect();
        format!(
            "{STORED_GROUP_TAG}\n{}\n{}\n{}",
            encoded.len(),
            lengths.join(","),
            encoded.concat()
        )
    }

    /// Reads the events of one stored revision
    /// ([`Event::encode_revision`]).
    ///
    /// Fails as [`Event::decode`] does, or when a transaction's lengths do
    /// not cut its text into as many events as it says, or its events do
    /// not all carry one revision.
    pub fn decode_revision(stored: &str) -> Result<Vec<Self>, StoredEventError> {
        let Some(group) = stored
            .strip_prefix(STORED_GROUP_TAG)
            .and_then(|g| g.strip_prefix('\n'))
        else {
            return Event::decode(stored).map(|event| vec![event]);
        };
        let bad = |what: &str| StoredEventError::Group(what.to_owned());
        let mut lines = group.splitn(3, '\n');
        let count: usize = lines
            .next()
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| bad("no count"))?;
        let lengths = lines
            .next()
            .ok_or_else(|| bad("no lengths"))?
            .split(',')
            .map(|l| {
                l.parse::<usize>()
                    .map_err(|_| bad("a length is not a number"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut rest = lines.next().ok_or_else(|| bad("no events"))?;
        if lengths.len() != count {
            return Err(bad("its count and its lengths differ"));
        }
        let mut events = Vec::with_capacity(count);
        for len in lengths {
            if !rest.is_char_boundary(len) {
                return Err(bad("a length runs past its text"));
            }
            let (event, after) = rest.split_at(len);
            events.push(Event::decode(event)?);
            rest = after;
        }
        if !rest.is_empty() {
            return Err(bad("text follows its last event"));
        }
        if events.windows(2).any(|w| w[0].revision != w[1].revision) {
            return Err(bad("its events carry more than one revision"));
        }
        Ok(events)
    }

    /// Reads a stored event: [`Event::encode`]'s form, or the JSON object
    /// (the feed's own form) that earlier builds stored, which stays
    /// readable as it is.
    ///
    /// Fails, naming the part at fault, when the text is neither, a number
    /// or the type is not one, or a value is not JSON.
    pub fn decode(stored: &str) -> Result<Self, StoredEventError> {
        if stored.starts_with('{') {
            return serde_json::from_str(stored).map_err(|e| StoredEventError::Json(e.to_string()));
        }
        let mut lines = stored.splitn(8, '\n');
        let mut line = |name| lines.next().ok_or(StoredEventError::Missing(name));
        let tag = line("tag")?;
        if tag != STORED_EVENT_TAG {
            return Err(StoredEventError::Tag(tag.chars().take(16).collect()));
        }
        let number = |field, text: &str| {
            text.parse::<u64>().map_err(|_| StoredEventError::Number {
                field,
                found: text.to_owned(),
            })
        };
        let revision = number("revision", line("revision")?)?;
        let kind = line("type")?;
        let kind = EventKind::from_name(kind).ok_or_else(|| StoredEventError::Kind(kind.into()))?;
        let timestamp = number("timestamp", line("timestamp")?)?;
        let key = line("key")?.to_owned();
        let source = line("source")?.to_owned();
        let old_len = number("old-length", line("old-length")?)?;
        let values = line("values")?;
        let split = usize::try_from(old_len)
            .ok()
            .filter(|&len| values.is_char_boundary(len))
            .ok_or(StoredEventError::OldLength {
                len: usize::try_from(old_len).unwrap_or(usize::MAX),
            })?;
        let (old, new) = values.split_at(split);
        let value = |field, text: &str| {
            if text.is_empty() {
                return Ok(None);
            }
            serde_json::from_str(text)
                .map(Some)
                .map_err(|e| StoredEventError::Value {
                    field,
                    reason: e.to_string(),
                })
        };
        Ok(Self {
            revision,
            key,
            kind,
            old_value: value("old_value", old)?,
            new_value: value("new_value", new)?,
            timestamp,
            source,
        })
    }
}

/// A follower asked for changes the feed no longer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "revision {after} is compacted: the feed holds revisions after {compacted}; list the keys again and follow from the listing's revision"
)]
pub struct Compacted {
    /// The revision asked to follow after.
    pub after: u64,
    /// The last revision dropped from the feed.
    pub compacted: u64,
}

/// Checks that the feed can serve every change after `after`, given that
/// the events up to revision `compacted` were dropped.
///
/// Fails when `after < compacted`: a change the follower has not seen is
/// gone (etcd's "required revision has been compacted").
pub fn check_feed_start(after: u64, compacted: u64) -> Result<(), Compacted> {
    if after < compacted {
        Err(Compacted { after, compacted })
    } else {
        Ok(())
    }
}

/// Why a listing query is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ListError {
    /// The prefix is not a run of key characters.
    #[error("prefix {0}")]
    Prefix(KeyError),
    /// The cursor is not a key, or does not start with the prefix.
    #[error("cursor must be a key starting with the prefix")]
    Cursor,
    /// The limit is outside 1..=[`MAX_LIST_LIMIT`].
    #[error("limit must be a whole number from 1 to {MAX_LIST_LIMIT}")]
    Limit,
}

impl ListError {
    /// The query parameter at fault.
    pub fn field(&self) -> &'static str {
        match self {
            ListError::Prefix(_) => "prefix",
            ListError::Cursor => "cursor",
            ListError::Limit => "limit",
        }
    }
}

/// A page of a listing: keys starting with `prefix`, after `cursor` (the
/// last key of the previous page), at most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Keys start with this (empty: every key).
    pub prefix: String,
    /// Keys sort after this one.
    pub cursor: Option<String>,
    /// The page size, 1..=[`MAX_LIST_LIMIT`].
    pub limit: u64,
}

impl ListQuery {
    /// Validates a listing's parameters as given (`None`: not given).
    ///
    /// Fails when the prefix holds a character keys cannot, the cursor does
    /// not start with the prefix, or the limit is out of range.
    pub fn new(
        prefix: Option<&str>,
        cursor: Option<&str>,
        limit: Option<&str>,
    ) -> Result<Self, ListError> {
        let prefix = prefix.unwrap_or_default();
        check_chars(prefix).map_err(ListError::Prefix)?;
        let cursor = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) if c.starts_with(prefix) && check_chars(c).is_ok() => Some(c.to_owned()),
            Some(_) => return Err(ListError::Cursor),
        };
        let limit = match limit {
            None => DEFAULT_LIST_LIMIT,
            Some(text) => text
                .parse()
                .ok()
                .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
                .ok_or(ListError::Limit)?,
        };
        Ok(Self {
            prefix: prefix.to_owned(),
            cursor,
            limit,
        })
    }
}

/// A kept snapshot, as listed: every entry as it was at `revision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// The revision the entries were captured at; restoring names it.
    pub revision: u64,
    /// When it was taken, in milliseconds since the Unix epoch.
    pub created_at: u64,
    /// How many entries it holds.
    pub keys: u64,
}

impl SnapshotInfo {
    /// Parses the stored description, `<created_at> <keys>`.
    ///
    /// Fails (`None`) unless it is two whole numbers separated by a space.
    pub fn parse(revision: u64, stored: &str) -> Option<Self> {
        let (created_at, keys) = stored.split_once(' ')?;
        Some(Self {
            revision,
            created_at: created_at.parse().ok()?,
            keys: keys.parse().ok()?,
        })
    }
}

/// How often a write takes a timed snapshot when `snapshot_interval_secs`
/// is not set, in seconds.
pub const DEFAULT_SNAPSHOT_INTERVAL_SECS: u64 = 300;

/// Whether a write at `now_ms` also takes a timed snapshot, the interval
/// having started at `since_ms` (the newest snapshot's time, or the first
/// write's): once `interval_secs` have passed. An interval of 0 turns
/// timed snapshots off. Spin has no timer, so the first write after the
/// interval takes it; the state scripts' `timed_snapshot` keeps this rule.
pub fn snapshot_due(now_ms: u64, since_ms: u64, interval_secs: u64) -> bool {
    interval_secs > 0 && now_ms.saturating_sub(since_ms) >= interval_secs.saturating_mul(1000)
}

/// The header a state write may carry so that it can be retried safely.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// The longest idempotency key, in characters (ASCII).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

/// How long a write's record is kept when `idempotency_ttl_secs` is not
/// set, in seconds: one day.
pub const DEFAULT_IDEMPOTENCY_TTL_SECS: u64 = 24 * 3600;

/// Whether `c` may appear in an idempotency key: the characters of UUIDs,
/// ULIDs and base64 (standard or URL-safe), and `:` `.` `~`.
pub fn is_idempotency_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '~' | '+' | '/' | '=')
}

/// Why an `Idempotency-Key` header is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdempotencyKeyError {
    /// The key is empty (or `""`).
    #[error("must not be empty")]
    Empty,
    /// The key holds a character outside the set.
    #[error(
        "holds {ch:?} at character {position}; idempotency keys use A-Z, a-z, 0-9 and - _ . : ~ + / ="
    )]
    InvalidChar {
        /// The character.
        ch: char,
        /// Its position, counted in characters from 0.
        position: usize,
    },
    /// The key is longer than [`MAX_IDEMPOTENCY_KEY_LEN`].
    #[error("is {len} characters long; the most is {MAX_IDEMPOTENCY_KEY_LEN}")]
    TooLong {
        /// Its length.
        len: usize,
    },
}

/// A valid idempotency key: 1 to [`MAX_IDEMPOTENCY_KEY_LEN`] characters
/// for which [`is_idempotency_key_char`] holds. The key names the record
/// of the write made under it; it is the client's to choose and to keep
/// unique per request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Reads the header's value: the key bare (`Idempotency-Key: 8e03...`)
    /// or as a quoted string, as the IETF draft writes it
    /// (`Idempotency-Key: "8e03..."`); both name the same key.
    ///
    /// Fails when the key is empty, holds a character outside the set
    /// (naming it and where), or is too long.
    pub fn parse(header: &str) -> Result<Self, IdempotencyKeyError> {
        let key = header
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or(header);
        if key.is_empty() {
            return Err(IdempotencyKeyError::Empty);
        }
        if let Some((position, ch)) = key
            .chars()
            .enumerate()
            .find(|(_, c)| !is_idempotency_key_char(*c))
        {
            return Err(IdempotencyKeyError::InvalidChar { ch, position });
        }
        if key.len() > MAX_IDEMPOTENCY_KEY_LEN {
            return Err(IdempotencyKeyError::TooLong { len: key.len() });
        }
        Ok(Self(key.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The routes that write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// `PUT {key}`.
    Put,
    /// `DELETE {key}`.
    Delete,
    /// `POST cas`.
    Cas,
    /// `POST txn`.
    Txn,
    /// `POST snapshot`.
    Snapshot,
    /// `POST snapshots/{revision}/restore`.
    Restore,
}

impl WriteKind {
    /// Every kind.
    pub const ALL: [WriteKind; 6] = [
        WriteKind::Put,
        WriteKind::Delete,
        WriteKind::Cas,
        WriteKind::Txn,
        WriteKind::Snapshot,
        WriteKind::Restore,
    ];

    /// Its name, as a fingerprint starts with it.
    pub fn name(self) -> &'static str {
        match self {
            WriteKind::Put => "put",
            WriteKind::Delete => "delete",
            WriteKind::Cas => "cas",
            WriteKind::Txn => "txn",
            WriteKind::Snapshot => "snapshot",
            WriteKind::Restore => "restore",
        }
    }

    /// The kind a name spells, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for WriteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A write request, validated, as far as its idempotency key's record
/// tells one request from another: the route and everything that decides
/// what it writes. Values and metadata are in their stored form
/// ([`encode_value`], [`Metadata::encode`]), so two requests that would
/// store the same bytes are the same request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Write<'a> {
    /// `PUT {key}`.
    Put {
        /// The key.
        key: &'a StateKey,
        /// The value, stored form.
        value: &'a str,
        /// The metadata, stored form.
        metadata: Option<&'a str>,
        /// Who it is attributed to.
        source: &'a str,
    },
    /// `DELETE {key}`.
    Delete {
        /// The key.
        key: &'a StateKey,
        /// Who it is attributed to.
        source: &'a str,
    },
    /// `POST cas`.
    Cas {
        /// The key.
        key: &'a StateKey,
        /// The value it expects (`null`: none).
        expected: &'a Value,
        /// The new value, stored form.
        value: &'a str,
        /// The metadata, stored form.
        metadata: Option<&'a str>,
        /// Who it is attributed to.
        source: &'a str,
    },
    /// `POST txn`.
    Txn {
        /// What decides what it does ([`Txn::fields`]).
        fields: &'a [String],
        /// Who it is attributed to.
        source: &'a str,
    },
    /// `POST snapshot`.
    Snapshot,
    /// `POST snapshots/{revision}/restore`.
    Restore {
        /// The snapshot's revision.
        snapshot: u64,
        /// Who it is attributed to.
        source: &'a str,
    },
}

/// FNV-1a over 128 bits: deterministic, with no seed from the OS. A
/// fingerprint tells apart requests made under one client's own key, so an
/// adversarial collision only ever confuses the client that made it.
struct Fnv128(u128);

impl Fnv128 {
    const OFFSET: u128 = 0x6C62_272E_07BB_0142_62B8_2175_6295_C58D;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013B;

    fn new() -> Self {
        Self(Self::OFFSET)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u128::from(byte)).wrapping_mul(Self::PRIME);
        }
    }

    /// One field, length first, so that no two lists of fields hash the
    /// same bytes; `None` is a marker no length can be.
    fn field(&mut self, field: Option<&str>) {
        match field {
            Some(text) => {
                self.bytes(text.len().to_string().as_bytes());
                self.bytes(b":");
                self.bytes(text.as_bytes());
            }
            None => self.bytes(b"-"),
        }
    }
}

/// What tells a write request from another under one idempotency key:
/// `<kind> <32 hex digits>`, the [`WriteKind::name`] and a 128-bit FNV-1a
/// hash of the request's fields ([`Write`]), each written as its byte
/// length, `:` and its bytes (`-` for absent metadata). It is the same for
/// the same request in every build that keeps this format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    kind: WriteKind,
    text: String,
}

impl Fingerprint {
    /// Reads a stored fingerprint.
    ///
    /// Fails (`None`) unless it is a kind's name, a space and 32 lower-case
    /// hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        let (kind, hash) = text.split_once(' ')?;
        let kind = WriteKind::from_name(kind)?;
        let hex = hash.len() == 32
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        hex.then(|| Self {
            kind,
            text: text.to_owned(),
        })
    }

    /// The write it is of.
    pub fn kind(&self) -> WriteKind {
        self.kind
    }

    /// Its stored form.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Write<'_> {
    /// The route it writes through.
    pub fn kind(&self) -> WriteKind {
        match self {
            Write::Put { .. } => WriteKind::Put,
            Write::Delete { .. } => WriteKind::Delete,
            Write::Cas { .. } => WriteKind::Cas,
            Write::Txn { .. } => WriteKind::Txn,
            Write::Snapshot => WriteKind::Snapshot,
            Write::Restore { .. } => WriteKind::Restore,
        }
    }

    /// The request's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        let kind = self.kind();
        let mut hash = Fnv128::new();
        hash.field(Some(kind.name()));
        match *self {
            Write::Put {
                key,
                value,
                metadata,
                source,
            } => {
                for field in [Some(key.as_str()), Some(value), metadata, Some(source)] {
                    hash.field(field);
                }
            }
            Write::Delete { key, source } => {
                hash.field(Some(key.as_str()));
                hash.field(Some(source));
            }
            Write::Cas {
                key,
                expected,
                value,
                metadata,
                source,
            } => {
                let expected = expected.to_string();
                for field in [
                    Some(key.as_str()),
                    Some(expected.as_str()),
                    Some(value),
                    metadata,
                    Some(source),
                ] {
                    hash.field(field);
                }
            }
            Write::Txn { fields, source } => {
                for field in fields {
                    hash.field(Some(field));
                }
                hash.field(Some(source));
            }
            Write::Snapshot => {}
            Write::Restore { snapshot, source } => {
                hash.field(Some(&snapshot.to_string()));
                hash.field(Some(source));
            }
        }
        Fingerprint {
            kind,
            text: format!("{} {:032x}", kind.name(), hash.0),
        }
    }
}

/// What a write answered, as its record keeps it: everything its answer
/// is built from, so a retry is told exactly that again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// A put or a compare-and-swap wrote `key` at `revision` (its new
    /// version); the key was created at `create_revision`.
    Written {
        /// The key.
        key: String,
        /// The new revision.
        revision: u64,
        /// The revision that created the key.
        create_revision: u64,
    },
    /// A delete removed `key` at `revision`.
    Deleted {
        /// The key.
        key: String,
        /// The new revision.
        revision: u64,
    },
    /// A snapshot was taken; `dropped` lists the snapshots it pushed out.
    Snapshot {
        /// What it is.
        info: SnapshotInfo,
        /// The revisions of the snapshots dropped to make room.
        dropped: Vec<u64>,
    },
    /// A transaction ran.
    Txn(TxnAnswer),
    /// The snapshot at `snapshot` was restored, changing `changed` keys;
    /// the state is now at `revision`.
    Restored {
        /// The snapshot's revision.
        snapshot: u64,
        /// The revision after the restore.
        revision: u64,
        /// How many keys it changed.
        changed: u64,
    },
}

/// Why a stored answer or record cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    /// The record has no parts.
    #[error("the record is empty")]
    Empty,
    /// The first part is not a [`Fingerprint`].
    #[error("{0:?} is not a request fingerprint")]
    Fingerprint(String),
    /// The answer has the wrong number of parts for its kind.
    #[error("a {kind} answer has {expected} parts, not {found}")]
    Parts {
        /// The kind of write.
        kind: WriteKind,
        /// How many it has (at least, for a snapshot).
        expected: usize,
        /// How many were stored.
        found: usize,
    },
    /// A part that holds a whole number does not.
    #[error("a {kind} answer holds {found:?} where a whole number belongs")]
    Number {
        /// The kind of write.
        kind: WriteKind,
        /// What it holds.
        found: String,
    },
    /// A transaction's answer is not one.
    #[error("a txn answer cannot be read: {0}")]
    Txn(String),
}

impl Recorded {
    /// Reads the answer of a write of `kind` from its parts, as its script
    /// replies them and its record keeps them:
    ///
    /// | kind | parts |
    /// |---|---|
    /// | put, cas | key, revision, create revision |
    /// | delete | key, revision |
    /// | snapshot | revision, created at, keys, dropped revision... |
    /// | restore | snapshot, revision, changed keys |
    /// | txn | [`TxnAnswer::decode`]'s |
    ///
    /// Fails when the number of parts is not the kind's, or a number is
    /// not a whole number.
    pub fn decode(kind: WriteKind, parts: &[String]) -> Result<Self, RecordError> {
        let expected = match kind {
            WriteKind::Txn => 0,
            WriteKind::Delete => 2,
            WriteKind::Put | WriteKind::Cas | WriteKind::Snapshot | WriteKind::Restore => 3,
        };
        let fits = match kind {
            WriteKind::Snapshot | WriteKind::Txn => parts.len() >= expected,
            _ => parts.len() == expected,
        };
        if !fits {
            return Err(RecordError::Parts {
                kind,
                expected,
                found: parts.len(),
            });
        }
        let number = |text: &String| {
            text.parse::<u64>().map_err(|_| RecordError::Number {
                kind,
                found: text.clone(),
            })
        };
        Ok(match kind {
            WriteKind::Put | WriteKind::Cas => Recorded::Written {
                key: parts[0].clone(),
                revision: number(&parts[1])?,
                create_revision: number(&parts[2])?,
            },
            WriteKind::Delete => Recorded::Deleted {
                key: parts[0].clone(),
                revision: number(&parts[1])?,
            },
            WriteKind::Snapshot => Recorded::Snapshot {
                info: SnapshotInfo {
                    revision: number(&parts[0])?,
                    created_at: number(&parts[1])?,
                    keys: number(&parts[2])?,
                },
                dropped: parts[3..].iter().map(number).collect::<Result<_, _>>()?,
            },
            WriteKind::Restore => Recorded::Restored {
                snapshot: number(&parts[0])?,
                revision: number(&parts[1])?,
                changed: number(&parts[2])?,
            },
            WriteKind::Txn => Recorded::Txn(TxnAnswer::decode(parts)?),
        })
    }

    /// Its parts, as [`Recorded::decode`] reads them.
    pub fn encode(&self) -> Vec<String> {
        match self {
            Recorded::Written {
                key,
                revision,
                create_revision,
            } => vec![
                key.clone(),
                revision.to_string(),
                create_revision.to_string(),
            ],
            Recorded::Deleted { key, revision } => vec![key.clone(), revision.to_string()],
            Recorded::Txn(answer) => answer.encode(),
            Recorded::Snapshot { info, dropped } => [info.revision, info.created_at, info.keys]
                .iter()
                .chain(dropped)
                .map(u64::to_string)
                .collect(),
            Recorded::Restored {
                snapshot,
                revision,
                changed,
            } => vec![
                snapshot.to_string(),
                revision.to_string(),
                changed.to_string(),
            ],
        }
    }
}

/// The record of a write made under an idempotency key, kept for
/// `idempotency_ttl_secs` in the same script as the write: a Redis list
/// whose first element is the request's [`Fingerprint`] and the rest the
/// answer's parts ([`Recorded::decode`]). Only a write that succeeded is
/// recorded; a request refused with a 4xx writes nothing and leaves its
/// key free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The request that made it.
    pub fingerprint: Fingerprint,
    /// What it answered.
    pub answer: Recorded,
}

impl Record {
    /// Reads a record from its list's elements.
    ///
    /// Fails when it is empty, its first element is not a fingerprint, or
    /// the rest is not an answer of the fingerprint's kind.
    pub fn decode(parts: &[String]) -> Result<Self, RecordError> {
        let (first, answer) = parts.split_first().ok_or(RecordError::Empty)?;
        let fingerprint =
            Fingerprint::parse(first).ok_or_else(|| RecordError::Fingerprint(first.clone()))?;
        let answer = Recorded::decode(fingerprint.kind(), answer)?;
        Ok(Self {
            fingerprint,
            answer,
        })
    }

    /// The list's elements, as [`Record::decode`] reads them.
    pub fn encode(&self) -> Vec<String> {
        let mut parts = vec![self.fingerprint.as_str().to_owned()];
        parts.extend(self.answer.encode());
        parts
    }
}

/// An idempotency key already names the record of another request.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "was used for a different {first} request, whose answer it keeps; nothing was written: use a new key for a new request"
)]
pub struct KeyReused {
    /// The kind of the request that used it first.
    pub first: WriteKind,
}

/// What a write carrying an idempotency key that already has `record` is
/// told: the recorded answer again when it is the request recorded (a
/// retry), which then writes nothing more; [`KeyReused`] (a 409) when it
/// is another request under the same key.
pub fn replay<'r>(record: &'r Record, request: &Fingerprint) -> Result<&'r Recorded, KeyReused> {
    if &record.fingerprint == request {
        Ok(&record.answer)
    } else {
        Err(KeyReused {
            first: record.fingerprint.kind(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_follow_the_character_set_and_length() {
        for good in [
            "a",
            "A-z_0.9:x/y",
            "a//b/",
            &"k".repeat(MAX_KEY_LEN),
            "keys2",
        ] {
            assert_eq!(StateKey::new(good).unwrap().as_str(), good);
        }
        assert_eq!(StateKey::new(""), Err(KeyError::Empty));
        assert_eq!(
            StateKey::new(&"k".repeat(MAX_KEY_LEN + 1)),
            Err(KeyError::TooLong {
                len: MAX_KEY_LEN + 1
            })
        );
        assert_eq!(
            StateKey::new("ab c"),
            Err(KeyError::InvalidChar {
                ch: ' ',
                position: 2
            })
        );
        assert_eq!(
            StateKey::new("é"),
            Err(KeyError::InvalidChar {
                ch: 'é',
                position: 0
            })
        );
        for bad in ["a%2F", "a?b", "a{s}", "a*"] {
            assert!(
                matches!(StateKey::new(bad), Err(KeyError::InvalidChar { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn route_names_are_reserved() {
        for name in RESERVED_KEYS {
            assert_eq!(StateKey::new(name), Err(KeyError::Reserved), "{name}");
        }
        for prefix in RESERVED_PREFIXES {
            assert_eq!(
                StateKey::new(&format!("{prefix}1")),
                Err(KeyError::Reserved)
            );
        }
        assert_eq!(StateKey::new("snapshots/1"), Err(KeyError::Reserved));
        assert_eq!(StateKey::new("openapi.json"), Err(KeyError::Reserved));
        assert!(StateKey::new("snapshots1").is_ok());
        assert!(StateKey::new("openapi.json2").is_ok());
        assert!(StateKey::new("stats/x").is_ok());
    }

    #[test]
    fn key_errors_read_well() {
        assert_eq!(
            KeyError::InvalidChar {
                ch: ' ',
                position: 2
            }
            .to_string(),
            "holds ' ' at byte 2; keys use A-Z, a-z, 0-9 and : _ . - /"
        );
        assert_eq!(
            KeyError::TooLong { len: 300 }.to_string(),
            "is 300 bytes long; the most is 256"
        );
    }

    #[test]
    fn values_are_compact_bounded_and_never_null() {
        assert_eq!(
            encode_value(&json!({"a": [1, 2]}), 100).unwrap(),
            r#"{"a":[1,2]}"#
        );
        assert_eq!(encode_value(&json!(null), 100), Err(ValueError::Null));
        assert_eq!(encode_value(&json!("abc"), 5).unwrap(), r#""abc""#);
        assert_eq!(
            encode_value(&json!("abcd"), 5),
            Err(ValueError::TooLarge { size: 6, max: 5 })
        );
        assert_eq!(encode_value(&json!(false), 5).unwrap(), "false");
    }

    #[test]
    fn metadata_is_an_object_with_an_optional_ttl() {
        let plain = Metadata::from_value(json!({"owner": "ops"})).unwrap();
        assert_eq!(plain.ttl_secs(), None);
        assert_eq!(plain.encode(), r#"{"owner":"ops"}"#);
        let ttl = Metadata::from_value(json!({"ttl": 60, "x": 1})).unwrap();
        assert_eq!(ttl.ttl_secs(), Some(60));
        assert_eq!(ttl.encode(), r#"{"ttl":60,"x":1}"#);
        assert_eq!(
            Metadata::from_value(json!({"ttl": MAX_TTL_SECS}))
                .unwrap()
                .ttl_secs(),
            Some(MAX_TTL_SECS)
        );

        assert_eq!(
            Metadata::from_value(json!([1])),
            Err(MetadataError::NotObject)
        );
        assert_eq!(
            Metadata::from_value(json!("x")),
            Err(MetadataError::NotObject)
        );
        for bad in [
            json!(0),
            json!(-5),
            json!(1.5),
            json!("60"),
            json!(MAX_TTL_SECS + 1),
        ] {
            let err = Metadata::from_value(json!({ "ttl": bad.clone() })).unwrap_err();
            assert_eq!(
                err,
                MetadataError::Ttl {
                    found: bad.to_string()
                }
            );
            assert_eq!(err.field(), "metadata.ttl");
        }
        let whole = Metadata::from_value(json!({"ttl": 60.0, "x": 1.5})).unwrap();
        assert_eq!(whole.ttl_secs(), Some(60));
        assert_eq!(whole.encode(), r#"{"ttl":60,"x":1.5}"#);
        let parsed: Value = serde_json::from_str(r#"{"ttl": 6e1}"#).unwrap();
        assert_eq!(Metadata::from_value(parsed).unwrap().ttl_secs(), Some(60));
        for refused in [json!(-5.0), json!(1e300), json!(0.0)] {
            assert!(
                Metadata::from_value(json!({ "ttl": refused })).is_err(),
                "{refused}"
            );
        }
        let big = Metadata::from_value(json!({ "x": "y".repeat(MAX_METADATA_BYTES) })).unwrap_err();
        assert_eq!(
            big,
            MetadataError::TooLarge {
                size: MAX_METADATA_BYTES + 8
            }
        );
        assert_eq!(big.field(), "metadata");
    }

    #[test]
    fn json_values_compare_as_values() {
        assert!(json_equal(&json!(1), &json!(1.0)));
        assert!(json_equal(&json!(-3), &json!(-3.0)));
        assert!(json_equal(&json!(u64::MAX), &json!(u64::MAX)));
        assert!(!json_equal(&json!(1), &json!(2)));
        assert!(!json_equal(&json!(1), &json!("1")));
        assert!(json_equal(
            &json!({"a": 1, "b": [true, null]}),
            &json!({"b": [true, null], "a": 1.0})
        ));
        assert!(!json_equal(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!json_equal(
            &json!({"a": 1, "b": 2}),
            &json!({"a": 1, "c": 2})
        ));
        assert!(!json_equal(&json!([1, 2]), &json!([2, 1])));
        assert!(!json_equal(&json!([1]), &json!([1, 1])));
        assert!(json_equal(&json!("s"), &json!("s")));
        assert!(!json_equal(&json!(null), &json!(false)));
    }

    #[test]
    fn cas_expects_absence_with_null_and_equal_values_otherwise() {
        assert!(cas_matches(&json!(null), None));
        assert!(!cas_matches(&json!(null), Some(&json!(0))));
        assert!(!cas_matches(&json!(0), None));
        assert!(cas_matches(&json!(5), Some(&json!(5.0))));
        assert!(!cas_matches(&json!(5), Some(&json!(6))));
        assert!(cas_matches(&json!({"n": [1]}), Some(&json!({"n": [1.0]}))));
    }

    #[test]
    fn sources_are_short_visible_ascii() {
        assert_eq!(check_source("deploy-bot"), Ok(()));
        assert_eq!(check_source("ci job 7"), Ok(()));
        assert_eq!(check_source(&"s".repeat(MAX_SOURCE_LEN)), Ok(()));
        assert_eq!(check_source(""), Err(SourceError));
        assert_eq!(
            check_source(&"s".repeat(MAX_SOURCE_LEN + 1)),
            Err(SourceError)
        );
        assert_eq!(check_source("a\nb"), Err(SourceError));
        assert_eq!(check_source("café"), Err(SourceError));
    }

    #[test]
    fn events_have_a_fixed_wire_format() {
        let stored = r#"{"revision":7,"key":"a\/b","type":"put","old_value":null,"new_value":{"n":2},"timestamp":1700000000000,"source":"admin"}"#;
        let event: Event = serde_json::from_str(stored).unwrap();
        assert_eq!(
            event,
            Event {
                revision: 7,
                key: "a/b".into(),
                kind: EventKind::Put,
                old_value: None,
                new_value: Some(json!({"n": 2})),
                timestamp: 1_700_000_000_000,
                source: "admin".into(),
            }
        );
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"revision":7,"key":"a/b","type":"put","old_value":null,"new_value":{"n":2},"timestamp":1700000000000,"source":"admin"}"#
        );
        let expire: Event = serde_json::from_str(
            r#"{"revision":8,"key":"t","type":"expire","old_value":1,"new_value":null,"timestamp":1,"source":"ttl"}"#,
        )
        .unwrap();
        assert_eq!(expire.kind, EventKind::Expire);
        assert_eq!(expire.new_value, None);
        for bad in [
            r#"{"revision":7,"key":"a","type":"move","old_value":null,"new_value":1,"timestamp":1,"source":"s"}"#,
            r#"{"revision":-1,"key":"a","type":"put","old_value":null,"new_value":1,"timestamp":1,"source":"s"}"#,
            r#"{"revision":7,"key":"a","type":"put","old_value":null,"new_value":1,"timestamp":1}"#,
            r#"{"revision":7,"key":"a","type":"put","old_value":null,"new_value":1,"timestamp":1,"source":"s","x":1}"#,
        ] {
            assert!(serde_json::from_str::<Event>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_feed_serves_from_the_last_compacted_revision_on() {
        assert_eq!(check_feed_start(0, 0), Ok(()));
        assert_eq!(check_feed_start(10, 10), Ok(()));
        assert_eq!(check_feed_start(11, 10), Ok(()));
        let err = check_feed_start(9, 10).unwrap_err();
        assert_eq!(
            err,
            Compacted {
                after: 9,
                compacted: 10
            }
        );
        assert!(err.to_string().starts_with("revision 9 is compacted"));
    }

    #[test]
    fn listing_queries_are_checked() {
        assert_eq!(
            ListQuery::new(None, None, None).unwrap(),
            ListQuery {
                prefix: String::new(),
                cursor: None,
                limit: DEFAULT_LIST_LIMIT
            }
        );
        assert_eq!(
            ListQuery::new(Some("app/"), Some("app/b"), Some("2")).unwrap(),
            ListQuery {
                prefix: "app/".into(),
                cursor: Some("app/b".into()),
                limit: 2
            }
        );
        assert_eq!(
            ListQuery::new(Some("a"), Some(""), None).unwrap().cursor,
            None
        );
        let prefix = ListQuery::new(Some("a b"), None, None).unwrap_err();
        assert_eq!(
            prefix,
            ListError::Prefix(KeyError::InvalidChar {
                ch: ' ',
                position: 1
            })
        );
        assert_eq!(prefix.field(), "prefix");
        let cursor = ListQuery::new(Some("app/"), Some("zzz"), None).unwrap_err();
        assert_eq!(cursor, ListError::Cursor);
        assert_eq!(cursor.field(), "cursor");
        assert_eq!(
            ListQuery::new(None, Some("a b"), None),
            Err(ListError::Cursor)
        );
        for bad in ["0", "1001", "x", "-1"] {
            let err = ListQuery::new(None, None, Some(bad)).unwrap_err();
            assert_eq!(err, ListError::Limit, "{bad}");
            assert_eq!(err.field(), "limit");
        }
        assert_eq!(
            ListQuery::new(None, None, Some("1000")).unwrap().limit,
            MAX_LIST_LIMIT
        );
    }

    #[test]
    fn snapshot_descriptions_parse() {
        assert_eq!(
            SnapshotInfo::parse(12, "1700000000000 3"),
            Some(SnapshotInfo {
                revision: 12,
                created_at: 1_700_000_000_000,
                keys: 3
            })
        );
        for bad in ["", "1", "1 x", "x 1", "1 2 3"] {
            assert_eq!(SnapshotInfo::parse(1, bad), None, "{bad}");
        }
        assert_eq!(
            serde_json::to_value(SnapshotInfo {
                revision: 1,
                created_at: 2,
                keys: 3
            })
            .unwrap(),
            json!({"revision": 1, "created_at": 2, "keys": 3})
        );
    }

    fn event(kind: EventKind, old: Option<Value>, new: Option<Value>) -> Event {
        Event {
            revision: 7,
            key: "a/b".into(),
            kind,
            old_value: old,
            new_value: new,
            timestamp: 1_700_000_000_000,
            source: "ops console".into(),
        }
    }

    #[test]
    fn stored_events_are_read_from_their_parts() {
        // As the scripts' `emit` writes it (scripts/prelude.lua).
        let stored = "e1\n7\nput\n1700000000000\na/b\nops console\n1\n3{\"n\":[1,\"x\\ny\"]}";
        assert_eq!(
            Event::decode(stored).unwrap(),
            event(
                EventKind::Put,
                Some(json!(3)),
                Some(json!({"n": [1, "x\ny"]}))
            )
        );
        assert_eq!(
            Event::decode("e1\n8\nexpire\n1\nt\nttl\n0\n").unwrap(),
            Event {
                revision: 8,
                key: "t".into(),
                kind: EventKind::Expire,
                old_value: None,
                new_value: None,
                timestamp: 1,
                source: "ttl".into(),
            }
        );
        // The old value's length says where it ends, whatever it holds.
        let spaced = "e1\n7\ndelete\n1700000000000\na/b\nops console\n9\n[1,\n2, 3]";
        assert_eq!(
            Event::decode(spaced).unwrap(),
            event(EventKind::Delete, Some(json!([1, 2, 3])), None)
        );
    }

    #[test]
    fn stored_events_round_trip_for_every_kind() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
            for (old, new) in [
                (None, None),
                (Some(json!("é\n")), None),
                (None, Some(json!({"a": [1.5, null]}))),
                (Some(json!(1)), Some(json!(2))),
            ] {
                let event = event(kind, old, new);
                let stored = event.encode();
                assert!(stored.starts_with("e1\n"), "{stored}");
                assert_eq!(Event::decode(&stored).unwrap(), event, "{stored}");
            }
        }
        assert_eq!(EventKind::from_name("move"), None);
    }

    #[test]
    fn a_transactions_revision_holds_its_events_in_order() {
        let put = event(EventKind::Put, None, Some(json!("x\ny")));
        let delete = Event {
            key: "c".into(),
            ..event(EventKind::Delete, Some(json!([1])), None)
        };
        let stored = Event::encode_revision(&[put.clone(), delete.clone()]);
        // As the txn script writes it (scripts/prelude.lua's `commit`).
        let lengths = format!("{},{}", put.encode().len(), delete.encode().len());
        assert_eq!(
            stored,
            format!("g1\n2\n{lengths}\n{}{}", put.encode(), delete.encode())
        );
        assert_eq!(
            Event::decode_revision(&stored).unwrap(),
            [put.clone(), delete.clone()]
        );
        assert_eq!(
            Event::encode_revision(std::slice::from_ref(&put)),
            put.encode()
        );
        assert_eq!(
            Event::decode_revision(&put.encode()).unwrap(),
            std::slice::from_ref(&put)
        );

        let later = Event {
            revision: 8,
            ..delete.clone()
        };
        let group = |body: &str| Event::decode_revision(body).unwrap_err();
        assert_eq!(
            group(&Event::encode_revision(&[put.clone(), later])),
            StoredEventError::Group("its events carry more than one revision".into())
        );
        assert_eq!(
            group(&stored.replacen("g1\n2", "g1\n3", 1)),
            StoredEventError::Group("its count and its lengths differ".into())
        );
        assert_eq!(
            group(&format!("{stored} ")),
            StoredEventError::Group("text follows its last event".into())
        );
        assert_eq!(
            group(&stored[..stored.len() - 1]),
            StoredEventError::Group("a length runs past its text".into())
        );
        assert_eq!(group("g1\nx\n"), StoredEventError::Group("no count".into()));
    }

    #[test]
    fn events_stored_as_json_by_earlier_builds_are_still_read() {
        let legacy = r#"{"revision":7,"key":"a\/b","type":"put","old_value":3,"new_value":{"n":[1,"x\ny"]},"timestamp":1700000000000,"source":"ops console"}"#;
        let now = "e1\n7\nput\n1700000000000\na/b\nops console\n1\n3{\"n\":[1,\"x\\ny\"]}";
        assert_eq!(Event::decode(legacy).unwrap(), Event::decode(now).unwrap());
        assert_eq!(
            serde_json::to_string(&Event::decode(legacy).unwrap()).unwrap(),
            r#"{"revision":7,"key":"a/b","type":"put","old_value":3,"new_value":{"n":[1,"x\ny"]},"timestamp":1700000000000,"source":"ops console"}"#
        );
        assert!(matches!(
            Event::decode(r#"{"revision":7}"#),
            Err(StoredEventError::Json(_))
        ));
    }

    #[test]
    fn damaged_stored_events_name_the_part_at_fault() {
        let cases: [(&str, StoredEventError); 9] = [
            ("", StoredEventError::Tag(String::new())),
            ("e2\n7", StoredEventError::Tag("e2".into())),
            ("e1", StoredEventError::Missing("revision")),
            (
                "e1\n7\nput\n1\nk\ns\n0",
                StoredEventError::Missing("values"),
            ),
            (
                "e1\nx\nput\n1\nk\ns\n0\n1",
                StoredEventError::Number {
                    field: "revision",
                    found: "x".into(),
                },
            ),
            (
                "e1\n7\nmove\n1\nk\ns\n0\n1",
                StoredEventError::Kind("move".into()),
            ),
            (
                "e1\n7\nput\n-1\nk\ns\n0\n1",
                StoredEventError::Number {
                    field: "timestamp",
                    found: "-1".into(),
                },
            ),
            (
                "e1\n7\nput\n1\nk\ns\n9\n12",
                StoredEventError::OldLength { len: 9 },
            ),
            (
                "e1\n7\nput\n1\nk\ns\n1\n\u{e9}",
                StoredEventError::OldLength { len: 1 },
            ),
        ];
        for (stored, expected) in cases {
            assert_eq!(Event::decode(stored), Err(expected), "{stored:?}");
        }
        let bad_json = Event::decode("e1\n7\nput\n1\nk\ns\n0\n{x").unwrap_err();
        assert!(
            matches!(
                bad_json,
                StoredEventError::Value {
                    field: "new_value",
                    ..
                }
            ),
            "{bad_json:?}"
        );
        assert!(
            bad_json
                .to_string()
                .starts_with("its new_value is not JSON"),
            "{bad_json}"
        );
    }

    #[test]
    fn idempotency_keys_are_short_tokens_bare_or_quoted() {
        for good in [
            "8e03978e-40d5-43e8-bc93-6894a57f9324",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "a",
            "b64+/=~_.:x",
            &"k".repeat(MAX_IDEMPOTENCY_KEY_LEN),
        ] {
            assert_eq!(IdempotencyKey::parse(good).unwrap().as_str(), good);
            let quoted = format!("\"{good}\"");
            assert_eq!(IdempotencyKey::parse(&quoted).unwrap().as_str(), good);
        }
        assert_eq!(IdempotencyKey::parse(""), Err(IdempotencyKeyError::Empty));
        assert_eq!(
            IdempotencyKey::parse("\"\""),
            Err(IdempotencyKeyError::Empty)
        );
        assert_eq!(
            IdempotencyKey::parse(&"k".repeat(MAX_IDEMPOTENCY_KEY_LEN + 1)),
            Err(IdempotencyKeyError::TooLong {
                len: MAX_IDEMPOTENCY_KEY_LEN + 1
            })
        );
        for (bad, ch, position) in [
            ("a b", ' ', 1),
            ("\"abc", '"', 0),
            ("ab\"", '"', 2),
            ("k\u{e9}y", '\u{e9}', 1),
            ("a,b", ',', 1),
        ] {
            assert_eq!(
                IdempotencyKey::parse(bad),
                Err(IdempotencyKeyError::InvalidChar { ch, position }),
                "{bad}"
            );
        }
        assert_eq!(
            IdempotencyKeyError::InvalidChar {
                ch: ' ',
                position: 1
            }
            .to_string(),
            "holds ' ' at character 1; idempotency keys use A-Z, a-z, 0-9 and - _ . : ~ + / ="
        );
    }

    fn key(text: &str) -> StateKey {
        StateKey::new(text).unwrap()
    }

    #[test]
    fn a_fingerprint_is_fixed_by_the_request_and_changes_with_any_field() {
        let (a, b) = (key("a"), key("b"));
        let put = |key, value, metadata, source| Write::Put {
            key,
            value,
            metadata,
            source,
        };
        let base = put(&a, "1", None, "admin").fingerprint();
        // The same in every build: a retry after an upgrade is still one.
        assert_eq!(base.as_str(), "put 04a32083a65a7eb45df92c507f533f82");
        assert_eq!(base.kind(), WriteKind::Put);
        assert_eq!(put(&a, "1", None, "admin").fingerprint(), base);
        let others = [
            put(&b, "1", None, "admin"),
            put(&a, "2", None, "admin"),
            put(&a, "1", Some("{}"), "admin"),
            put(&a, "1", None, "bot"),
            Write::Cas {
                key: &a,
                expected: &Value::Null,
                value: "1",
                metadata: None,
                source: "admin",
            },
            Write::Delete {
                key: &a,
                source: "admin",
            },
        ];
        for other in others {
            assert_ne!(other.fingerprint(), base, "{other:?}");
        }
        // Field boundaries are part of the hash: ("ab", "c") is not ("a", "bc").
        assert_ne!(
            put(&key("ab"), "1", None, "c").fingerprint(),
            put(&a, "1", None, "bc1").fingerprint()
        );
        let cas = |expected: &Value| {
            Write::Cas {
                key: &a,
                expected,
                value: "2",
                metadata: None,
                source: "admin",
            }
            .fingerprint()
        };
        assert_ne!(cas(&json!(1)), cas(&json!(null)));
        assert_eq!(cas(&json!({"x": 1, "y": 2})), cas(&json!({"y": 2, "x": 1})));
        let restore = |snapshot| Write::Restore {
            snapshot,
            source: "admin",
        };
        assert_ne!(restore(3).fingerprint(), restore(4).fingerprint());
        assert_eq!(Write::Snapshot.fingerprint(), Write::Snapshot.fingerprint());
        assert_eq!(Write::Snapshot.kind(), WriteKind::Snapshot);
    }

    #[test]
    fn fingerprints_parse_back() {
        let fingerprint = Write::Snapshot.fingerprint();
        assert_eq!(Fingerprint::parse(fingerprint.as_str()), Some(fingerprint));
        for bad in [
            "",
            "put",
            "move 04a32083a65a7eb45df92c507f533f82",
            "put 5e0f3c3ef0c1d2e6b3bcd8c7a54b8a4",
            "put 5E0F3C3EF0C1D2E6B3BCD8C7A54B8A49",
            "put 5e0f3c3ef0c1d2e6b3bcd8c7a54b8a4g",
        ] {
            assert_eq!(Fingerprint::parse(bad), None, "{bad}");
        }
    }

    fn parts(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn recorded_answers_have_a_fixed_layout_per_kind() {
        let written = Recorded::Written {
            key: "a/b".into(),
            revision: 9,
            create_revision: 4,
        };
        for kind in [WriteKind::Put, WriteKind::Cas] {
            assert_eq!(
                Recorded::decode(kind, &parts(&["a/b", "9", "4"])).unwrap(),
                written
            );
        }
        assert_eq!(
            Recorded::decode(WriteKind::Delete, &parts(&["k", "5"])).unwrap(),
            Recorded::Deleted {
                key: "k".into(),
                revision: 5
            }
        );
        let taken = |dropped: Vec<u64>| Recorded::Snapshot {
            info: SnapshotInfo {
                revision: 12,
                created_at: 1_700_000_000_000,
                keys: 3,
            },
            dropped,
        };
        assert_eq!(
            Recorded::decode(WriteKind::Snapshot, &parts(&["12", "1700000000000", "3"])).unwrap(),
            taken(vec![])
        );
        assert_eq!(
            Recorded::decode(
                WriteKind::Snapshot,
                &parts(&["12", "1700000000000", "3", "2", "5"])
            )
            .unwrap(),
            taken(vec![2, 5])
        );
        assert_eq!(
            Recorded::decode(WriteKind::Restore, &parts(&["3", "11", "4"])).unwrap(),
            Recorded::Restored {
                snapshot: 3,
                revision: 11,
                changed: 4
            }
        );
        for recorded in [
            written.clone(),
            taken(vec![1]),
            Recorded::Deleted {
                key: "k".into(),
                revision: 5,
            },
            Recorded::Txn(TxnAnswer {
                succeeded: false,
                revision: 4,
                results: vec![txn::OpResult::Get {
                    key: "k".into(),
                    found: None,
                }],
            }),
        ] {
            let kind = match recorded {
                Recorded::Written { .. } => WriteKind::Put,
                Recorded::Deleted { .. } => WriteKind::Delete,
                Recorded::Snapshot { .. } => WriteKind::Snapshot,
                Recorded::Restored { .. } => WriteKind::Restore,
                Recorded::Txn(_) => WriteKind::Txn,
            };
            assert_eq!(
                Recorded::decode(kind, &recorded.encode()).unwrap(),
                recorded
            );
        }
    }

    #[test]
    fn damaged_answers_are_errors() {
        assert_eq!(
            Recorded::decode(WriteKind::Put, &parts(&["a", "9"])),
            Err(RecordError::Parts {
                kind: WriteKind::Put,
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            Recorded::decode(WriteKind::Delete, &parts(&["a", "9", "1"])),
            Err(RecordError::Parts {
                kind: WriteKind::Delete,
                expected: 2,
                found: 3
            })
        );
        assert_eq!(
            Recorded::decode(WriteKind::Snapshot, &parts(&["1", "2"])),
            Err(RecordError::Parts {
                kind: WriteKind::Snapshot,
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            Recorded::decode(WriteKind::Restore, &parts(&["3", "x", "1"])),
            Err(RecordError::Number {
                kind: WriteKind::Restore,
                found: "x".into()
            })
        );
        assert_eq!(
            Recorded::decode(WriteKind::Snapshot, &parts(&["1", "2", "3", "-4"])),
            Err(RecordError::Number {
                kind: WriteKind::Snapshot,
                found: "-4".into()
            })
        );
    }

    #[test]
    fn a_retry_is_told_the_recorded_answer_and_another_request_is_refused() {
        let a = key("a");
        let write = Write::Put {
            key: &a,
            value: "1",
            metadata: None,
            source: "admin",
        };
        let record = Record {
            fingerprint: write.fingerprint(),
            answer: Recorded::Written {
                key: "a".into(),
                revision: 3,
                create_revision: 3,
            },
        };
        let stored = record.encode();
        assert_eq!(
            stored,
            parts(&["put 04a32083a65a7eb45df92c507f533f82", "a", "3", "3"])
        );
        let read = Record::decode(&stored).unwrap();
        assert_eq!(read, record);
        assert_eq!(replay(&read, &write.fingerprint()), Ok(&record.answer));

        let other = Write::Delete {
            key: &a,
            source: "admin",
        };
        let reused = replay(&read, &other.fingerprint()).unwrap_err();
        assert_eq!(
            reused,
            KeyReused {
                first: WriteKind::Put
            }
        );
        assert!(
            reused
                .to_string()
                .starts_with("was used for a different put request"),
            "{reused}"
        );

        assert_eq!(Record::decode(&[]), Err(RecordError::Empty));
        assert_eq!(
            Record::decode(&parts(&["nope", "a"])),
            Err(RecordError::Fingerprint("nope".into()))
        );
        assert_eq!(
            Record::decode(&parts(&["put 04a32083a65a7eb45df92c507f533f82", "a"])),
            Err(RecordError::Parts {
                kind: WriteKind::Put,
                expected: 3,
                found: 1
            })
        );
    }

    #[test]
    fn a_timed_snapshot_is_due_once_the_interval_has_passed() {
        assert!(!snapshot_due(1_299_999, 1_000_000, 300));
        assert!(snapshot_due(1_300_000, 1_000_000, 300));
        assert!(snapshot_due(9_000_000, 1_000_000, 300));
        // Off, and a clock that ran backwards.
        assert!(!snapshot_due(u64::MAX, 0, 0));
        assert!(!snapshot_due(1_000, 2_000, 1));
        assert!(snapshot_due(u64::MAX, 0, u64::MAX));
    }

    #[test]
    fn write_kinds_read_back_by_name() {
        for kind in WriteKind::ALL {
            assert_eq!(WriteKind::from_name(kind.name()), Some(kind));
        }
    }
}
