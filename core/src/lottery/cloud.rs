//! The cloud's copy of one store, and what a push does to it.
//!
//! The cloud keeps, per store, the packs and day closes its pushes carried
//! (the store owns them) beside the games and bins the cloud owns. A push
//! is decided against that copy by [`decide_push`]: [`plan_push`] keeps
//! Replicache's rules on ids, and each mutation next in line is run through
//! the same pack rules the store ran ([`Pack::receive`], [`Pack::activate`],
//! ...) over the copy as the earlier mutations of the push left it. A
//! mutation the rules refuse is rejected for good with their reason (its id
//! still advances); one that applies adds its records to the
//! [`PushWrites`], which the caller persists with the new
//! `last_mutation_id` in one atomic step.
//!
//! ```
//! use std::collections::BTreeMap;
//! use serde_json::json;
//! use tombola_core::lottery::{MutationStatus, Push, StoreCopy, decide_push};
//!
//! let push = Push::from_json(&json!({"client_id": "till-1", "mutations": [
//!     {"id": 1, "name": "receivePack", "args": {"pack": {"game": "050", "number": 1}}},
//! ]}))?;
//! // The cloud knows no game 050: the pack is rejected, the id advances.
//! let decision = decide_push(&push, 0, StoreCopy::default());
//! assert_eq!(decision.plan.reply.last_mutation_id, 1);
//! assert!(matches!(decision.plan.reply.mutations[0].status, MutationStatus::Rejected { .. }));
//! assert!(decision.writes.packs.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::bin::BinNumber;
use super::close::PreparedClose;
use super::date::BusinessDate;
use super::game::{Game, GameCode};
use super::mutation::Mutation;
use super::pack::{Pack, PackError, PackKey, PackStatus};
use super::sync::{Conflict, MutationId, Push, PushPlan, Verdict, plan_push};
use super::sync_merge::{CloseMerge, merge_close, merge_store_bins};

/// A bin as the cloud keeps it and a pull sends it: its number, and
/// whether the operator removed it (a removal is a record too, so a store
/// that pulls it drops its copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudBin {
    /// The bin's number.
    pub number: BinNumber,
    /// Whether the operator removed it.
    pub removed: bool,
}

/// What an operator's change to one bin does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinChange {
    /// Write this record (a new revision the store will pull).
    Write(CloudBin),
    /// The bin already stands as asked: nothing to write.
    Unchanged,
    /// There is no such bin to remove.
    Missing,
}

/// The change an operator's `add` (or, when false, remove) of bin
/// `number` makes, given the cloud's record of it: adding a bin that
/// stands or removing one that is gone writes nothing, and removing one
/// the cloud never had is [`BinChange::Missing`]. A removed bin comes back
/// when added again.
pub fn bin_change(held: Option<&CloudBin>, number: BinNumber, add: bool) -> BinChange {
    let stands = held.is_some_and(|bin| !bin.removed);
    match (add, held) {
        (true, _) if stands => BinChange::Unchanged,
        (true, _) => BinChange::Write(CloudBin {
            number,
            removed: false,
        }),
        (false, None) => BinChange::Missing,
        (false, Some(_)) if !stands => BinChange::Unchanged,
        (false, Some(_)) => BinChange::Write(CloudBin {
            number,
            removed: true,
        }),
    }
}

/// What the cloud holds for one store when a push arrives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreCopy {
    /// Every game the cloud defines, retired ones included.
    pub games: BTreeMap<GameCode, Game>,
    /// The store's bins the cloud has (removed ones left out).
    pub bins: BTreeSet<BinNumber>,
    /// The store's packs, as its pushes left them.
    pub packs: BTreeMap<PackKey, Pack>,
    /// The store's day closes, by date.
    pub closes: BTreeMap<BusinessDate, PreparedClose>,
}

/// What of the cloud's copy a push reads beyond the games and bins: the
/// packs and day closes its mutations name, and every pack on the counter
/// (an activation looks for the pack already in its bin). Those decide the
/// push exactly as the whole copy would, so a push's read does not grow
/// with the store's history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReads {
    /// The packs the mutations name (received, activated, displaced,
    /// settled or returned).
    pub packs: BTreeSet<PackKey>,
    /// The dates of the day closes the mutations carry.
    pub closes: BTreeSet<BusinessDate>,
}

/// The packs and closes `push` names; a mutation that does not read names
/// nothing (it is rejected whatever the copy holds).
pub fn push_reads(push: &Push) -> PushReads {
    let mut reads = PushReads::default();
    for mutation in push.mutations.iter().filter_map(|m| m.mutation().ok()) {
        match mutation {
            Mutation::CreateBins { .. } => {}
            Mutation::ReceivePack { pack }
            | Mutation::SettlePack { pack }
            | Mutation::ReturnPack { pack, .. } => {
                reads.packs.insert(pack);
            }
            Mutation::ActivatePack {
                pack, displaced, ..
            } => {
                reads.packs.insert(pack);
                reads.packs.extend(displaced.map(|d| d.pack));
            }
            Mutation::CloseDay { close } => {
                reads.closes.insert(close.date());
            }
        }
    }
    reads
}

