//! The push half of the sync between a store and the cloud, after
//! Replicache's rules: what a push is, and what the cloud does with it.
//!
//! A push is JSON: `{"client_id": "...", "mutations": [{"id": 1, "name":
//! "...", "args": {...}}, ...]}`, read by [`Push::from_json`]. The cloud
//! keeps one `last_mutation_id` per client (0 before its first push) and
//! [`plan_push`] decides, mutation by mutation, against it:
//!
//! - an id at or below it is a duplicate delivery: acknowledged, no effect;
//! - the next id (one above it) is either applied or rejected for good by
//!   the caller's verdict, and both advance the id, so a store's queue
//!   never blocks on a mutation the cloud will never take;
//! - any other id is a gap: refused with no effect, and nothing after it
//!   in the push is looked at.
//!
//! The result is a [`PushPlan`]: the [`Step`]s to persist, in order, each
//! with the `last_mutation_id` it leaves, and the [`PushReply`] the store is
//! sent back.
//!
//! ```
//! use serde_json::json;
//! use tombola_core::lottery::{MutationStatus, Push, Verdict, plan_push};
//!
//! let push = Push::from_json(&json!({"client_id": "store-7", "mutations": [
//!     {"id": 4, "name": "settlePack", "args": {"pack": {"game": "050", "number": 1}}},
//!     {"id": 5, "name": "dropTable", "args": {}},
//!     {"id": 6, "name": "settlePack", "args": {"pack": {"game": "050", "number": 2}}},
//! ]}))?;
//! let plan = plan_push(&push, 4, |_, pushed| match pushed.mutation() {
//!     Ok(_) => Verdict::Apply,
//!     Err(error) => Verdict::Reject(error.to_string()),
//! });
//! assert_eq!(plan.reply.last_mutation_id, 6);
//! assert_eq!(plan.reply.mutations[0].status, MutationStatus::Duplicate);
//! assert_eq!(plan.reply.mutations[2].status, MutationStatus::Applied);
//! assert_eq!(plan.steps.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::mutation::{Mutation, MutationError};

/// The most mutations one push may carry.
pub const MAX_PUSH_MUTATIONS: usize = 1000;

/// The longest client id, in bytes.
pub const MAX_CLIENT_ID_LEN: usize = 64;

/// The largest mutation id a push may carry: 2^53 - 1, the largest whole
/// number every JSON reader and the cloud's Lua scripts hold exactly.
pub const MAX_MUTATION_ID: u64 = (1 << 53) - 1;

/// A mutation's id: rising by exactly one per client, from 1.
pub type MutationId = u64;

/// Who pushes: one store's app, named by itself.
///
/// Invariant: 1 to [`MAX_CLIENT_ID_LEN`] bytes of ASCII letters, digits,
/// `-` and `_`, so it fits in a key and a log line as it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ClientId(String);

/// Why a text is not a [`ClientId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientIdError {
    /// No characters at all.
    #[error("client_id: empty")]
    Empty,
    /// Longer than [`MAX_CLIENT_ID_LEN`] bytes.
    #[error("client_id: longer than {MAX_CLIENT_ID_LEN} bytes")]
    TooLong,
    /// A character other than an ASCII letter, digit, `-` or `_`.
    #[error("client_id: {0:?} is not a letter, digit, '-' or '_'")]
    BadChar(char),
}

impl ClientId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ClientId {
    type Err = ClientIdError;

    /// Reads a client id.
    ///
    /// # Errors
    ///
    /// [`ClientIdError`] when the text is empty, too long, or holds a
    /// character outside the allowed set.
    fn from_str(text: &str) -> Result<ClientId, ClientIdError> {
        if text.is_empty() {
            return Err(ClientIdError::Empty);
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(ClientIdError::BadChar(bad));
        }
        if text.len() > MAX_CLIENT_ID_LEN {
            return Err(ClientIdError::TooLong);
        }
        Ok(ClientId(text.into()))
    }
}

impl<'de> Deserialize<'de> for ClientId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ClientId, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One mutation as a push carries it: its name and arguments are kept as
/// sent, because an unknown name or bad arguments is a rejection of that
/// mutation (which advances the id), not a malformed push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedMutation {
    /// Its id.
    pub id: MutationId,
    /// Its name, as sent.
    pub name: String,
    /// Its arguments, as sent.
    pub args: Value,
}

