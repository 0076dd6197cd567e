//! The store's outbox: which queued mutations to push next, and what a
//! push's answer does to each row.
//!
//! One client's rows go in mutation-id order, because the cloud refuses a
//! gap. A pending row waits for its `next_attempt_at`, and every row after
//! it waits with it; a dead-lettered row (one the cloud rejected for good,
//! which still advanced the cloud's id) is skipped and later ones go on.
//! Times are milliseconds since the Unix epoch, passed in.
//!
//! # Mutation ids are given at send time
//!
//! A row's place in the queue is its own; the mutation id it is pushed
//! with is given when it is first sent ([`assign_ids`]), right after the
//! cloud's last known `last_mutation_id`, and kept only while its delivery
//! is in doubt (sent, and no reply said what became of it). A reply is the
//! authority: what it did not take (a gap, or past its `last_mutation_id`)
//! gives its id back and is numbered again on the next send
//! ([`RowUpdate::Renumber`]); a whole push refused for good (a 4xx, which
//! the cloud answers before writing anything) dead-letters rows sent for
//! the first time and gives their ids back too. So a dead letter never
//! holds an id the cloud waits for, and never blocks the queue; and an id
//! that may have reached the cloud is never given to another mutation.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::backoff::{Delivery, PushAnswer, classify, next_attempt_at, retry_delay};
use super::sync::{MAX_PUSH_MUTATIONS, MutationId, MutationStatus, PushReply};

/// Where an outbox row stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RowStatus {
    /// Still to be delivered.
    Pending,
    /// Set aside for good, with the reason; never sent again.
    Dead {
        /// Why.
        reason: String,
    },
}

/// One queued mutation, as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRow {
    /// The mutation's id.
    pub id: MutationId,
    /// Failed deliveries so far.
    pub attempts: u32,
    /// Not sent before this time.
    pub next_attempt_at: u64,
    /// Pending or dead.
    #[serde(flatten)]
    pub status: RowStatus,
}

/// What the outbox does now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxPlan {
    /// Nothing is pending.
    Idle,
    /// The earliest pending row is not due: try again at this time.
    Wait {
        /// When it is due.
        until: u64,
    },
    /// Push these rows' mutations, in this order.
    Send(Vec<MutationId>),
}

/// What to push now, given one client's rows in any order.
///
/// The earliest pending row decides: if it is not due, nothing goes; if it
/// is, it goes with the pending rows after it, in id order, up to `limit`
/// (itself clamped to 1..=[`MAX_PUSH_MUTATIONS`]).
pub fn next_batch(rows: &[OutboxRow], now_ms: u64, limit: usize) -> OutboxPlan {
    let mut pending: Vec<&OutboxRow> = rows
        .iter()
        .filter(|row| row.status == RowStatus::Pending)
        .collect();
    pending.sort_by_key(|row| row.id);
    match pending.first() {
        None => OutboxPlan::Idle,
        Some(first) if first.next_attempt_at > now_ms => OutboxPlan::Wait {
            until: first.next_attempt_at,
        },
        Some(_) => OutboxPlan::Send(
            pending
                .iter()
                .take(limit.clamp(1, MAX_PUSH_MUTATIONS))
                .map(|row| row.id)
                .collect(),
        ),
    }
}

/// How a push ended, as the outbox sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// The cloud answered with a reply.
    Reply(PushReply),
    /// No readable reply: a network error, or a status (even a 2xx whose
    /// body did not read as a reply), with the server's `Retry-After`.
    Failed {
        /// What came back.
        answer: PushAnswer,
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
}

/// The mutation id of each row of a batch, in queue order, given the ids
/// some rows already hold (from a send whose outcome is in doubt) and the
/// cloud's `last_mutation_id` as its last reply gave it: a held id is
/// kept, and every other row takes the next id after both.
///
/// ```
/// use tombola_core::lottery::assign_ids;
///
/// assert_eq!(assign_ids(&[None, None], 7), [8, 9]);
/// assert_eq!(assign_ids(&[Some(8), Some(9), None], 7), [8, 9, 10]);
/// ```
pub fn assign_ids(held: &[Option<MutationId>], cloud_last: MutationId) -> Vec<MutationId> {
    let mut next = held
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0)
        .max(cloud_last);
    held.iter()
        .map(|id| {
            id.unwrap_or_else(|| {
                next = next.saturating_add(1);
                next
            })
        })
        .collect()
}

