//! What multi-draw operations hold: the units their chunks drew, which a
//! rollback gives back.
//!
//! The log decides a rollback: a RETURN/2 entry gives back exactly what the
//! operation's CHUNK entries before it drew, and marks the operation rolled
//! back so that every chunk after it fails. Both are part of the pool's
//! state (and of its snapshot), so replay from any snapshot agrees.
//!
//! Holdings are kept until the deadline their entries carry (`until`, the
//! end of the operation's rollback window); a timed entry (CHUNK or RETURN)
//! first forgets every holding whose deadline is before its own time. That
//! keeps the state bounded by the operations of one window, and is a pure
//! function of the log.

use std::collections::{BTreeMap, BTreeSet};

use crate::pool::id::OperationId;

/// What one operation holds.
///
/// Invariants: `units` is sorted by item position, without duplicates or
/// zero counts; a rolled-back operation holds nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub(crate) units: Vec<(u32, u64)>,
    pub(crate) until: u64,
    pub(crate) rolled_back: bool,
}

impl Holding {
    /// The units held, as (item position in the configuration, count), in
    /// position order. Unlimited items are counted too.
    pub fn units(&self) -> &[(u32, u64)] {
        &self.units
    }

    /// The total number of units held.
    pub fn total(&self) -> u64 {
        self.units.iter().map(|&(_, count)| count).sum()
    }

    /// Until when (milliseconds since the Unix epoch, the appending host's
    /// clock) the holding is kept.
    pub fn until(&self) -> u64 {
        self.until
    }

    /// Whether a rollback of the operation has been applied.
    pub fn is_rolled_back(&self) -> bool {
        self.rolled_back
    }

    // Adds one unit of the item at `position`.
    pub(crate) fn add(&mut self, position: u32) {
        match self.units.binary_search_by_key(&position, |&(p, _)| p) {
            Ok(index) => self.units[index].1 += 1,
            Err(index) => self.units.insert(index, (position, 1)),
        }
    }
}

/// Every operation the state still knows, with an index by deadline.
///
/// Two sets are equal when they hold the same operations with the same
/// holdings; the index is derived.
#[derive(Debug, Clone, Default)]
pub struct Holdings {
    by_operation: BTreeMap<OperationId, Holding>,
    by_deadline: BTreeSet<(u64, OperationId)>,
}

impl PartialEq for Holdings {
    fn eq(&self, other: &Holdings) -> bool {
        self.by_operation == other.by_operation
    }
}

impl Eq for Holdings {}

impl Holdings {
    /// No operation.
    pub fn new() -> Holdings {
        Holdings::default()
    }

    /// Builds the set from holdings already checked (a decoded snapshot).
    pub(crate) fn from_holdings(
        holdings: impl IntoIterator<Item = (OperationId, Holding)>,
    ) -> Holdings {
        let mut set = Holdings::new();
        for (operation, holding) in holdings {
            set.by_deadline.insert((holding.until, operation.clone()));
            set.by_operation.insert(operation, holding);
        }
        set
    }

    /// How many operations are known.
    pub fn len(&self) -> usize {
        self.by_operation.len()
    }

    /// Whether no operation is known.
    pub fn is_empty(&self) -> bool {
        self.by_operation.is_empty()
    }

    /// The holding of an operation, if the state still knows it.
    pub fn get(&self, operation: &str) -> Option<&Holding> {
        self.by_operation.get(operation)
    }

    /// Every operation known, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&OperationId, &Holding)> {
        self.by_operation.iter()
    }

    /// Forgets every holding whose deadline is before `now`.
    pub(crate) fn expire(&mut self, now: u64) {
        while let Some((until, _)) = self.by_deadline.first()
            && *until < now
        {
            let Some((_, operation)) = self.by_deadline.pop_first() else {
                break;
            };
            self.by_operation.remove(operation.as_str());
        }
    }

    /// The holding of `operation`, created empty if unknown, its deadline
    /// moved to `until` if that is later.
    pub(crate) fn entry(&mut self, operation: &str, until: u64) -> &mut Holding {
        let id = match self.by_operation.get_key_value(operation) {
            Some((id, _)) => id.clone(),
            None => OperationId::checked(operation),
        };
        let holding = self.by_operation.entry(id.clone()).or_insert_with(|| {
            self.by_deadline.insert((until, id.clone()));
            Holding {
                units: Vec::new(),
                until,
                rolled_back: false,
            }
        });
        if until > holding.until {
            self.by_deadline.remove(&(holding.until, id.clone()));
            self.by_deadline.insert((until, id));
            holding.until = until;
        }
        holding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdings_expire_by_deadline_only() {
        let mut set = Holdings::new();
        set.entry("a", 100).add(3);
        set.entry("b", 200).add(1);
        set.entry("a", 50).add(3);
        assert_eq!(
            set.get("a").map(|h| (h.until(), h.units())),
            Some((100, &[(3, 2)][..]))
        );
        set.expire(100);
        assert_eq!(set.len(), 2, "a deadline equal to the time still holds");
        set.expire(101);
        assert!(set.get("a").is_none());
        assert_eq!(set.get("b").map(Holding::total), Some(1));
        set.entry("b", 300);
        set.expire(250);
        assert_eq!(set.get("b").map(Holding::until), Some(300));
    }

    #[test]
    fn units_stay_sorted_by_position() {
        let mut set = Holdings::new();
        let holding = set.entry("op", 1);
        for position in [5, 1, 5, 3, 1, 1] {
            holding.add(position);
        }
        assert_eq!(holding.units(), &[(1, 3), (3, 1), (5, 2)]);
        assert_eq!(holding.total(), 6);
    }
}
