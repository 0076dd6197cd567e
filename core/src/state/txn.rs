//! Transactions, after etcd's Txn: `POST /api/v1/state/txn`.
//!
//! A transaction is a list of compares and two lists of operations: when
//! every compare holds, the `success` operations run, otherwise the
//! `failure` ones, in order, as one step no other write can split. Every
//! change it makes carries one revision, and the feed holds them under it
//! in order ([`super::Event::decode_revision`]).
//!
//! ```json
//! {"compare": [{"key": "stock", "value": 3}, {"key": "lock", "exists": false}],
//!  "success": [{"op": "put", "key": "stock", "value": 2}, {"op": "get", "key": "stock"}],
//!  "failure": [{"op": "get", "key": "stock"}]}
//! ```
//!
//! A compare names a key and exactly one target, `value` (a JSON value,
//! compared as [`json_equal`] does), `version` (the key's modify revision,
//! 0 for an absent key) or `exists` (a boolean); `result` is `equal` (the
//! default), `not_equal`, or, for a version only, `greater` or `less`. An
//! absent key equals no value. An operation is `put` (`key`, `value`,
//! `metadata?`, as a `PUT` takes them), `delete` (`key`; deleting an
//! absent key changes nothing) or `get` (`key`; it sees the branch's
//! earlier writes). A key written twice in a branch has two changes
//! under the transaction's revision, in order; the last one stays.
//!
//! Limits: at most [`MAX_TXN_OPS`] compares and operations together, and
//! at most [`MAX_TXN_BYTES`] of values and metadata written (stored form);
//! each value is also held to the API's `max_value_bytes`.
//!
//! The compares are decided here on what the component read
//! ([`Txn::holds`]); the script then runs the branch only if every
//! compared key's modify revision is still the one read, and the
//! component decides again when one moved. What the transaction did is
//! its answer, [`TxnAnswer`], which an `Idempotency-Key`'s record keeps.

use serde::Serialize;
use serde_json::{Map, Value};
use thiserror::Error;

use super::{Metadata, RecordError, StateKey, WriteKind, encode_value, json_equal};

/// The most compares and operations one transaction holds, together.
pub const MAX_TXN_OPS: usize = 128;

/// The most bytes of values and metadata (stored form) one transaction
/// writes: 4 MiB.
pub const MAX_TXN_BYTES: usize = 4 * 1024 * 1024;

/// A transaction refused: the field at fault (`compare[0].version`,
/// `success[2].key`) and why. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field} {reason}")]
pub struct TxnError {
    /// The field at fault, with the operation's list and index.
    pub field: String,
    /// Why.
    pub reason: String,
}

fn refuse(field: impl Into<String>, reason: impl Into<String>) -> TxnError {
    TxnError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// What a compare looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// The key's value (an absent key has none).
    Value(Value),
    /// The key's modify revision (0: absent).
    Version(u64),
    /// Whether the key exists.
    Exists(bool),
}

/// How a compare's target relates to the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The same.
    Equal,
    /// Not the same.
    NotEqual,
    /// The key's version is greater than the target's.
    Greater,
    /// The key's version is less than the target's.
    Less,
}

impl Relation {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "equal" => Relation::Equal,
            "not_equal" => Relation::NotEqual,
            "greater" => Relation::Greater,
            "less" => Relation::Less,
            _ => return None,
        })
    }
}

/// One compare of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Compare {
    /// The key.
    pub key: StateKey,
    /// What is compared.
    pub target: Target,
    /// How.
    pub relation: Relation,
}

/// A key as the component read it for the compares: its value and
/// version, or `None` when absent.
pub type Current<'a> = Option<(&'a Value, u64)>;

impl Compare {
    /// Whether it holds for the key as read.
    pub fn holds(&self, current: Current<'_>) -> bool {
        let equal = match &self.target {
            Target::Value(value) => current.is_some_and(|(v, _)| json_equal(value, v)),
            Target::Exists(exists) => current.is_some() == *exists,
            Target::Version(version) => {
                let now = current.map_or(0, |(_, v)| v);
                match self.relation {
                    Relation::Greater => return now > *version,
                    Relation::Less => return now < *version,
                    _ => now == *version,
                }
            }
        };
        match self.relation {
            Relation::NotEqual => !equal,
            _ => equal,
        }
    }
}

