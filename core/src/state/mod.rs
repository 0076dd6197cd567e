//! The rules of the versioned state API (`functions/state`).
//!
//! The state API is a key-value store with one global revision, in the
//! manner of etcd: every write bumps the revision, each entry keeps the
//! revision that created it and the one that last modified it, and every
//! write is one [`Event`] in a change feed that can be followed from any
//! retained revision. This module holds what decides whether a request is
//! acceptable and what goes on the wire; the component persists.
//!
//! - Keys: [`StateKey`], `[A-Za-z0-9:_.\-/]{1,256}` and not a route name.
//! - Values: any JSON but `null` (which means "absent" in a compare-and-swap),
//!   at most a configured number of bytes once written compactly
//!   ([`encode_value`]).
//! - Metadata: a JSON object; its `ttl` member, when present, is a whole
//!   number of seconds ([`Metadata`]).
//! - Compare-and-swap: [`cas_matches`] compares JSON values as values
//!   ([`json_equal`]), not as text.
//! - The change feed: [`Event`], and [`check_feed_start`] for the revision
//!   a follower may resume from.
//! - Listing: [`ListQuery`], a prefix, a page size and a cursor.
//! - Snapshots: [`SnapshotInfo`].
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

/// The longest key, in bytes (keys are ASCII).
pub const MAX_KEY_LEN: usize = 256;

/// Path segments the API serves routes under: a key equal to one of them,
/// or starting with `snapshots/`, could not be read back by path.
pub const RESERVED_KEYS: &[&str] = &["keys", "cas", "stats", "snapshot", "snapshots", "events"];

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
    /// The key names a route ([`RESERVED_KEYS`], or `snapshots/...`).
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
        if RESERVED_KEYS.contains(&text) || text.starts_with("snapshots/") {
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

/// One change, as the feed serves it and the store keeps it: one JSON
/// object per revision, in this field order:
///
/// ```json
/// {"revision":7,"key":"a","type":"put","old_value":1,"new_value":2,
///  "timestamp":1700000000000,"source":"admin"}
/// ```
///
/// `old_value` is `null` when the key did not exist (and on an expiry
/// Redis had already carried out); `new_value` is `null` on a delete or an
/// expiry. `timestamp` is milliseconds since the Unix epoch. Revisions are
/// consecutive: the feed holds exactly one event per revision.
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
        assert_eq!(StateKey::new("snapshots/1"), Err(KeyError::Reserved));
        assert!(StateKey::new("snapshots1").is_ok());
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
}
