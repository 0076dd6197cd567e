//! Outcomes: what applying an entry did.

use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};

use crate::pool::id::ItemId;

/// A number of units of one item, as given back by a RETURN.
///
/// JSON: `{"item":"gold","quantity":2}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemCount {
    /// The item.
    pub item: ItemId,
    /// How many units, at least one.
    pub quantity: NonZeroU64,
}

/// Why some or all draws of an entry failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// Nothing left to draw, or (all-or-nothing) less than the count.
    OutOfStock,
    /// The pool is closed.
    Closed,
    /// A chunk of an operation that was rolled back before it in the log.
    RolledBack,
    /// A seed log line names an item the pool does not have.
    UnknownItem,
    /// A seed log line recorded the draw as failed (`DRAW <id> FAILED`).
    Recorded,
    /// A seeded draw (DRAW/1, CHUNK/1) on a rules-2 pool, or a rules-2
    /// draw (DRAW/2) on a pool of other rules.
    RulesMismatch,
    /// A rules-2 draw before the pool's first commitment.
    NoCommitment,
    /// A rules-2 draw whose nonce is not the next one under the current
    /// server seed (reused, skipped or reordered).
    NonceOutOfOrder,
    /// A rules-2 draw past the pool's rotation interval: the server seed
    /// must be rotated first.
    RotationDue,
    /// A rules-2 draw whose server seed this replay does not hold (not yet
    /// revealed): its outcome cannot be computed here.
    SeedWithheld,
}

/// Why an entry changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreReason {
    /// The entry comes before the pool's CREATE.
    NoPool,
    /// A second CREATE.
    AlreadyCreated,
    /// A CLOSE of a closed pool.
    AlreadyClosed,
    /// A RESTOCK of a closed pool.
    Closed,
    /// A RESTOCK of an item the pool does not have.
    UnknownItem,
    /// A RESTOCK of an unlimited item.
    UnlimitedItem,
    /// A RESTOCK that would take the item's stock or the pool's total weight
    /// past `u64::MAX`.
    Overflow,
    /// A rollback of an operation already rolled back.
    AlreadyRolledBack,
    /// A COMMIT or ROTATE on a pool that is not under rules 2.
    NotFair,
    /// A COMMIT on a pool that has a commitment (later ones are ROTATEs).
    AlreadyCommitted,
    /// A ROTATE before any commitment, or whose revealed server seed is not
    /// the one committed to.
    RevealMismatch,
}

/// What applying one entry did. It is a pure function of the state before
/// the entry and the entry, so every replay of a log computes the same
/// outcomes; it is recorded per request id and compared by the audit.
///
/// JSON, tagged by `kind`:
///
/// ```text
/// {"kind":"create"}
/// {"kind":"draw","drawn":["gold","none"],"failed":0}
/// {"kind":"draw","drawn":["gold"],"failed":2,"reason":"out_of_stock"}
/// {"kind":"return","returned":3}
/// {"kind":"return","returned":1,"ignored":[{"item":"ghost","quantity":2}]}
/// {"kind":"restock","item":"gold","remaining":12}
/// {"kind":"close"}
/// {"kind":"commit"}
/// {"kind":"rotate"}
/// {"kind":"ignored","reason":"already_closed"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// CREATE started the pool.
    Create,
    /// A draw. Invariant: `drawn.len() + failed` is the entry's count, and
    /// `reason` is present exactly when `failed > 0`.
    Draw {
        /// The items drawn, in draw order.
        drawn: Vec<ItemId>,
        /// How many of the entry's draws failed.
        failed: u32,
        /// Why they failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<FailReason>,
    },
    /// A RETURN gave units back: for a rollback, exactly what the
    /// operation's chunks held at that point of the log.
    Return {
        /// Units given back, unlimited items included (for them it changes
        /// nothing).
        returned: u64,
        /// Units not given back: unknown items, or a stock or total weight
        /// that would pass `u64::MAX`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ignored: Vec<ItemCount>,
    },
    /// A RESTOCK added units.
    Restock {
        /// The item restocked.
        item: ItemId,
        /// Its remaining stock after the restock.
        remaining: u64,
    },
    /// CLOSE closed the pool: later draws fail.
    Close,
    /// COMMIT published a rules-2 pool's first commitment.
    Commit,
    /// ROTATE revealed the server seed in force and committed the next.
    Rotate,
    /// The entry changed nothing.
    Ignored {
        /// Why.
        reason: IgnoreReason,
    },
}