/// One operation of a branch, checked and in stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Writes a key.
    Put {
        /// The key.
        key: StateKey,
        /// The value, compact JSON.
        value: String,
        /// The metadata, compact JSON, if any.
        metadata: Option<String>,
        /// Seconds until it expires, if it does.
        ttl_secs: Option<u64>,
    },
    /// Deletes a key, if it exists.
    Delete {
        /// The key.
        key: StateKey,
    },
    /// Reads a key.
    Get {
        /// The key.
        key: StateKey,
    },
}

impl Op {
    /// The key it works on.
    pub fn key(&self) -> &StateKey {
        match self {
            Op::Put { key, .. } | Op::Delete { key } | Op::Get { key } => key,
        }
    }

    /// Its name: `put`, `delete` or `get`.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Put { .. } => "put",
            Op::Delete { .. } => "delete",
            Op::Get { .. } => "get",
        }
    }
}

/// A transaction, checked: its invariant is that it keeps every limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Txn {
    /// The compares.
    pub compare: Vec<Compare>,
    /// Run when every compare holds.
    pub success: Vec<Op>,
    /// Run otherwise.
    pub failure: Vec<Op>,
}

fn object<'v>(value: &'v Value, at: &str) -> Result<&'v Map<String, Value>, TxnError> {
    value
        .as_object()
        .ok_or_else(|| refuse(at, "must be a JSON object"))
}