impl PushedMutation {
    /// Reads the mutation this entry names.
    ///
    /// # Errors
    ///
    /// As [`Mutation::from_parts`]: an unknown name, or arguments that do
    /// not fit it.
    pub fn mutation(&self) -> Result<Mutation, MutationError> {
        Mutation::from_parts(&self.name, self.args.clone())
    }
}

/// A well-formed push: a client and at most [`MAX_PUSH_MUTATIONS`]
/// mutations, each with an id of at least 1, in the order sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// Who pushed.
    pub client_id: ClientId,
    /// What it pushed, in order.
    pub mutations: Vec<PushedMutation>,
}

/// Why a push is malformed: the field at fault, spelled as a path into
/// the JSON (`client_id`, `mutations`, `mutations[3].id`), and the reason.
/// Nothing of a malformed push is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct PushError {
    /// The path of the field at fault.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

/// What a push is told of a mutation id out of range.
const ID_RANGE: &str = "not a whole number from 1 to 9007199254740991";

fn fault(field: impl Into<String>, reason: impl Into<String>) -> PushError {
    PushError {
        field: field.into(),
        reason: reason.into(),
    }
}

fn only_fields(object: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<(), PushError> {
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) if at.is_empty() => Err(fault(key.as_str(), "unknown field")),
        Some(key) => Err(fault(format!("{at}.{key}"), "unknown field")),
        None => Ok(()),
    }
}

impl Push {
    /// Reads a push from its JSON body.
    ///
    /// # Errors
    ///
    /// A [`PushError`] naming the field when the body is not an object; a
    /// field is missing, unknown or of the wrong type; `client_id` breaks
    /// [`ClientId`]'s syntax; there are more than [`MAX_PUSH_MUTATIONS`]
    /// mutations; or an id is not a whole number from 1 to
    /// [`MAX_MUTATION_ID`].
    pub fn from_json(body: &Value) -> Result<Push, PushError> {
        let object = body.as_object().ok_or_else(|| fault("", "not an object"))?;
        only_fields(object, &["client_id", "mutations"], "")?;
        let client_id = object
            .get("client_id")
            .ok_or_else(|| fault("client_id", "missing"))?
            .as_str()
            .ok_or_else(|| fault("client_id", "not a string"))?
            .parse::<ClientId>()
            .map_err(|error| {
                let text = error.to_string();
                let reason = text.strip_prefix("client_id: ").unwrap_or(&text);
                fault("client_id", reason)
            })?;
        let entries = object
            .get("mutations")
            .ok_or_else(|| fault("mutations", "missing"))?
            .as_array()
            .ok_or_else(|| fault("mutations", "not an array"))?;
        if entries.len() > MAX_PUSH_MUTATIONS {
            return Err(fault(
                "mutations",
                format!(
                    "{} mutations, more than {MAX_PUSH_MUTATIONS}",
                    entries.len()
                ),
            ));
        }
        let mutations = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| read_entry(index, entry))
            .collect::<Result<_, _>>()?;
        Ok(Push {
            client_id,
            mutations,
        })
    }
}

fn read_entry(index: usize, entry: &Value) -> Result<PushedMutation, PushError> {
    let at = format!("mutations[{index}]");
    let object = entry
        .as_object()
        .ok_or_else(|| fault(at.as_str(), "not an object"))?;
    only_fields(object, &["id", "name", "args"], &at)?;
    let field = |name: &str| {
        object
            .get(name)
            .ok_or_else(|| fault(format!("{at}.{name}"), "missing"))
    };
    let id = field("id")?
        .as_u64()
        .filter(|id| (1..=MAX_MUTATION_ID).contains(id))
        .ok_or_else(|| fault(format!("{at}.id"), ID_RANGE))?;
    let name = field("name")?
        .as_str()
        .ok_or_else(|| fault(format!("{at}.name"), "not a string"))?
        .to_owned();
    let args = field("args")?.clone();
    Ok(PushedMutation { id, name, args })
}

/// The caller's decision on a mutation that is next in line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It applies: persist its effect and the id together.
    Apply,
    /// It is refused for good, for this reason: persist the id alone.
    Reject(String),
}

