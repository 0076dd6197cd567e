//! A pool's state and how each entry changes it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::pool::config::{Mode, Stock, ValidConfig};
use std::num::NonZeroU64;

use crate::pool::codec::Line;
use crate::pool::columns::Column;
use crate::pool::entry::Entry;
use crate::pool::holding::{Holding, Holdings};
use crate::pool::id::{ItemId, PoolId};
use crate::pool::outcome::{FailReason, IgnoreReason, ItemCount, Outcome};
use crate::pool::provable::{Fairness, Keyring};
use crate::pool::rules::Rules;
use crate::pool::sampler::Sampler;

// One item's live numbers, kept together so that a draw touches one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) weight: u64,
    pub(crate) remaining: Stock,
}

impl Slot {
    // The item's effective weight: its tickets in the drum. `None` when it
    // does not fit in a u64.
    fn tickets(self, mode: Mode) -> Option<u64> {
        match (mode, self.remaining) {
            (_, Stock::Unlimited) => Some(self.weight),
            (Mode::Stock, Stock::Limited(units)) => self.weight.checked_mul(units),
            (Mode::Weight, Stock::Limited(0)) => Some(0),
            (Mode::Weight, Stock::Limited(_)) => Some(self.weight),
        }
    }
}

/// Every item's live numbers: a vector, or a large pool's snapshot's
/// columns read in place with the items changed since over them, so that a
/// draw from a snapshot copies nothing per item.
#[derive(Debug, Clone)]
pub(crate) enum Slots {
    Owned(Vec<Slot>),
    Columns {
        weights: Column,
        // Remaining stock, all ones for unlimited.
        remaining: Column,
        changed: BTreeMap<u32, Slot>,
    },
}

impl Slots {
    pub(crate) fn len(&self) -> usize {
        match self {
            Slots::Owned(slots) => slots.len(),
            Slots::Columns { weights, .. } => weights.len() as usize,
        }
    }

    // The slot at a position below `len`.
    #[inline]
    pub(crate) fn get(&self, position: u32) -> Slot {
        match self {
            Slots::Owned(slots) => slots[position as usize],
            Slots::Columns {
                weights,
                remaining,
                changed,
            } => changed.get(&position).copied().unwrap_or_else(|| Slot {
                weight: weights.get(position),
                remaining: remaining
                    .get_some(position)
                    .map_or(Stock::Unlimited, Stock::Limited),
            }),
        }
    }

    fn set(&mut self, position: u32, slot: Slot) {
        match self {
            Slots::Owned(slots) => slots[position as usize] = slot,
            Slots::Columns { changed, .. } => {
                changed.insert(position, slot);
            }
        }
    }

    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = Slot> + '_ {
        // At most MAX_ITEMS positions: u32.
        (0..self.len() as u32).map(|position| self.get(position))
    }
}

impl PartialEq for Slots {
    fn eq(&self, other: &Slots) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// Why units cannot be added to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddError {
    Unlimited,
    Overflow,
}

/// The total weight of a set of remaining stocks does not fit in a `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TotalOverflow;

/// Why a large pool's snapshot's columns are not a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unreadable {
    /// The remaining stocks' total weight does not fit in a `u64`.
    TotalOverflow,
    /// An item's remaining stock is unlimited and its initial stock not,
    /// or the other way round.
    UnlimitedMismatch,
}

/// The chance of drawing an item next, as an exact fraction.
///
/// JSON: `{"item":"gold","numerator":5,"denominator":15}`. A denominator of
/// zero means nothing can be drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Odds {
    /// The item.
    pub item: ItemId,
    /// Its effective weight.
    pub numerator: u64,
    /// The pool's total effective weight.
    pub denominator: u64,
}

impl Odds {
    /// The chance as a float, for display only: outcomes never use it.
    pub fn approximate(&self) -> f64 {
        if self.denominator == 0 {
            return 0.0;
        }
        // Display precision is all a float gives; the exact value is the fraction.
        self.numerator as f64 / self.denominator as f64
    }
}