fn only(members: &Map<String, Value>, at: &str, allowed: &[&str]) -> Result<(), TxnError> {
    match members.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(refuse(
            format!("{at}.{unknown}"),
            format!("is not a field here (fields: {})", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

fn key(members: &Map<String, Value>, at: &str) -> Result<StateKey, TxnError> {
    let field = format!("{at}.key");
    let text = members
        .get("key")
        .ok_or_else(|| refuse(&field, "is required"))?
        .as_str()
        .ok_or_else(|| refuse(&field, "must be a string"))?;
    StateKey::new(text).map_err(|e| refuse(field, e.to_string()))
}

fn compare(value: &Value, at: &str) -> Result<Compare, TxnError> {
    let members = object(value, at)?;
    only(
        members,
        at,
        &["key", "value", "version", "exists", "result"],
    )?;
    let key = key(members, at)?;
    let targets: Vec<&str> = ["value", "version", "exists"]
        .into_iter()
        .filter(|t| members.contains_key(*t))
        .collect();
    let [target] = targets[..] else {
        return Err(refuse(
            at,
            "must name exactly one of value, version and exists",
        ));
    };
    let field = format!("{at}.{target}");
    let given = &members[target];
    let target = match target {
        "value" if given.is_null() => {
            return Err(refuse(
                field,
                "must not be null (compare exists to test for an absent key)",
            ));
        }
        "value" => Target::Value(given.clone()),
        "version" => Target::Version(
            given
                .as_number()
                .and_then(crate::number::whole_u64)
                .ok_or_else(|| refuse(&field, "must be a whole number"))?,
        ),
        _ => Target::Exists(
            given
                .as_bool()
                .ok_or_else(|| refuse(&field, "must be true or false"))?,
        ),
    };
    let relation = match members.get("result") {
        None => Relation::Equal,
        Some(result) => result.as_str().and_then(Relation::parse).ok_or_else(|| {
            refuse(
                format!("{at}.result"),
                "must be equal, not_equal, greater or less",
            )
        })?,
    };
    if matches!(relation, Relation::Greater | Relation::Less)
        && !matches!(target, Target::Version(_))
    {
        return Err(refuse(
            format!("{at}.result"),
            "may be greater or less only when comparing a version",
        ));
    }
    Ok(Compare {
        key,
        target,
        relation,
    })
}

fn op(value: &Value, at: &str, max_value_bytes: usize) -> Result<Op, TxnError> {
    let members = object(value, at)?;
    let name = members
        .get("op")
        .ok_or_else(|| refuse(format!("{at}.op"), "is required"))?;
    Ok(match name.as_str() {
        Some("put") => {
            only(members, at, &["op", "key", "value", "metadata"])?;
            let key = key(members, at)?;
            let field = format!("{at}.value");
            let value = members
                .get("value")
                .ok_or_else(|| refuse(&field, "is required"))?;
            let value =
                encode_value(value, max_value_bytes).map_err(|e| refuse(field, e.to_string()))?;
            // `null` metadata is none, as a PUT reads it.
            let metadata = members
                .get("metadata")
                .filter(|m| !m.is_null())
                .map(|m| Metadata::from_value(m.clone()))
                .transpose()
                .map_err(|e| refuse(format!("{at}.{}", e.field()), e.to_string()))?;
            Op::Put {
                key,
                value,
                ttl_secs: metadata.as_ref().and_then(Metadata::ttl_secs),
                metadata: metadata.as_ref().map(Metadata::encode),
            }
        }
        Some("delete") => {
            only(members, at, &["op", "key"])?;
            Op::Delete {
                key: key(members, at)?,
            }
        }
        Some("get") => {
            only(members, at, &["op", "key"])?;
            Op::Get {
                key: key(members, at)?,
            }
        }
        _ => return Err(refuse(format!("{at}.op"), "must be put, delete or get")),
    })
}

fn list<'v>(members: &'v Map<String, Value>, name: &str) -> Result<&'v [Value], TxnError> {
    match members.get(name) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(refuse(name, "must be an array")),
    }
}

fn branch(
    members: &Map<String, Value>,
    name: &str,
    max_value_bytes: usize,
    bytes: &mut usize,
) -> Result<Vec<Op>, TxnError> {
    let mut ops = Vec::new();
    for (i, item) in list(members, name)?.iter().enumerate() {
        let at = format!("{name}[{i}]");
        let op = op(item, &at, max_value_bytes)?;
        if let Op::Put {
            value, metadata, ..
        } = &op
        {
            *bytes += value.len() + metadata.as_ref().map_or(0, String::len);
            if *bytes > MAX_TXN_BYTES {
                return Err(refuse(
                    format!("{at}.value"),
                    format!(
                        "takes the transaction's values and metadata past {MAX_TXN_BYTES} bytes"
                    ),
                ));
            }
        }
        ops.push(op);
    }
    Ok(ops)
}

impl Txn {
    /// Checks a transaction as given in a request body; each written value
    /// is held to `max_value_bytes`.
    ///
    /// Fails, naming the field at fault with its list and index, when the
    /// body is not an object of `compare`, `success` and `failure` arrays,
    /// a compare or an operation is malformed, or a limit is passed.
    pub fn parse(body: &Value, max_value_bytes: usize) -> Result<Self, TxnError> {
        let members = object(body, "body")?;
        only(members, "body", &["compare", "success", "failure"])?;
        let count: usize = ["compare", "success", "failure"]
            .into_iter()
            .map(|name| list(members, name).map(<[Value]>::len))
            .sum::<Result<_, _>>()?;
        if count > MAX_TXN_OPS {
            return Err(refuse(
                "body",
                format!("holds {count} compares and operations; the most is {MAX_TXN_OPS}"),
            ));
        }
        let compare = list(members, "compare")?
            .iter()
            .enumerate()
            .map(|(i, item)| compare(item, &format!("compare[{i}]")))
            .collect::<Result<_, _>>()?;
        let mut bytes = 0;
        let success = branch(members, "success", max_value_bytes, &mut bytes)?;
        let failure = branch(members, "failure", max_value_bytes, &mut bytes)?;
        Ok(Self {
            compare,
            success,
            failure,
        })
    }

    /// The keys the compares look at, each once, in byte order.
    pub fn compared_keys(&self) -> Vec<&StateKey> {
        let mut keys: Vec<&StateKey> = self.compare.iter().map(|c| &c.key).collect();
        keys.sort_by_key(|k| k.as_str());
        keys.dedup();
        keys
    }

    /// Whether every compare holds, given how each compared key was read
    /// (`current`, [`Txn::compared_keys`]'s keys).
    pub fn holds<'a>(&self, current: impl Fn(&StateKey) -> Current<'a>) -> bool {
        self.compare.iter().all(|c| c.holds(current(&c.key)))
    }

    /// The operations to run: `success`'s when the compares held.
    pub fn branch(&self, succeeded: bool) -> &[Op] {
        if succeeded {
            &self.success
        } else {
            &self.failure
        }
    }

    /// Every field that decides what it does, one after another, for its
    /// request fingerprint: two requests that would compare and store the
    /// same are the same request.
    pub fn fields(&self) -> Vec<String> {
        let mut fields = vec![self.compare.len().to_string()];
        for c in &self.compare {
            let (target, given) = match &c.target {
                Target::Value(v) => ("value", v.to_string()),
                Target::Version(v) => ("version", v.to_string()),
                Target::Exists(e) => ("exists", e.to_string()),
            };
            let relation = format!("{:?}", c.relation);
            fields.extend([c.key.to_string(), target.into(), given, relation]);
        }
        for ops in [&self.success, &self.failure] {
            fields.push(ops.len().to_string());
            for op in ops {
                fields.extend([op.name().to_owned(), op.key().to_string()]);
                if let Op::Put {
                    value, metadata, ..
                } = op
                {
                    fields.push(value.clone());
                    fields.push(metadata.clone().unwrap_or_else(|| "-".into()));
                }
            }
        }
        fields
    }
}