/// What became of one pushed mutation, as the reply reports it.
///
/// On the wire: `{"id": 3, "status": "applied"}`, `"duplicate"`,
/// `{"status": "rejected", "reason": "..."}` or `{"status": "refused",
/// "expected": 7}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MutationStatus {
    /// Applied, and the id advanced with it.
    Applied,
    /// At or below the client's last id: already seen, nothing done.
    Duplicate,
    /// Refused for good; the id advanced all the same.
    Rejected {
        /// Why.
        reason: String,
    },
    /// Not looked at: this mutation, or one before it in the push, did not
    /// carry the next id. Nothing changed; `expected` is the id the cloud
    /// waits for.
    Refused {
        /// The id the cloud takes next.
        expected: MutationId,
    },
}

/// One mutation's line in a [`PushReply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutationReply {
    /// The mutation's id, as pushed.
    pub id: MutationId,
    /// What became of it.
    #[serde(flatten)]
    pub status: MutationStatus,
}

/// The answer to a push: a line per pushed mutation, in push order, and
/// the client's `last_mutation_id` once the push is persisted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushReply {
    /// The client's last mutation id after the push.
    pub last_mutation_id: MutationId,
    /// One line per pushed mutation.
    pub mutations: Vec<MutationReply>,
    /// Conflicts the cloud settled in its own favour while applying the
    /// push (a bin number it already uses), by mutation; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

/// A conflict the cloud won while applying a mutation: the mutation is
/// applied, and this says what of it gave way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conflict {
    /// The mutation's id.
    pub id: MutationId,
    /// What gave way, and to what.
    pub detail: String,
}

/// A mutation that advances the client's id, to persist in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The mutation's position in the push.
    pub index: usize,
    /// Its id, which is also the client's `last_mutation_id` once this step
    /// is persisted.
    pub id: MutationId,
    /// Whether its effect is written (`true`) or only the id advances
    /// (`false`, a rejection).
    pub apply: bool,
}

/// What to persist for a push, and what to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPlan {
    /// The mutations that advance the id, in order; ids rise by one.
    pub steps: Vec<Step>,
    /// The answer to send.
    pub reply: PushReply,
}