impl StoreCopy {
    /// The copy cut to what `reads` names and the packs on the counter:
    /// what the cloud reads for a push ([`PushReads`]).
    pub fn cut_to(mut self, reads: &PushReads) -> StoreCopy {
        self.packs
            .retain(|key, pack| reads.packs.contains(key) || is_on_counter(pack));
        self.closes.retain(|date, _| reads.closes.contains(date));
        self
    }
}

/// The packs on the counter once `writes` land on `packs`: what the
/// cloud's index of them holds after the push.
pub fn on_counter<'a>(
    packs: &'a BTreeMap<PackKey, Pack>,
    writes: &'a PushWrites,
) -> impl Iterator<Item = PackKey> + 'a {
    let kept = packs
        .iter()
        .filter(|(key, _)| !writes.packs.contains_key(key))
        .map(|(key, pack)| (*key, pack));
    let written = writes.packs.iter().map(|(key, pack)| (*key, pack));
    kept.chain(written)
        .filter(|(_, pack)| is_on_counter(pack))
        .map(|(key, _)| key)
}

/// Whether a pack is on the counter: active in a bin.
fn is_on_counter(pack: &Pack) -> bool {
    pack.status() == PackStatus::Active
}

/// What a push writes: the final value of every record it changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushWrites {
    /// Packs to store, replacing the cloud's copy of each.
    pub packs: BTreeMap<PackKey, Pack>,
    /// Day closes to store, replacing the cloud's for each date.
    pub closes: BTreeMap<BusinessDate, PreparedClose>,
    /// Bins the store created that the cloud takes as its own.
    pub bins: Vec<BinNumber>,
}

impl PushWrites {
    /// Whether the push changes no record (only ids may advance).
    pub fn is_empty(&self) -> bool {
        self.packs.is_empty() && self.closes.is_empty() && self.bins.is_empty()
    }

    /// Each written pack with whether it is on the counter after the push:
    /// what the cloud's index of the counter gains or loses.
    pub fn counter(&self) -> impl Iterator<Item = (PackKey, bool)> + '_ {
        self.packs
            .iter()
            .map(|(key, pack)| (*key, is_on_counter(pack)))
    }
}

/// A push decided: the plan (steps and reply) and the records to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushDecision {
    /// What advances and what the store is told.
    pub plan: PushPlan,
    /// What to persist with the plan's `last_mutation_id`.
    pub writes: PushWrites,
}

/// What applying one mutation did, before it is merged into the writes.
struct Applied {
    packs: Vec<Pack>,
    close: Option<PreparedClose>,
    bins: Vec<BinNumber>,
    conflict: Option<String>,
}

impl Applied {
    fn packs(packs: Vec<Pack>) -> Applied {
        Applied {
            packs,
            close: None,
            bins: Vec::new(),
            conflict: None,
        }
    }
}

fn held(copy: &StoreCopy, key: PackKey) -> Result<&Pack, String> {
    copy.packs
        .get(&key)
        .ok_or_else(|| format!("pack {key} is unknown to the cloud"))
}

fn refused(error: PackError) -> String {
    error.to_string()
}

/// Runs one mutation over the copy's records, or says why it is refused.
fn apply(copy: &StoreCopy, mutation: Mutation) -> Result<Applied, String> {
    match mutation {
        Mutation::CreateBins { bins } => {
            let merge = merge_store_bins(&copy.bins, &bins);
            let conflict = (!merge.cloud_kept.is_empty()).then(|| {
                let numbers: Vec<String> = merge.cloud_kept.iter().map(|b| b.to_string()).collect();
                format!(
                    "bins {} already exist in the cloud; the cloud's stand",
                    numbers.join(", ")
                )
            });
            Ok(Applied {
                packs: Vec::new(),
                close: None,
                bins: merge.created,
                conflict,
            })
        }
        Mutation::ReceivePack { pack } => {
            let game = copy
                .games
                .get(&pack.game)
                .ok_or_else(|| format!("game {} is unknown to the cloud", pack.game))?;
            let received = Pack::receive(game, pack, copy.packs.keys()).map_err(refused)?;
            Ok(Applied::packs(vec![received]))
        }
        Mutation::ActivatePack {
            pack,
            bin,
            opening,
            displaced,
        } => {
            let on_counter = copy
                .packs
                .values()
                .filter(|p| p.status() == PackStatus::Active);
            let activation = held(copy, pack)?
                .activate(bin, Some(opening), on_counter, displaced)
                .map_err(refused)?;
            let mut packs = vec![activation.activated];
            packs.extend(activation.displaced);
            Ok(Applied::packs(packs))
        }
        Mutation::SettlePack { pack } => Ok(Applied::packs(vec![
            held(copy, pack)?.settle().map_err(refused)?,
        ])),
        Mutation::ReturnPack { pack, reading } => Ok(Applied::packs(vec![
            held(copy, pack)?
                .return_to_distributor(reading)
                .map_err(refused)?,
        ])),
        Mutation::CloseDay { close } => {
            let merged = merge_close(copy.closes.get(&close.date()), &close);
            Ok(Applied {
                packs: Vec::new(),
                close: (merged != CloseMerge::Unchanged).then_some(close),
                bins: Vec::new(),
                conflict: None,
            })
        }
    }
}