/// What one operation did, as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum OpResult {
    /// A put wrote `key` at `version`.
    Put {
        /// The key.
        key: String,
        /// Its new version: the transaction's revision.
        version: u64,
        /// The revision that created it.
        create_revision: u64,
        /// Whether this put created it.
        created: bool,
    },
    /// A delete removed `key`, or found none.
    Delete {
        /// The key.
        key: String,
        /// Whether there was a key to delete.
        deleted: bool,
    },
    /// A get read `key`.
    Get {
        /// The key.
        key: String,
        /// What it found, if the key exists.
        #[serde(flatten)]
        found: Option<Found>,
    },
}

/// A key a get found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// Its value.
    pub value: Value,
    /// Its modify revision.
    pub version: u64,
    /// The revision that created it.
    pub create_revision: u64,
}

/// What a transaction answered: which branch ran, the revision (its own
/// when it changed anything, else the one it read at) and each
/// operation's result, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxnAnswer {
    /// Whether every compare held (the `success` branch ran).
    pub succeeded: bool,
    /// The revision after it.
    pub revision: u64,
    /// One per operation of the branch that ran.
    pub results: Vec<OpResult>,
}

impl TxnAnswer {
    /// Reads the answer from its parts, as the txn script replies them
    /// and its record keeps them: `succeeded` (1 or 0), the revision, then
    /// per operation `put key version create_revision`, `delete key
    /// deleted` (1 or 0), or `get key 0` / `get key 1 value version
    /// create_revision`.
    ///
    /// Fails when a part is missing or extra, a number or a flag is not
    /// one, or a value is not JSON.
    pub fn decode(parts: &[String]) -> Result<Self, RecordError> {
        let mut parts = Parts { parts, at: 0 };
        let succeeded = parts.flag()?;
        let revision = parts.number()?;
        let mut results = Vec::new();
        while parts.at < parts.parts.len() {
            let name = parts.next()?.to_owned();
            let key = parts.next()?.to_owned();
            results.push(match name.as_str() {
                "put" => {
                    let version = parts.number()?;
                    let create_revision = parts.number()?;
                    OpResult::Put {
                        key,
                        version,
                        create_revision,
                        created: version == create_revision,
                    }
                }
                "delete" => OpResult::Delete {
                    key,
                    deleted: parts.flag()?,
                },
                "get" if parts.flag()? => {
                    let value = serde_json::from_str(parts.next()?).map_err(|e| {
                        RecordError::Txn(format!("the value read of {key} is not JSON: {e}"))
                    })?;
                    OpResult::Get {
                        key,
                        found: Some(Found {
                            value,
                            version: parts.number()?,
                            create_revision: parts.number()?,
                        }),
                    }
                }
                "get" => OpResult::Get { key, found: None },
                other => return Err(RecordError::Txn(format!("{other:?} is no operation"))),
            });
        }
        Ok(Self {
            succeeded,
            revision,
            results,
        })
    }