/// A pool's state: its configuration, the remaining stock of each item,
/// whether it is closed, and what each multi-draw operation holds.
///
/// Invariants: the configuration is valid; the sum of the effective weights
/// fits in a `u64`; the sampler holds exactly the effective weights; every
/// holding names items of the configuration. Two states are equal when
/// their configuration, stocks, closed flag and holdings are; the rest is
/// derived from those.
#[derive(Debug, Clone)]
pub struct PoolState {
    pub(crate) config: Arc<ValidConfig>,
    pub(crate) slots: Slots,
    pub(crate) closed: bool,
    pub(crate) operations: Holdings,
    // Rules 2: the current commitment and nonce, from the first COMMIT on.
    pub(crate) fair: Option<Fairness>,
    sampler: Sampler,
    // Units of limited stock left, to tell in O(1) whether an
    // all-or-nothing draw can be filled (at most 2^20 items of u64 units).
    units: u128,
    has_unlimited: bool,
}

impl PartialEq for PoolState {
    fn eq(&self, other: &PoolState) -> bool {
        self.config == other.config
            && self.slots == other.slots
            && self.closed == other.closed
            && self.operations == other.operations
            && self.fair == other.fair
    }
}

impl Eq for PoolState {}

impl PoolState {
    /// A new pool with its initial stock.
    pub fn new(config: Arc<ValidConfig>) -> PoolState {
        let slots = config
            .parts()
            .map(|(_, weight, remaining)| Slot { weight, remaining })
            .collect();
        match PoolState::from_parts(config, slots, false, Holdings::new()) {
            Ok(state) => state,
            // ValidConfig checks exactly this total.
            Err(TotalOverflow) => {
                unreachable!("a valid configuration's initial total fits in a u64")
            }
        }
    }

    pub(crate) fn from_parts(
        config: Arc<ValidConfig>,
        slots: Vec<Slot>,
        closed: bool,
        operations: Holdings,
    ) -> Result<PoolState, TotalOverflow> {
        let mode = config.mode();
        let mut units = 0u128;
        let mut has_unlimited = false;
        for slot in slots.iter() {
            slot.tickets(mode).ok_or(TotalOverflow)?;
            match slot.remaining {
                Stock::Limited(left) => units += u128::from(left),
                Stock::Unlimited => has_unlimited = true,
            }
        }
        // Every item's tickets fit in a u64, checked just above.
        let tickets = slots.iter().map(|slot| slot.tickets(mode).unwrap_or(0));
        let sampler = Sampler::from_weights(tickets).map_err(|_| TotalOverflow)?;
        Ok(PoolState {
            config,
            slots: Slots::Owned(slots),
            closed,
            operations,
            fair: None,
            sampler,
            units,
            has_unlimited,
        })
    }

    // The state of a large pool's snapshot, its numbers read in place from
    // its columns: one pass over them, which lays out the sampler and
    // checks what draws rely on.
    pub(crate) fn from_columns(
        config: Arc<ValidConfig>,
        columns: [Column; 3],
        closed: bool,
        operations: Holdings,
    ) -> Result<PoolState, Unreadable> {
        let [weights, initial, remaining] = columns;
        let mode = config.mode();
        let mut units = 0u128;
        let mut has_unlimited = false;
        let mut broken = None;
        let tickets = (0..weights.len()).map(|position| {
            let left = remaining.get_some(position);
            if left.is_some() != initial.get_some(position).is_some() {
                broken.get_or_insert(Unreadable::UnlimitedMismatch);
            }
            let slot = Slot {
                weight: weights.get(position),
                remaining: left.map_or(Stock::Unlimited, Stock::Limited),
            };
            match left {
                Some(left) => units += u128::from(left),
                None => has_unlimited = true,
            }
            slot.tickets(mode).unwrap_or_else(|| {
                broken.get_or_insert(Unreadable::TotalOverflow);
                0
            })
        });
        let sampler = Sampler::from_weights(tickets).map_err(|_| Unreadable::TotalOverflow)?;
        if let Some(broken) = broken {
            return Err(broken);
        }
        Ok(PoolState {
            config,
            slots: Slots::Columns {
                weights,
                remaining,
                changed: BTreeMap::new(),
            },
            closed,
            operations,
            fair: None,
            sampler,
            units,
            has_unlimited,
        })
    }

    /// The configuration the pool was created with.
    pub fn config(&self) -> &ValidConfig {
        &self.config
    }

    /// The pool's id.
    pub fn id(&self) -> &PoolId {
        self.config.pool()
    }

    /// The rules version draws are computed under.
    pub fn rules(&self) -> Rules {
        self.config.rules()
    }