impl Outcome {
    /// The items a draw outcome drew; empty for other outcomes.
    pub fn drawn(&self) -> &[ItemId] {
        match self {
            Outcome::Draw { drawn, .. } => drawn,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str) -> ItemId {
        ItemId::new(id).unwrap()
    }

    #[test]
    fn json_shapes_are_the_documented_ones() {
        let cases = [
            (Outcome::Create, r#"{"kind":"create"}"#),
            (
                Outcome::Draw {
                    drawn: vec![item("gold"), item("none")],
                    failed: 0,
                    reason: None,
                },
                r#"{"kind":"draw","drawn":["gold","none"],"failed":0}"#,
            ),
            (
                Outcome::Draw {
                    drawn: vec![item("gold")],
                    failed: 2,
                    reason: Some(FailReason::OutOfStock),
                },
                r#"{"kind":"draw","drawn":["gold"],"failed":2,"reason":"out_of_stock"}"#,
            ),
            (
                Outcome::Return {
                    returned: 3,
                    ignored: vec![],
                },
                r#"{"kind":"return","returned":3}"#,
            ),
            (
                Outcome::Return {
                    returned: 1,
                    ignored: vec![ItemCount {
                        item: item("ghost"),
                        quantity: NonZeroU64::new(2).unwrap(),
                    }],
                },
                r#"{"kind":"return","returned":1,"ignored":[{"item":"ghost","quantity":2}]}"#,
            ),
            (
                Outcome::Restock {
                    item: item("gold"),
                    remaining: 12,
                },
                r#"{"kind":"restock","item":"gold","remaining":12}"#,
            ),
            (Outcome::Close, r#"{"kind":"close"}"#),
            (Outcome::Commit, r#"{"kind":"commit"}"#),
            (Outcome::Rotate, r#"{"kind":"rotate"}"#),
            (
                Outcome::Draw {
                    drawn: vec![],
                    failed: 1,
                    reason: Some(FailReason::NonceOutOfOrder),
                },
                r#"{"kind":"draw","drawn":[],"failed":1,"reason":"nonce_out_of_order"}"#,
            ),
            (
                Outcome::Ignored {
                    reason: IgnoreReason::AlreadyClosed,
                },
                r#"{"kind":"ignored","reason":"already_closed"}"#,
            ),
        ];
        for (outcome, json) in cases {
            assert_eq!(serde_json::to_string(&outcome).unwrap(), json);
            assert_eq!(serde_json::from_str::<Outcome>(json).unwrap(), outcome);
        }
    }

    #[test]
    fn json_refuses_what_it_does_not_know() {
        assert!(
            serde_json::from_str::<Outcome>(r#"{"kind":"draw","drawn":[],"failed":0,"extra":1}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<Outcome>(r#"{"kind":"explode"}"#).is_err());
        assert!(
            serde_json::from_str::<Outcome>(
                r#"{"kind":"return","returned":0,"ignored":[{"item":"a","quantity":0}]}"#
            )
            .is_err()
        );
    }

    #[test]
    fn drawn_lists_only_draws() {
        let draw = Outcome::Draw {
            drawn: vec![item("a")],
            failed: 0,
            reason: None,
        };
        assert_eq!(draw.drawn(), &[item("a")]);
        assert!(Outcome::Close.drawn().is_empty());
    }
}