    /// Its parts, as [`TxnAnswer::decode`] reads them.
    pub fn encode(&self) -> Vec<String> {
        let flag = |on: bool| if on { "1" } else { "0" }.to_owned();
        let mut parts = vec![flag(self.succeeded), self.revision.to_string()];
        for result in &self.results {
            match result {
                OpResult::Put {
                    key,
                    version,
                    create_revision,
                    ..
                } => parts.extend([
                    "put".into(),
                    key.clone(),
                    version.to_string(),
                    create_revision.to_string(),
                ]),
                OpResult::Delete { key, deleted } => {
                    parts.extend(["delete".into(), key.clone(), flag(*deleted)])
                }
                OpResult::Get { key, found: None } => {
                    parts.extend(["get".into(), key.clone(), flag(false)])
                }
                OpResult::Get {
                    key,
                    found: Some(found),
                } => parts.extend([
                    "get".into(),
                    key.clone(),
                    flag(true),
                    found.value.to_string(),
                    found.version.to_string(),
                    found.create_revision.to_string(),
                ]),
            }
        }
        parts
    }
}

/// A txn answer's parts, read in order.
struct Parts<'p> {
    parts: &'p [String],
    at: usize,
}

impl Parts<'_> {
    fn next(&mut self) -> Result<&str, RecordError> {
        let part = self.parts.get(self.at).ok_or(RecordError::Parts {
            kind: WriteKind::Txn,
            expected: self.at + 1,
            found: self.parts.len(),
        })?;
        self.at += 1;
        Ok(part)
    }

    fn number(&mut self) -> Result<u64, RecordError> {
        let part = self.next()?;
        part.parse().map_err(|_| RecordError::Number {
            kind: WriteKind::Txn,
            found: part.to_owned(),
        })
    }

    fn flag(&mut self) -> Result<bool, RecordError> {
        match self.next()? {
            "1" => Ok(true),
            "0" => Ok(false),
            other => Err(RecordError::Number {
                kind: WriteKind::Txn,
                found: other.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<Txn, TxnError> {
        Txn::parse(&body, 1024)
    }

    fn refused(body: Value) -> (String, String) {
        let e = parse(body).unwrap_err();
        (e.field, e.reason)
    }

    #[test]
    fn a_transaction_parses_its_compares_and_both_branches() {
        let txn = parse(json!({
            "compare": [
                {"key": "b", "value": {"x": 1}},
                {"key": "a", "version": 3, "result": "greater"},
                {"key": "b", "exists": true, "result": "not_equal"},
            ],
            "success": [
                {"op": "put", "key": "a", "value": [1], "metadata": {"ttl": 60.0}},
                {"op": "get", "key": "a"},
                {"op": "delete", "key": "c"},
            ],
            "failure": [{"op": "get", "key": "a"}],
        }))
        .unwrap();
        let keys: Vec<&str> = txn.compared_keys().iter().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(txn.compare[1].target, Target::Version(3));
        assert_eq!(txn.compare[1].relation, Relation::Greater);
        assert_eq!(
            txn.success[0],
            Op::Put {
                key: StateKey::new("a").unwrap(),
                value: "[1]".into(),
                metadata: Some(r#"{"ttl":60}"#.into()),
                ttl_secs: Some(60),
            }
        );
        assert_eq!(txn.branch(false), &txn.failure[..]);
        let no_metadata = parse(json!({"success": [
            {"op": "put", "key": "a", "value": 1, "metadata": null},
        ]}))
        .unwrap();
        assert!(matches!(
            &no_metadata.success[0],
            Op::Put {
                metadata: None,
                ttl_secs: None,
                ..
            }
        ));
        assert_eq!(txn.branch(true).len(), 3);
        assert_eq!(parse(json!({})).unwrap().compare, vec![]);
    }

    #[test]
    fn compares_hold_as_etcd_decides_them() {
        let txn = |compare: Value| parse(json!({"compare": [compare]})).unwrap();
        let v = json!({"a": 1.0});
        let present = Some((&v, 7));
        let cases = [
            (json!({"key": "k", "value": {"a": 1}}), true, false),
            (json!({"key": "k", "value": {"a": 2}}), false, false),
            (
                json!({"key": "k", "value": {"a": 2}, "result": "not_equal"}),
                true,
                true,
            ),
            (json!({"key": "k", "version": 7}), true, false),
            (json!({"key": "k", "version": 0}), false, true),
            (
                json!({"key": "k", "version": 6, "result": "greater"}),
                true,
                false,
            ),
            (
                json!({"key": "k", "version": 7, "result": "less"}),
                false,
                true,
            ),
            (json!({"key": "k", "exists": true}), true, false),
            (json!({"key": "k", "exists": false}), false, true),
        ];
        for (compare, when_present, when_absent) in cases {
            let t = txn(compare.clone());
            assert_eq!(t.holds(|_| present), when_present, "{compare} present");
            assert_eq!(t.holds(|_| None), when_absent, "{compare} absent");
        }
    }

    #[test]
    fn a_refusal_names_the_operation_and_field_at_fault() {
        let cases = [
            (json!([]), "body", "must be a JSON object"),
            (json!({"compares": []}), "body.compares", "is not a field"),
            (json!({"success": {}}), "success", "must be an array"),
            (
                json!({"compare": [{"key": "a"}]}),
                "compare[0]",
                "exactly one of",
            ),
            (
                json!({"compare": [{"key": "a", "value": 1, "version": 1}]}),
                "compare[0]",
                "exactly one of",
            ),
            (
                json!({"compare": [{"key": "a", "value": null}]}),
                "compare[0].value",
                "must not be null",
            ),
            (
                json!({"compare": [{"key": "a", "version": -1}]}),
                "compare[0].version",
                "whole number",
            ),
            (
                json!({"compare": [{"key": "a", "exists": 1}]}),
                "compare[0].exists",
                "true or false",
            ),
            (
                json!({"compare": [{"key": "a", "value": 1, "result": "greater"}]}),
                "compare[0].result",
                "only when comparing a version",
            ),
            (
                json!({"compare": [{"key": "a", "value": 1, "result": "same"}]}),
                "compare[0].result",
                "must be equal",
            ),
            (
                json!({"success": [{"op": "get", "key": "ok"}, {"op": "get", "key": "no space"}]}),
                "success[1].key",
                "",
            ),
            (
                json!({"failure": [{"op": "get", "key": "stats"}]}),
                "failure[0].key",
                "reserved",
            ),
            (
                json!({"success": [{"key": "a"}]}),
                "success[0].op",
                "is required",
            ),
            (
                json!({"success": [{"op": "move", "key": "a"}]}),
                "success[0].op",
                "put, delete or get",
            ),
            (
                json!({"success": [{"op": "put", "key": "a"}]}),
                "success[0].value",
                "is required",
            ),
            (
                json!({"success": [{"op": "put", "key": "a", "value": null}]}),
                "success[0].value",
                "",
            ),
            (
                json!({"success": [{"op": "put", "key": "a", "value": "x".repeat(2000)}]}),
                "success[0].value",
                "",
            ),
            (
                json!({"success": [{"op": "put", "key": "a", "value": 1, "metadata": {"ttl": 0}}]}),
                "success[0].metadata.ttl",
                "ttl",
            ),
            (
                json!({"success": [{"op": "delete", "key": "a", "value": 1}]}),
                "success[0].value",
                "is not a field",
            ),
        ];
        for (body, field, reason) in cases {
            let (f, r) = refused(body.clone());
            assert_eq!(f, field, "{body}: {r}");
            assert!(r.contains(reason), "{body}: {r}");
        }
        // A branch may write a key more than once, in order.
        let twice = parse(json!({"success": [
            {"op": "put", "key": "a", "value": 1},
            {"op": "delete", "key": "a"},
            {"op": "put", "key": "a", "value": 2},
        ]}))
        .unwrap();
        assert_eq!(twice.success.len(), 3);
    }

    #[test]
    fn the_limits_on_operations_and_bytes_are_kept() {
        let get = json!({"op": "get", "key": "a"});
        let at_limit = vec![get.clone(); MAX_TXN_OPS];
        parse(json!({"success": at_limit})).unwrap();
        let (field, reason) = refused(json!({
            "compare": [{"key": "a", "exists": true}],
            "failure": vec![get; MAX_TXN_OPS],
        }));
        assert_eq!(field, "body");
        assert!(
            reason.contains(&format!("holds {}", MAX_TXN_OPS + 1)),
            "{reason}"
        );

        let big = "x".repeat(MAX_TXN_BYTES / 4);
        let puts: Vec<Value> = (0..5)
            .map(|i| json!({"op": "put", "key": format!("k{i}"), "value": big}))
            .collect();
        let e = Txn::parse(&json!({"success": puts}), MAX_TXN_BYTES).unwrap_err();
        assert_eq!(e.field, "success[3].value");
        assert!(e.reason.contains("past"), "{}", e.reason);
    }

    #[test]
    fn fields_tell_requests_apart() {
        let a = parse(json!({"success": [{"op": "put", "key": "a", "value": 1}]})).unwrap();
        let b = parse(json!({"failure": [{"op": "put", "key": "a", "value": 1}]})).unwrap();
        let c = parse(json!({"success": [{"op": "put", "key": "a", "value": 1.0}]})).unwrap();
        let same = parse(json!({"success": [{"value": 1, "key": "a", "op": "put"}]})).unwrap();
        assert_ne!(a.fields(), b.fields());
        assert_ne!(a.fields(), c.fields());
        assert_eq!(a.fields(), same.fields());
    }

    #[test]
    fn answers_round_trip_through_their_parts() {
        let answer = TxnAnswer {
            succeeded: true,
            revision: 9,
            results: vec![
                OpResult::Put {
                    key: "a".into(),
                    version: 9,
                    create_revision: 9,
                    created: true,
                },
                OpResult::Delete {
                    key: "b".into(),
                    deleted: false,
                },
                OpResult::Get {
                    key: "a".into(),
                    found: Some(Found {
                        value: json!({"n": [1, "two"]}),
                        version: 9,
                        create_revision: 9,
                    }),
                },
                OpResult::Get {
                    key: "z".into(),
                    found: None,
                },
            ],
        };
        let parts = answer.encode();
        assert_eq!(parts[..6], ["1", "9", "put", "a", "9", "9"]);
        assert_eq!(TxnAnswer::decode(&parts).unwrap(), answer);
        assert_eq!(
            serde_json::to_value(&answer).unwrap()["results"],
            json!([
                {"op": "put", "key": "a", "version": 9, "create_revision": 9, "created": true},
                {"op": "delete", "key": "b", "deleted": false},
                {"op": "get", "key": "a", "value": {"n": [1, "two"]}, "version": 9, "create_revision": 9},
                {"op": "get", "key": "z"},
            ])
        );
        let text = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            TxnAnswer::decode(&text(&["1", "9", "put", "a", "9"])),
            Err(RecordError::Parts {
                kind: WriteKind::Txn,
                expected: 6,
                found: 5
            })
        );
        assert_eq!(
            TxnAnswer::decode(&text(&["2", "9"])),
            Err(RecordError::Number {
                kind: WriteKind::Txn,
                found: "2".into()
            })
        );
        assert!(matches!(
            TxnAnswer::decode(&text(&["0", "9", "get", "a", "1", "{", "1", "1"])),
            Err(RecordError::Txn(_))
        ));
        assert!(matches!(
            TxnAnswer::decode(&text(&["0", "9", "move", "a"])),
            Err(RecordError::Txn(_))
        ));
    }
}