/// What to do with one row after a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowUpdate {
    /// The cloud has it (applied, or a duplicate): delete the row.
    Done,
    /// The cloud's reply says it did not take it (a gap, or an id past its
    /// `last_mutation_id`): give the id back and send it again at once,
    /// numbered after the cloud's last id.
    Renumber,
    /// Try again: write these attempts and time.
    Retry {
        /// Failed deliveries, this one included.
        attempts: u32,
        /// When to try next.
        next_attempt_at: u64,
    },
    /// Dead-letter it with this reason.
    Dead {
        /// Why.
        reason: String,
    },
}

/// The update for each sent row (in the order given) after a push ended
/// with `outcome` at `now_ms`; `random` is the caller's draw for the retry
/// jitter ([`retry_delay`]).
///
/// Each row's `id` is the mutation id it was sent with.
///
/// With a reply: an applied or duplicate mutation is done, a rejected one
/// dead with the cloud's reason, and a refused one (a gap) or one the reply
/// does not mention is renumbered, unless its id is at or below the reply's
/// `last_mutation_id`, which says the cloud has it. Without one, the answer
/// is [`classify`]d: a permanent answer dead-letters, with the status as
/// the reason, every row sent for the first time (its id goes back), and
/// retries a row whose earlier delivery is in doubt (it may hold its id at
/// the cloud; the next reply says); anything else retries them all, a 2xx
/// included, since a repeated delivery is only a duplicate.
pub fn settle_rows(
    sent: &[OutboxRow],
    outcome: &PushOutcome,
    now_ms: u64,
    random: u64,
) -> Vec<RowUpdate> {
    let retry = |row: &OutboxRow, retry_after: Option<Duration>| {
        let attempts = row.attempts.saturating_add(1);
        RowUpdate::Retry {
            attempts,
            next_attempt_at: next_attempt_at(now_ms, retry_delay(attempts, random, retry_after)),
        }
    };
    sent.iter()
        .map(|row| match outcome {
            PushOutcome::Reply(reply) => {
                let status = reply
                    .mutations
                    .iter()
                    .find(|line| line.id == row.id)
                    .map(|line| &line.status);
                match status {
                    Some(MutationStatus::Applied | MutationStatus::Duplicate) => RowUpdate::Done,
                    Some(MutationStatus::Rejected { reason }) => RowUpdate::Dead {
                        reason: reason.clone(),
                    },
                    _ if row.id <= reply.last_mutation_id => RowUpdate::Done,
                    _ => RowUpdate::Renumber,
                }
            }
            PushOutcome::Failed {
                answer,
                retry_after,
            } => match (classify(*answer), answer) {
                (Delivery::Permanent, PushAnswer::Status(code)) if row.attempts == 0 => {
                    RowUpdate::Dead {
                        reason: format!("the cloud answered {code}"),
                    }
                }
                _ => retry(row, *retry_after),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lottery::sync::MutationReply;

    fn row(id: MutationId, next_attempt_at: u64) -> OutboxRow {
        OutboxRow {
            id,
            attempts: 0,
            next_attempt_at,
            status: RowStatus::Pending,
        }
    }

    fn dead(id: MutationId) -> OutboxRow {
        OutboxRow {
            status: RowStatus::Dead {
                reason: "no".into(),
            },
            ..row(id, 0)
        }
    }

    #[test]
    fn rows_go_in_id_order_skipping_dead_ones() {
        let rows = [row(4, 0), dead(2), row(3, 0), row(1, 100)];
        assert_eq!(next_batch(&rows, 100, 10), OutboxPlan::Send(vec![1, 3, 4]));
        assert_eq!(next_batch(&rows, 100, 2), OutboxPlan::Send(vec![1, 3]));
        assert_eq!(next_batch(&rows, 100, 0), OutboxPlan::Send(vec![1]));
    }

    #[test]
    fn later_rows_wait_behind_the_earliest_pending_one() {
        let rows = [row(1, 500), row(2, 0)];
        assert_eq!(next_batch(&rows, 499, 10), OutboxPlan::Wait { until: 500 });
        assert_eq!(next_batch(&[dead(1)], 0, 10), OutboxPlan::Idle);
        assert_eq!(next_batch(&[], 0, 10), OutboxPlan::Idle);
    }

    #[test]
    fn a_reply_settles_each_row() {
        let sent = [row(5, 0), row(6, 0), row(7, 0), row(8, 0), row(9, 0)];
        let reply = PushReply {
            last_mutation_id: 7,
            mutations: vec![
                MutationReply {
                    id: 5,
                    status: MutationStatus::Duplicate,
                },
                MutationReply {
                    id: 6,
                    status: MutationStatus::Applied,
                },
                MutationReply {
                    id: 7,
                    status: MutationStatus::Rejected {
                        reason: "unknown game 050".into(),
                    },
                },
                MutationReply {
                    id: 9,
                    status: MutationStatus::Refused { expected: 8 },
                },
            ],
            conflicts: Vec::new(),
        };
        let updates = settle_rows(&sent, &PushOutcome::Reply(reply), 10_000, 0);
        assert_eq!(
            updates,
            [
                RowUpdate::Done,
                RowUpdate::Done,
                RowUpdate::Dead {
                    reason: "unknown game 050".into()
                },
                RowUpdate::Renumber,
                RowUpdate::Renumber,
            ]
        );
    }

    #[test]
    fn a_row_the_reply_omits_but_the_cloud_has_is_done() {
        let reply = PushReply {
            last_mutation_id: 3,
            mutations: vec![],
            conflicts: Vec::new(),
        };
        assert_eq!(
            settle_rows(&[row(3, 0)], &PushOutcome::Reply(reply), 0, 0),
            [RowUpdate::Done]
        );
    }

    #[test]
    fn failures_back_off_or_dead_letter() {
        let mut sent = row(1, 0);
        sent.attempts = 3;
        let failed = |answer, retry_after| PushOutcome::Failed {
            answer,
            retry_after,
        };
        assert_eq!(
            settle_rows(
                &[sent.clone()],
                &failed(PushAnswer::Status(503), None),
                1_000,
                0
            ),
            [RowUpdate::Retry {
                attempts: 4,
                next_attempt_at: 5_000
            }]
        );
        assert_eq!(
            settle_rows(
                &[sent.clone()],
                &failed(PushAnswer::Status(429), Some(Duration::from_secs(60))),
                1_000,
                0
            ),
            [RowUpdate::Retry {
                attempts: 4,
                next_attempt_at: 61_000
            }]
        );
        assert_eq!(
            settle_rows(
                &[sent.clone()],
                &failed(PushAnswer::NetworkError, None),
                0,
                4000
            ),
            [RowUpdate::Retry {
                attempts: 4,
                next_attempt_at: 8_000
            }]
        );
        assert_eq!(
            settle_rows(
                &[sent.clone()],
                &failed(PushAnswer::Status(200), None),
                0,
                0
            ),
            [RowUpdate::Retry {
                attempts: 4,
                next_attempt_at: 4_000
            }]
        );
        // A row sent before with no reply may be at the cloud: a refusal
        // of the whole push now does not dead-letter it.
        assert_eq!(
            settle_rows(
                &[sent.clone()],
                &failed(PushAnswer::Status(422), None),
                0,
                0
            ),
            [RowUpdate::Retry {
                attempts: 4,
                next_attempt_at: 4_000
            }]
        );
        let first = row(2, 0);
        assert_eq!(
            settle_rows(&[first], &failed(PushAnswer::Status(422), None), 0, 0),
            [RowUpdate::Dead {
                reason: "the cloud answered 422".into()
            }]
        );
    }

    #[test]
    fn ids_are_given_after_the_clouds_last_and_held_ones_are_kept() {
        assert_eq!(assign_ids(&[], 5), Vec::<MutationId>::new());
        assert_eq!(assign_ids(&[None, None, None], 0), [1, 2, 3]);
        assert_eq!(assign_ids(&[None], 41), [42]);
        // Held ids (a send in doubt) stay, later rows follow them.
        assert_eq!(assign_ids(&[Some(6), Some(7), None], 5), [6, 7, 8]);
        // A dead letter gave its id back: the next row takes it.
        assert_eq!(assign_ids(&[None], 3), [4]);
    }
}