    /// Whether the pool is closed for draws.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The remaining stock of an item, `None` if the pool has no such item.
    pub fn stock(&self, item: &str) -> Option<Stock> {
        let position = self.config.position(item)?;
        Some(self.slots.get(position).remaining)
    }

    /// Every item with its remaining stock, in configuration order.
    pub fn stocks(&self) -> impl ExactSizeIterator<Item = (ItemId, Stock)> + '_ {
        self.config
            .items()
            .zip(self.slots.iter())
            .map(|(item, slot)| (item.id, slot.remaining))
    }

    /// What each multi-draw operation still known holds.
    pub fn operations(&self) -> &Holdings {
        &self.operations
    }

    /// What operation `operation` holds, if the state still knows it.
    pub fn holding(&self, operation: &str) -> Option<&Holding> {
        self.operations.get(operation)
    }

    /// The sum of the items' effective weights: zero when nothing can be
    /// drawn.
    pub fn total_weight(&self) -> u64 {
        self.sampler.total()
    }

    /// The exact chance of each item on the next draw, in configuration
    /// order.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tombola_core::pool::{PoolConfig, PoolState, ValidConfig};
    ///
    /// let config: PoolConfig = serde_json::from_str(r#"{"id":"p","name":"P","mode":"stock",
    ///     "items":[{"id":"gold","stock":5},{"id":"none","weight":10,"stock":null}]}"#)?;
    /// let state = PoolState::new(Arc::new(ValidConfig::new(config)?));
    /// let odds = state.odds();
    /// assert_eq!((odds[0].numerator, odds[0].denominator), (5, 15));
    /// assert_eq!((odds[1].numerator, odds[1].denominator), (10, 15));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn odds(&self) -> Vec<Odds> {
        let denominator = self.sampler.total();
        self.config
            .items()
            .zip(0u32..)
            .map(|(item, position)| Odds {
                item: item.id,
                numerator: self.sampler.weight(position).unwrap_or(0),
                denominator,
            })
            .collect()
    }

    /// Applies an entry and returns its outcome. Never fails: an entry that
    /// cannot take effect changes nothing and its outcome says why. A CREATE
    /// is ignored here, the pool existing already (see [`crate::pool::apply`] for
    /// a pool that may not exist yet).
    pub fn apply(&mut self, entry: &Entry) -> Outcome {
        self.apply_line(&entry.as_line())
    }

    pub(crate) fn apply_line(&mut self, line: &Line<'_>) -> Outcome {
        self.apply_line_keyed(line, &Keyring::new())
    }

    // As `apply_line`, with the server seeds that rules-2 draws may need.
    pub(crate) fn apply_line_keyed(&mut self, line: &Line<'_>, keys: &Keyring) -> Outcome {
        match line {
            Line::Create(_) => ignored(IgnoreReason::AlreadyCreated),
            &Line::Draw {
                count,
                seed,
                all_or_nothing,
                ..
            } => self.draw(count.get(), seed, all_or_nothing, None),
            &Line::Chunk {
                operation_id,
                count,
                seed,
                at,
                until,
                ..
            } => {
                self.operations.expire(at);
                self.chunk(operation_id, count.get(), seed, until)
            }
            &Line::Rollback {
                operation_id,
                at,
                until,
            } => {
                self.operations.expire(at);
                self.roll_back(operation_id, until)
            }
            Line::Return { items, .. } => self.give_back(items),
            &Line::Restock { item, quantity } => self.restock(item, quantity.get()),
            Line::Close if self.closed => ignored(IgnoreReason::AlreadyClosed),
            Line::Close => {
                self.closed = true;
                Outcome::Close
            }
            &Line::GivenDraw { item, .. } => self.given_draw(item),
            &Line::FairDraw {
                count,
                client_seed,
                nonce,
                all_or_nothing,
                ..
            } => self.fair_draw(count.get(), client_seed, nonce, all_or_nothing, keys),
            &Line::Commit {
                commitment,
                rotate_every,
            } => self.commit(commitment, rotate_every),
            Line::Rotate { revealed, next } => self.rotate(revealed, *next),
            &Line::FairChunk {
                operation_id,
                count,
                client_seed,
                nonce,
                at,
                until,
                ..
            } => {
                self.operations.expire(at);
                let chunk = crate::pool::provable::ChunkDraw {
                    operation: operation_id,
                    count: count.get(),
                    client_seed,
                    nonce,
                    until,
                };
                self.fair_chunk(&chunk, keys)
            }
        }
    }

    // Draws `count` items; the position of each item drawn is also pushed
    // onto `taken` when given.
    fn draw(
        &mut self,
        count: u32,
        seed: u64,
        all_or_nothing: bool,
        taken: Option<&mut Vec<u32>>,
    ) -> Outcome {
        let Some(mut rng) = self.config.rules().generator(seed) else {
            return failed_draw(Vec::new(), count, FailReason::RulesMismatch);
        };
        self.draw_from(count, all_or_nothing, taken, |bound| rng.below(bound))
    }

    // Draws `count` items with uniform integers from `below`, whatever
    // rules version makes them.
    pub(crate) fn draw_from(
        &mut self,
        count: u32,
        all_or_nothing: bool,
        mut taken: Option<&mut Vec<u32>>,
        mut below: impl FnMut(u64) -> u64,
    ) -> Outcome {
        if self.closed {
            return failed_draw(Vec::new(), count, FailReason::Closed);
        }
        if all_or_nothing && !self.has_unlimited && self.units < u128::from(count) {
            return failed_draw(Vec::new(), count, FailReason::OutOfStock);
        }
        let mut drawn = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let total = self.sampler.total();
            if total == 0 {
                break;
            }
            let Some(position) = self.sampler.find(below(total)) else {
                break;
            };
            self.take(position);
            drawn.extend(self.config.id(position));
            if let Some(taken) = taken.as_deref_mut() {
                taken.push(position);
            }
        }
        // At most `count`, a u32.
        let failed = count - drawn.len() as u32;
        if failed > 0 {
            return failed_draw(drawn, failed, FailReason::OutOfStock);
        }
        Outcome::Draw {
            drawn,
            failed: 0,
            reason: None,
        }
    }

    // A chunk draws like a partial draw, unless its operation was rolled back
    // before it; what it draws is held for the operation.
    fn chunk(&mut self, operation: &str, count: u32, seed: u64, until: u64) -> Outcome {
        self.held_draw(operation, count, until, |state, taken| {
            state.draw(count, seed, false, Some(taken))
        })
    }

    // Draws with `draw` for an operation's chunk, unless the operation was
    // rolled back before it; what it draws is held for the operation.
    pub(crate) fn held_draw(
        &mut self,
        operation: &str,
        count: u32,
        until: u64,
        draw: impl FnOnce(&mut PoolState, &mut Vec<u32>) -> Outcome,
    ) -> Outcome {
        if self.is_rolled_back(operation) {
            return failed_draw(Vec::new(), count, FailReason::RolledBack);
        }
        let mut taken = Vec::with_capacity(count as usize);
        let outcome = draw(self, &mut taken);
        let holding = self.operations.entry(operation, until);
        for position in taken {
            holding.add(position);
        }
        outcome
    }

    // Whether the operation was rolled back.
    pub(crate) fn is_rolled_back(&self, operation: &str) -> bool {
        self.operations
            .get(operation)
            .is_some_and(Holding::is_rolled_back)
    }

    // Gives back what the operation holds, and marks it rolled back so that
    // its later chunks fail.
    fn roll_back(&mut self, operation: &str, until: u64) -> Outcome {
        let holding = self.operations.entry(operation, until);
        if holding.rolled_back {
            return ignored(IgnoreReason::AlreadyRolledBack);
        }
        holding.rolled_back = true;
        let units = std::mem::take(&mut holding.units);
        let mut returned = 0u64;
        let mut ignored = Vec::new();
        for (position, count) in units {
            let Some(quantity) = NonZeroU64::new(count) else {
                continue;
            };
            match self.add(position, count) {
                Ok(_) | Err(AddError::Unlimited) => returned = returned.saturating_add(count),
                Err(AddError::Overflow) => {
                    tracing::debug!(operation, position, count, "rollback not taken back");
                    ignored.extend(
                        self.config
                            .id(position)
                            .map(|item| ItemCount { item, quantity }),
                    );
                }
            }
        }
        Outcome::Return { returned, ignored }
    }

    // Takes one unit of an item that has tickets, so a limited one has stock.
    fn take(&mut self, position: u32) {
        let slot = self.slots.get(position);
        if let Stock::Limited(units) = slot.remaining {
            let left = units - 1;
            self.slots.set(
                position,
                Slot {
                    remaining: Stock::Limited(left),
                    ..slot
                },
            );
            self.units -= 1;
            match self.config.mode() {
                Mode::Stock => self.sampler.decrease(position, slot.weight),
                Mode::Weight if left == 0 => self.sampler.decrease(position, slot.weight),
                Mode::Weight => {}
            }
        }
    }

    // The stock and tickets an item would have with `quantity` more units.
    pub(crate) fn check_add(&self, position: u32, quantity: u64) -> Result<(u64, u64), AddError> {
        let slot = self.slots.get(position);
        let Stock::Limited(units) = slot.remaining else {
            return Err(AddError::Unlimited);
        };
        let units = units.checked_add(quantity).ok_or(AddError::Overflow)?;
        let grown = Slot {
            remaining: Stock::Limited(units),
            ..slot
        };
        let tickets = grown
            .tickets(self.config.mode())
            .ok_or(AddError::Overflow)?;
        let old = self.sampler.weight(position).unwrap_or(0);
        // The total after replacing this item's tickets must fit too.
        (self.sampler.total() - old)
            .checked_add(tickets)
            .ok_or(AddError::Overflow)?;
        Ok((units, tickets))
    }

    // Adds units to a limited item; answers its new remaining stock.
    fn add(&mut self, position: u32, quantity: u64) -> Result<u64, AddError> {
        let (units, tickets) = self.check_add(position, quantity)?;
        self.sampler
            .set(position, tickets)
            .map_err(|_| AddError::Overflow)?;
        let slot = self.slots.get(position);
        self.slots.set(
            position,
            Slot {
                remaining: Stock::Limited(units),
                ..slot
            },
        );
        self.units += u128::from(quantity);
        Ok(units)
    }

    fn give_back(&mut self, items: &[(&str, NonZeroU64)]) -> Outcome {
        let mut returned = 0u64;
        let mut ignored = Vec::new();
        for &(item, quantity) in items {
            let position = self.config.position(item);
            let accepted = match position.map(|position| self.add(position, quantity.get())) {
                Some(Ok(_) | Err(AddError::Unlimited)) => true,
                None | Some(Err(AddError::Overflow)) => false,
            };
            if accepted {
                returned = returned.saturating_add(quantity.get());
                continue;
            }
            tracing::debug!(item, quantity, "return not taken back");
            // Known items reuse the pool's id; unknown ones passed the id
            // check when their line was decoded.
            let id = position
                .and_then(|position| self.config.id(position))
                .or_else(|| ItemId::new(item).ok());
            ignored.extend(id.map(|item| ItemCount { item, quantity }));
        }
        Outcome::Return { returned, ignored }
    }

    fn restock(&mut self, item: &str, quantity: u64) -> Outcome {
        if self.closed {
            return ignored(IgnoreReason::Closed);
        }
        let found = self
            .config
            .position(item)
            .and_then(|position| Some((position, self.config.id(position)?)));
        let Some((position, item)) = found else {
            return ignored(IgnoreReason::UnknownItem);
        };
        match self.add(position, quantity) {
            Ok(remaining) => Outcome::Restock { item, remaining },
            Err(AddError::Unlimited) => ignored(IgnoreReason::UnlimitedItem),
            Err(AddError::Overflow) => ignored(IgnoreReason::Overflow),
        }
    }

    // The seed's lines record an outcome decided when they were written, so
    // they are honoured as far as the stock allows, closed pool or not.
    fn given_draw(&mut self, item: Option<&str>) -> Outcome {
        let Some(item) = item else {
            return failed_draw(Vec::new(), 1, FailReason::Recorded);
        };
        let Some(position) = self.config.position(item) else {
            return failed_draw(Vec::new(), 1, FailReason::UnknownItem);
        };
        if self.slots.get(position).remaining == Stock::Limited(0) {
            return failed_draw(Vec::new(), 1, FailReason::OutOfStock);
        }
        self.take(position);
        Outcome::Draw {
            drawn: self.config.id(position).into_iter().collect(),
            failed: 0,
            reason: None,
        }
    }
}

pub(crate) fn ignored(reason: IgnoreReason) -> Outcome {
    tracing::debug!(?reason, "entry ignored");
    Outcome::Ignored { reason }
}

pub(crate) fn failed_draw(drawn: Vec<ItemId>, failed: u32, reason: FailReason) -> Outcome {
    tracing::debug!(failed, ?reason, "draws failed");
    Outcome::Draw {
        drawn,
        failed,
        reason: Some(reason),
    }
}