/// Decides a push against the client's `last_mutation_id`.
///
/// `verdict` is asked only about the mutation next in line (id one above
/// the running last id), in push order, with its position in the push; it
/// may keep state, so a verdict can see the effects of earlier mutations of
/// the same push (a pack received, then activated). Duplicates and refused
/// mutations are never shown to it.
pub fn plan_push<F>(push: &Push, last_mutation_id: MutationId, mut verdict: F) -> PushPlan
where
    F: FnMut(usize, &PushedMutation) -> Verdict,
{
    let mut last = last_mutation_id;
    let mut gap = false;
    let mut steps = Vec::new();
    let mut lines = Vec::with_capacity(push.mutations.len());
    for (index, pushed) in push.mutations.iter().enumerate() {
        let status = if gap || pushed.id > last.saturating_add(1) {
            gap = true;
            MutationStatus::Refused {
                expected: last.saturating_add(1),
            }
        } else if pushed.id <= last {
            MutationStatus::Duplicate
        } else {
            last = pushed.id;
            let decided = verdict(index, pushed);
            steps.push(Step {
                index,
                id: pushed.id,
                apply: decided == Verdict::Apply,
            });
            match decided {
                Verdict::Apply => MutationStatus::Applied,
                Verdict::Reject(reason) => MutationStatus::Rejected { reason },
            }
        };
        lines.push(MutationReply {
            id: pushed.id,
            status,
        });
    }
    PushPlan {
        steps,
        reply: PushReply {
            last_mutation_id: last,
            mutations: lines,
            conflicts: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_range_message_names_the_largest_id() {
        assert!(ID_RANGE.ends_with(&MAX_MUTATION_ID.to_string()));
    }
    use serde_json::json;

    fn push(ids: &[MutationId]) -> Push {
        Push {
            client_id: "store-1".parse().unwrap(),
            mutations: ids
                .iter()
                .map(|id| PushedMutation {
                    id: *id,
                    name: "settlePack".into(),
                    args: json!({"pack": {"game": "050", "number": id}}),
                })
                .collect(),
        }
    }

    fn statuses(plan: &PushPlan) -> Vec<MutationStatus> {
        plan.reply
            .mutations
            .iter()
            .map(|line| line.status.clone())
            .collect()
    }

    #[test]
    fn client_ids_keep_their_syntax() {
        assert_eq!(
            "store_7-A".parse::<ClientId>().unwrap().as_str(),
            "store_7-A"
        );
        assert_eq!("".parse::<ClientId>(), Err(ClientIdError::Empty));
        assert_eq!(
            "store 7".parse::<ClientId>(),
            Err(ClientIdError::BadChar(' '))
        );
        assert_eq!("é".parse::<ClientId>(), Err(ClientIdError::BadChar('é')));
        assert!("a".repeat(MAX_CLIENT_ID_LEN).parse::<ClientId>().is_ok());
        assert_eq!(
            "a".repeat(MAX_CLIENT_ID_LEN + 1).parse::<ClientId>(),
            Err(ClientIdError::TooLong)
        );
        assert!(serde_json::from_value::<ClientId>(json!("a/b")).is_err());
    }

    #[test]
    fn a_push_reads_from_json() {
        let body = json!({"client_id": "s1", "mutations": [
            {"id": 1, "name": "receivePack", "args": {"x": 1}},
            {"id": 2, "name": "anything", "args": null},
        ]});
        let push = Push::from_json(&body).unwrap();
        assert_eq!(push.client_id.as_str(), "s1");
        assert_eq!(push.mutations.len(), 2);
        assert_eq!(push.mutations[1].id, 2);
        assert_eq!(push.mutations[1].name, "anything");
        assert_eq!(push.mutations[0].args, json!({"x": 1}));
        let empty = Push::from_json(&json!({"client_id": "s1", "mutations": []})).unwrap();
        assert!(empty.mutations.is_empty());
    }

    #[test]
    fn a_malformed_push_names_the_field() {
        let ok = json!({"id": 1, "name": "n", "args": {}});
        let cases = [
            (json!([]), "", "not an object"),
            (json!({"mutations": []}), "client_id", "missing"),
            (
                json!({"client_id": 7, "mutations": []}),
                "client_id",
                "not a string",
            ),
            (
                json!({"client_id": "a b", "mutations": []}),
                "client_id",
                "' ' is not a letter, digit, '-' or '_'",
            ),
            (json!({"client_id": "s"}), "mutations", "missing"),
            (
                json!({"client_id": "s", "mutations": {}}),
                "mutations",
                "not an array",
            ),
            (
                json!({"client_id": "s", "mutations": [], "v": 1}),
                "v",
                "unknown field",
            ),
            (
                json!({"client_id": "s", "mutations": [ok, ok, ok, 5]}),
                "mutations[3]",
                "not an object",
            ),
            (
                json!({"client_id": "s", "mutations": [ok, ok, ok, {"name": "n", "args": {}}]}),
                "mutations[3].id",
                "missing",
            ),
            (
                json!({"client_id": "s", "mutations": [ok, ok, ok, {"id": 0, "name": "n", "args": {}}]}),
                "mutations[3].id",
                ID_RANGE,
            ),
            (
                json!({"client_id": "s", "mutations": [{"id": -1, "name": "n", "args": {}}]}),
                "mutations[0].id",
                ID_RANGE,
            ),
            (
                json!({"client_id": "s", "mutations": [{"id": MAX_MUTATION_ID + 1, "name": "n", "args": {}}]}),
                "mutations[0].id",
                ID_RANGE,
            ),
            (
                json!({"client_id": "s", "mutations": [{"id": 1.5, "name": "n", "args": {}}]}),
                "mutations[0].id",
                ID_RANGE,
            ),
            (
                json!({"client_id": "s", "mutations": [{"id": 1, "name": 2, "args": {}}]}),
                "mutations[0].name",
                "not a string",
            ),
            (
                json!({"client_id": "s", "mutations": [{"id": 1, "name": "n"}]}),
                "mutations[0].args",
                "missing",
            ),
            (
                json!({"client_id": "s", "mutations": [{"id": 1, "name": "n", "args": {}, "at": 0}]}),
                "mutations[0].at",
                "unknown field",
            ),
        ];
        for (body, field, reason) in cases {
            assert_eq!(Push::from_json(&body), Err(fault(field, reason)), "{body}");
        }
        let too_many = json!({"client_id": "s", "mutations": vec![json!({"id": 1, "name": "n", "args": {}}); MAX_PUSH_MUTATIONS + 1]});
        assert_eq!(
            Push::from_json(&too_many).unwrap_err().to_string(),
            "mutations: 1001 mutations, more than 1000"
        );
        let most = json!({"client_id": "s", "mutations": vec![json!({"id": 1, "name": "n", "args": {}}); MAX_PUSH_MUTATIONS]});
        assert!(Push::from_json(&most).is_ok());
    }

    #[test]
    fn the_next_ids_apply_and_advance() {
        let plan = plan_push(&push(&[1, 2, 3]), 0, |_, _| Verdict::Apply);
        assert_eq!(statuses(&plan), vec![MutationStatus::Applied; 3]);
        assert_eq!(plan.reply.last_mutation_id, 3);
        assert_eq!(
            plan.steps,
            (0..3)
                .map(|index| Step {
                    index,
                    id: index as u64 + 1,
                    apply: true
                })
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn ids_at_or_below_the_last_are_duplicates_with_no_effect() {
        let mut asked = Vec::new();
        let plan = plan_push(&push(&[3, 4, 5, 6]), 4, |index, _| {
            asked.push(index);
            Verdict::Apply
        });
        assert_eq!(asked, [2, 3]);
        assert_eq!(
            statuses(&plan),
            [
                MutationStatus::Duplicate,
                MutationStatus::Duplicate,
                MutationStatus::Applied,
                MutationStatus::Applied
            ]
        );
        assert_eq!(plan.reply.last_mutation_id, 6);
        assert_eq!(plan.steps.iter().map(|s| s.id).collect::<Vec<_>>(), [5, 6]);
    }

    #[test]
    fn a_gap_is_refused_and_nothing_after_it_is_looked_at() {
        let mut asked = Vec::new();
        let plan = plan_push(&push(&[3, 5, 4, 2]), 2, |index, _| {
            asked.push(index);
            Verdict::Apply
        });
        assert_eq!(asked, [0]);
        assert_eq!(
            statuses(&plan),
            [
                MutationStatus::Applied,
                MutationStatus::Refused { expected: 4 },
                MutationStatus::Refused { expected: 4 },
                MutationStatus::Refused { expected: 4 },
            ]
        );
        assert_eq!(plan.reply.last_mutation_id, 3);
        assert_eq!(plan.steps.len(), 1);
    }

    #[test]
    fn a_rejection_still_advances_the_id_and_says_why() {
        let plan = plan_push(&push(&[1, 2, 3]), 0, |index, _| {
            if index == 1 {
                Verdict::Reject("game 050 is unknown".into())
            } else {
                Verdict::Apply
            }
        });
        assert_eq!(
            statuses(&plan)[1],
            MutationStatus::Rejected {
                reason: "game 050 is unknown".into()
            }
        );
        assert_eq!(plan.reply.last_mutation_id, 3);
        assert_eq!(
            plan.steps.iter().map(|s| s.apply).collect::<Vec<_>>(),
            [true, false, true]
        );
    }

    #[test]
    fn the_last_id_never_overflows() {
        let plan = plan_push(&push(&[u64::MAX]), u64::MAX, |_, _| Verdict::Apply);
        assert_eq!(statuses(&plan), [MutationStatus::Duplicate]);
        assert_eq!(plan.reply.last_mutation_id, u64::MAX);
    }

    #[test]
    fn the_reply_spells_each_status() {
        let reply = PushReply {
            last_mutation_id: 3,
            mutations: vec![
                MutationReply {
                    id: 1,
                    status: MutationStatus::Duplicate,
                },
                MutationReply {
                    id: 2,
                    status: MutationStatus::Applied,
                },
                MutationReply {
                    id: 3,
                    status: MutationStatus::Rejected {
                        reason: "no".into(),
                    },
                },
                MutationReply {
                    id: 5,
                    status: MutationStatus::Refused { expected: 4 },
                },
            ],
            conflicts: Vec::new(),
        };
        let json = serde_json::to_value(&reply).unwrap();
        assert_eq!(
            json,
            json!({"last_mutation_id": 3, "mutations": [
                {"id": 1, "status": "duplicate"},
                {"id": 2, "status": "applied"},
                {"id": 3, "status": "rejected", "reason": "no"},
                {"id": 5, "status": "refused", "expected": 4},
            ]})
        );
        assert_eq!(serde_json::from_value::<PushReply>(json).unwrap(), reply);
    }
}