/// Decides a push from a store whose client stands at `last_mutation_id`,
/// against the cloud's `copy` of the store.
///
/// Each mutation next in line is read ([`Mutation::from_parts`]) and run
/// over the copy as the push's earlier mutations left it: a bad name or
/// arguments, a pack or game the cloud does not know, or a transition the
/// pack rules refuse rejects it with that reason. Bins the store created
/// are merged with the cloud winning every number it has, and the reply's
/// `conflicts` say which gave way. Nothing here fails: a push that reads
/// is always decided.
pub fn decide_push(push: &Push, last_mutation_id: MutationId, mut copy: StoreCopy) -> PushDecision {
    let mut writes = PushWrites::default();
    let mut conflicts = Vec::new();
    let mut plan = plan_push(push, last_mutation_id, |_, pushed| {
        let applied = pushed
            .mutation()
            .map_err(|error| error.to_string())
            .and_then(|mutation| apply(&copy, mutation));
        match applied {
            Ok(applied) => {
                for pack in applied.packs {
                    copy.packs.insert(pack.key(), pack.clone());
                    writes.packs.insert(pack.key(), pack);
                }
                if let Some(close) = applied.close {
                    copy.closes.insert(close.date(), close.clone());
                    writes.closes.insert(close.date(), close);
                }
                copy.bins.extend(applied.bins.iter().copied());
                writes.bins.extend(applied.bins);
                if let Some(detail) = applied.conflict {
                    conflicts.push(Conflict {
                        id: pushed.id,
                        detail,
                    });
                }
                Verdict::Apply
            }
            Err(reason) => Verdict::Reject(reason),
        }
    });
    plan.reply.conflicts = conflicts;
    PushDecision { plan, writes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lottery::MutationStatus;
    use crate::lottery::game::{GameSpec, GameStatus, Numbering};
    use crate::lottery::money::Cents;
    use serde_json::{Value, json};

    fn game(code: u32, status: GameStatus) -> Game {
        Game::new(GameSpec {
            code: GameCode::new(code).unwrap(),
            name: format!("Game {code}"),
            price: Cents::new(100),
            pack_value: Cents::new(1000),
            tickets_per_pack: 10,
            numbering: Numbering::Ascending,
            status,
        })
        .unwrap()
    }

    fn copy() -> StoreCopy {
        let mut copy = StoreCopy::default();
        for g in [game(50, GameStatus::Active), game(60, GameStatus::Inactive)] {
            copy.games.insert(g.code(), g);
        }
        copy.bins.insert(BinNumber::new(1).unwrap());
        copy
    }

    fn push(mutations: &[(u64, &str, Value)]) -> Push {
        let mutations: Vec<Value> = mutations
            .iter()
            .map(|(id, name, args)| json!({"id": id, "name": name, "args": args}))
            .collect();
        Push::from_json(&json!({"client_id": "till-1", "mutations": mutations})).unwrap()
    }

    fn pack(game: u32, number: u32) -> Value {
        json!({"game": format!("{game:03}"), "number": number})
    }

    fn statuses(decision: &PushDecision) -> Vec<&'static str> {
        decision
            .plan
            .reply
            .mutations
            .iter()
            .map(|line| match line.status {
                MutationStatus::Applied => "applied",
                MutationStatus::Duplicate => "duplicate",
                MutationStatus::Rejected { .. } => "rejected",
                MutationStatus::Refused { .. } => "refused",
            })
            .collect()
    }

    #[test]
    fn a_packs_lifecycle_applies_in_push_order() {
        let decision = decide_push(
            &push(&[
                (1, "receivePack", json!({"pack": pack(50, 7)})),
                (
                    2,
                    "activatePack",
                    json!({"pack": pack(50, 7), "bin": 1, "opening": 0, "displaced": null}),
                ),
                (3, "settlePack", json!({"pack": pack(50, 7)})),
            ]),
            0,
            copy(),
        );
        assert_eq!(statuses(&decision), ["applied"; 3]);
        let key: PackKey = serde_json::from_value(pack(50, 7)).unwrap();
        assert_eq!(decision.writes.packs[&key].status(), PackStatus::Settled);
        assert_eq!(decision.writes.packs.len(), 1);
        assert_eq!(decision.plan.reply.last_mutation_id, 3);
    }

    #[test]
    fn what_the_cloud_cannot_take_is_rejected_with_the_reason_and_the_rest_go_on() {
        let decision = decide_push(
            &push(&[
                (5, "receivePack", json!({"pack": pack(70, 1)})),
                (6, "receivePack", json!({"pack": pack(60, 1)})),
                (7, "settlePack", json!({"pack": pack(50, 9)})),
                (8, "dropTable", json!({})),
                (9, "receivePack", json!({"pack": pack(50, 2)})),
                (10, "receivePack", json!({"pack": pack(50, 2)})),
            ]),
            4,
            copy(),
        );
        assert_eq!(
            statuses(&decision),
            [
                "rejected", "rejected", "rejected", "rejected", "applied", "rejected"
            ]
        );
        let reasons: Vec<String> = decision
            .plan
            .reply
            .mutations
            .iter()
            .filter_map(|line| match &line.status {
                MutationStatus::Rejected { reason } => Some(reason.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(reasons[0], "game 070 is unknown to the cloud");
        assert_eq!(reasons[1], "game: 060 is inactive and takes no new packs");
        assert_eq!(reasons[2], "pack 050-9 is unknown to the cloud");
        assert_eq!(reasons[3], "name: \"dropTable\" is not a mutation");
        assert_eq!(decision.plan.reply.last_mutation_id, 10);
        assert_eq!(decision.writes.packs.len(), 1);
    }

    #[test]
    fn store_bins_give_way_to_the_clouds_and_the_reply_says_so() {
        let decision = decide_push(
            &push(&[(1, "createBins", json!({"bins": [1, 2, 3]}))]),
            0,
            copy(),
        );
        assert_eq!(statuses(&decision), ["applied"]);
        assert_eq!(
            decision.writes.bins,
            [BinNumber::new(2).unwrap(), BinNumber::new(3).unwrap()]
        );
        assert_eq!(
            decision.plan.reply.conflicts,
            [Conflict {
                id: 1,
                detail: "bins 1 already exist in the cloud; the cloud's stand".into()
            }]
        );
        let clean = decide_push(&push(&[(1, "createBins", json!({"bins": [4]}))]), 0, copy());
        assert!(clean.plan.reply.conflicts.is_empty());
    }

    #[test]
    fn a_close_is_written_unless_the_cloud_has_it_already() {
        let close: PreparedClose = serde_json::from_value(json!({
            "date": "2025-06-02", "lines": [], "bins": [], "tickets": 0, "amount": 0,
            "variances": []
        }))
        .unwrap();
        let body = json!({"close": serde_json::to_value(&close).unwrap()});
        let fresh = decide_push(&push(&[(1, "closeDay", body.clone())]), 0, copy());
        assert_eq!(fresh.writes.closes.get(&close.date()), Some(&close));
        let mut had = copy();
        had.closes.insert(close.date(), close.clone());
        let again = decide_push(&push(&[(1, "closeDay", body)]), 0, had);
        assert_eq!(statuses(&again), ["applied"]);
        assert!(again.writes.is_empty());
    }

    #[test]
    fn operators_add_and_remove_bins_and_repeats_write_nothing() {
        let n = BinNumber::new(4).unwrap();
        let live = CloudBin {
            number: n,
            removed: false,
        };
        let gone = CloudBin {
            number: n,
            removed: true,
        };
        assert_eq!(bin_change(None, n, true), BinChange::Write(live));
        assert_eq!(bin_change(Some(&live), n, true), BinChange::Unchanged);
        assert_eq!(bin_change(Some(&gone), n, true), BinChange::Write(live));
        assert_eq!(bin_change(Some(&live), n, false), BinChange::Write(gone));
        assert_eq!(bin_change(Some(&gone), n, false), BinChange::Unchanged);
        assert_eq!(bin_change(None, n, false), BinChange::Missing);
    }

    #[test]
    fn duplicates_and_gaps_write_nothing() {
        let decision = decide_push(
            &push(&[
                (3, "receivePack", json!({"pack": pack(50, 1)})),
                (5, "receivePack", json!({"pack": pack(50, 2)})),
            ]),
            3,
            copy(),
        );
        assert_eq!(statuses(&decision), ["duplicate", "refused"]);
        assert!(decision.writes.is_empty());
        assert!(decision.plan.steps.is_empty());
    }
}
