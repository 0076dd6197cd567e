//! Pool configuration: the body of a create-pool request, and its validation.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::fnv::fnv1a;
use crate::pool::columns::Column;
use crate::pool::id::{IdError, ItemId, PoolId};
use crate::pool::rules::Rules;

/// The most items a pool holds.
pub const MAX_ITEMS: usize = 1 << 20;

/// The longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 128;

/// The snapshot interval a pool gets when its configuration names none.
pub const DEFAULT_SNAPSHOT_EVERY: u32 = 32;

/// The longest snapshot interval.
pub const MAX_SNAPSHOT_EVERY: u32 = 1 << 20;

/// How an item's chance is computed from its weight and stock.
///
/// The chance of an item is its *effective weight* over the sum of the
/// effective weights of all items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Like tickets in a drum: a limited item holds `weight` tickets per unit
    /// of remaining stock (with the default weight of 1, its chance is
    /// proportional to its remaining stock), and an unlimited item holds a
    /// constant `weight` tickets that go back in the drum after each draw.
    Stock,
    /// A fixed weight: an item's effective weight is its `weight` while it has
    /// stock (always, if unlimited), and zero once it runs out.
    Weight,
}

/// How many units of an item there are: JSON `5` or `null` (unlimited).
///
/// The field must be present in a configuration: a forgotten stock must
/// not silently mean an endless supply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stock {
    /// A fixed number of units.
    Limited(u64),
    /// Never runs out: a "no prize" or consolation item.
    Unlimited,
}

impl Serialize for Stock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Stock::Limited(units) => serializer.serialize_u64(*units),
            Stock::Unlimited => serializer.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for Stock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Stock, D::Error> {
        struct StockVisitor;

        impl serde::de::Visitor<'_> for StockVisitor {
            type Value = Stock;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer, or null for unlimited stock")
            }

            fn visit_u64<E: serde::de::Error>(self, units: u64) -> Result<Stock, E> {
                Ok(Stock::Limited(units))
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<Stock, E> {
                Ok(Stock::Unlimited)
            }

            fn visit_none<E: serde::de::Error>(self) -> Result<Stock, E> {
                Ok(Stock::Unlimited)
            }
        }

        // `deserialize_any`, not `deserialize_option`: serde treats a missing
        // field as `None` for option-like types, and the stock must be explicit.
        deserializer.deserialize_any(StockVisitor)
    }
}

fn one() -> u64 {
    1
}

/// One item of a pool, as configured.
///
/// JSON: `{"id":"gold","weight":1,"stock":5}`; `weight` defaults to 1,
/// `stock` is required (`null` for unlimited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemConfig {
    /// The item's id: a plain id other than `FAILED`, unique in the pool.
    pub id: String,
    /// The item's weight, at least 1 (see [`Mode`]).
    #[serde(default = "one")]
    pub weight: u64,
    /// The item's initial stock.
    pub stock: Stock,
}

fn latest_rules() -> u32 {
    Rules::LATEST.version()
}

fn default_snapshot_every() -> u32 {
    DEFAULT_SNAPSHOT_EVERY
}

/// A pool as configured: the body of a create-pool request.
///
/// It may be invalid: [`PoolConfig::validate`] says what is wrong, naming the
/// field, and [`ValidConfig`] is the proof that a configuration was checked.
///
/// ```
/// use tombola_core::pool::{Mode, PoolConfig, Stock};
///
/// let config: PoolConfig = serde_json::from_str(r#"{
///     "id": "summer", "name": "Summer", "mode": "stock",
///     "items": [
///         {"id": "gold", "stock": 5},
///         {"id": "none", "weight": 10, "stock": null}
///     ]
/// }"#)?;
/// assert_eq!(config.mode, Mode::Stock);
/// assert_eq!(config.rules, 1);
/// assert_eq!(config.snapshot_every, 32);
/// assert_eq!(config.items[0].weight, 1);
/// assert_eq!(config.items[1].stock, Stock::Unlimited);
/// config.validate()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// The pool's id: a plain id.
    pub id: String,
    /// The display name: 1 to 128 characters, no control characters.
    pub name: String,
    /// How chances are computed.
    pub mode: Mode,
    /// The rules version draws are computed under; defaults to the latest.
    #[serde(default = "latest_rules")]
    pub rules: u32,
    /// How many log entries between snapshots, 1 to 2²⁰; defaults to 32.
    #[serde(default = "default_snapshot_every")]
    pub snapshot_every: u32,
    /// Rules 2 only: rotate the server seed after this many draws under it;
    /// 0 (the default) rotates only when the operator asks. It is written
    /// in the pool's COMMIT entry, not in its CREATE.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rotate_every: u32,
    /// The items, 1 to 2²⁰ of them, in the order draws walk them.
    pub items: Vec<ItemConfig>,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// The field of a [`PoolConfig`] that an error is about. Displays as a path:
/// `id`, `items[2].weight`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigField {
    /// `id`
    Id,
    /// `name`
    Name,
    /// `rules`
    Rules,
    /// `snapshot_every`
    SnapshotEvery,
    /// `items`
    Items,
    /// `rotate_every`
    RotateEvery,
    /// `items[i].id`
    ItemId(usize),
    /// `items[i].weight`
    ItemWeight(usize),
    /// `items[i].stock`
    ItemStock(usize),
}

impl ConfigField {
    /// The index of the item the field belongs to, if any.
    pub fn item(self) -> Option<usize> {
        match self {
            ConfigField::ItemId(index)
            | ConfigField::ItemWeight(index)
            | ConfigField::ItemStock(index) => Some(index),
            _ => None,
        }
    }
}

impl fmt::Display for ConfigField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigField::Id => f.write_str("id"),
            ConfigField::Name => f.write_str("name"),
            ConfigField::Rules => f.write_str("rules"),
            ConfigField::SnapshotEvery => f.write_str("snapshot_every"),
            ConfigField::Items => f.write_str("items"),
            ConfigField::RotateEvery => f.write_str("rotate_every"),
            ConfigField::ItemId(index) => write!(f, "items[{index}].id"),
            ConfigField::ItemWeight(index) => write!(f, "items[{index}].weight"),
            ConfigField::ItemStock(index) => write!(f, "items[{index}].stock"),
        }
    }
}

/// What is wrong with a configuration field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfigProblem {
    /// An id that is not a valid id.
    #[error("id {0}")]
    Id(IdError),
    /// An empty display name.
    #[error("is empty")]
    EmptyName,
    /// A display name over [`MAX_NAME_CHARS`] characters.
    #[error("is longer than {MAX_NAME_CHARS} characters")]
    NameTooLong,
    /// A control character (newline, tab...) in the display name.
    #[error("has a control character at byte {at}")]
    ControlChar {
        /// Byte offset of the character.
        at: usize,
    },
    /// A rules version that was never released.
    #[error("unknown rules version {0}")]
    UnknownRules(u32),
    /// A snapshot interval outside 1..=[`MAX_SNAPSHOT_EVERY`].
    #[error("must be between 1 and {MAX_SNAPSHOT_EVERY}")]
    SnapshotEveryOutOfRange,
    /// No items at all.
    #[error("must hold at least one item")]
    NoItems,
    /// More than [`MAX_ITEMS`] items.
    #[error("must hold at most {MAX_ITEMS} items")]
    TooManyItems,
    /// The same item id twice.
    #[error("repeats the id of items[{first}]")]
    DuplicateId {
        /// The index of the first item with this id.
        first: usize,
    },
    /// A weight of zero.
    #[error("must be at least 1")]
    ZeroWeight,
    /// The total weight of the pool, counted up to this item, exceeds
    /// `u64::MAX` (in stock mode, weight times stock counts).
    #[error("makes the pool's total weight exceed u64::MAX")]
    TotalOverflow,
    /// A rotation interval on a pool that is not under rules 2.
    #[error("needs rules 2, which commit to server seeds")]
    RotationNeedsRules2,
}

/// An invalid [`PoolConfig`]: the field at fault and what is wrong with it.
///
/// ```
/// use tombola_core::pool::{ConfigField, ConfigProblem, PoolConfig};
///
/// let config: PoolConfig = serde_json::from_str(r#"{
///     "id": "p", "name": "P", "mode": "weight",
///     "items": [{"id": "a", "stock": 1}, {"id": "a", "stock": 2}]
/// }"#)?;
/// let error = config.validate().unwrap_err();
/// assert_eq!(error.field, ConfigField::ItemId(1));
/// assert_eq!(error.problem, ConfigProblem::DuplicateId { first: 0 });
/// assert_eq!(error.to_string(), "items[1].id: repeats the id of items[0]");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ConfigError {
    /// The field at fault.
    pub field: ConfigField,
    /// What is wrong with it.
    pub problem: ConfigProblem,
}

impl ConfigError {
    fn new(field: ConfigField, problem: ConfigProblem) -> ConfigError {
        ConfigError { field, problem }
    }
}

/// An item of a checked configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The item's id.
    pub id: ItemId,
    /// Its weight, at least 1.
    pub weight: u64,
    /// Its initial stock.
    pub stock: Stock,
}

// An item inside a `ValidConfig`: its id is `names[start..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spec {
    start: u32,
    end: u32,
    weight: u64,
    stock: Stock,
}

// The items' specs: built from a configuration, or read in place from a
// large pool's snapshot.
#[derive(Debug, Clone)]
enum Specs {
    Owned(Vec<Spec>),
    // Each id's end in the names, each weight, each initial stock (all ones
    // for unlimited); one number per item in each.
    Columns {
        ends: Column,
        weights: Column,
        stocks: Column,
    },
}

impl Specs {
    fn len(&self) -> usize {
        match self {
            Specs::Owned(specs) => specs.len(),
            Specs::Columns { ends, .. } => ends.len() as usize,
        }
    }

    fn get(&self, position: usize) -> Option<Spec> {
        (position < self.len()).then(|| self.spec(position))
    }

    // The spec at a position below `len`.
    fn spec(&self, position: usize) -> Spec {
        match self {
            Specs::Owned(specs) => specs[position],
            Specs::Columns {
                ends,
                weights,
                stocks,
            } => {
                // Below the column's length, a u32; ends are checked against
                // the names' length, a u32 too.
                let index = position as u32;
                Spec {
                    start: index
                        .checked_sub(1)
                        .map_or(0, |before| ends.get(before) as u32),
                    end: ends.get(index) as u32,
                    weight: weights.get(index),
                    stock: stocks
                        .get_some(index)
                        .map_or(Stock::Unlimited, Stock::Limited),
                }
            }
        }
    }

    fn iter(&self) -> impl ExactSizeIterator<Item = Spec> + '_ {
        (0..self.len()).map(|position| self.spec(position))
    }
}

const EMPTY: u32 = u32::MAX;

/// A checked pool configuration, with its items indexed by id. The only ways
/// to build one check every rule of [`PoolConfig::validate`], so holding one
/// proves they hold (a configuration read from a large pool's snapshot
/// leaves its items' rules to the snapshot's writer, see
/// [`snapshot`](crate::pool::snapshot)).
///
/// Read on every request (a snapshot holds one), so it is laid out for a
/// cheap build: all item ids in one buffer, the items' numbers in a vector
/// or in the snapshot's own columns, and an open-addressing index of
/// positions hashed with FNV-1a (deterministic, unlike the standard
/// hasher), built on the first lookup by id when the configuration was read
/// from columns, since a draw never needs it.
#[derive(Debug, Clone)]
pub struct ValidConfig {
    pool: PoolId,
    name: String,
    mode: Mode,
    rules: Rules,
    snapshot_every: u32,
    names: Arc<str>,
    specs: Specs,
    // Positions by hash of their id, `EMPTY` where free; a power of two
    // at least twice the item count, so probes stay short.
    index: OnceLock<Vec<u32>>,
}

impl PoolConfig {
    /// Checks every rule, in field order, and reports the first broken one.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the field when: an id is not a plain id (or an
    /// item is called `FAILED`); the name is empty, too long or has a control
    /// character; the rules version is unknown; `snapshot_every` is out of
    /// range; there are no items or too many; an item id repeats; a weight is
    /// zero; the total weight does not fit in a `u64`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.checked().map(drop)
    }

    fn checked(&self) -> Result<ValidConfig, ConfigError> {
        if self.rotate_every > 0 && Rules::from_version(self.rules) != Some(Rules::V2) {
            return Err(ConfigError::new(
                ConfigField::RotateEvery,
                ConfigProblem::RotationNeedsRules2,
            ));
        }
        let items = self
            .items
            .iter()
            .map(|item| (item.id.as_str(), item.weight, item.stock));
        ValidConfig::build(
            &self.id,
            &self.name,
            self.mode,
            self.rules,
            self.snapshot_every,
            items,
        )
    }
}

/// What a large pool's snapshot holds of its configuration: the fields,
/// every id in one text, and the items' columns (see
/// [`snapshot`](crate::pool::snapshot)).
pub(crate) struct ColumnParts<'a> {
    pub(crate) pool: &'a str,
    pub(crate) name: &'a str,
    pub(crate) mode: Mode,
    pub(crate) rules: u32,
    pub(crate) snapshot_every: u32,
    pub(crate) names: &'a str,
    pub(crate) ends: Column,
    pub(crate) weights: Column,
    pub(crate) stocks: Column,
}

impl ValidConfig {
    /// Validates a configuration (see [`PoolConfig::validate`]).
    ///
    /// # Errors
    ///
    /// The first broken rule, as [`PoolConfig::validate`] reports it.
    pub fn new(config: PoolConfig) -> Result<ValidConfig, ConfigError> {
        config.checked()
    }

    // Checks and builds from borrowed parts, so that decoders need not
    // allocate a `PoolConfig` first. `items` reports its exact length.
    pub(crate) fn build<'a, I>(
        pool: &str,
        name: &str,
        mode: Mode,
        rules: u32,
        snapshot_every: u32,
        items: I,
    ) -> Result<ValidConfig, ConfigError>
    where
        I: ExactSizeIterator<Item = (&'a str, u64, Stock)>,
    {
        let count = items.len();
        let (pool, rules) = check_header(pool, name, rules, snapshot_every, count)?;
        let mut names = String::with_capacity(count * 8);
        let mut specs: Vec<Spec> = Vec::with_capacity(count);
        let mut index = vec![EMPTY; (count * 2).next_power_of_two()];
        let mut total = 0u64;
        for (position, (id, weight, stock)) in items.enumerate() {
            check_id(position, id)?;
            // Ids are at most 64 bytes and there are at most MAX_ITEMS of
            // them: offsets and positions fit in u32.
            let start = names.len() as u32;
            names.push_str(id);
            let spec = Spec {
                start,
                end: names.len() as u32,
                weight,
                stock,
            };
            specs.push(spec);
            if let Some(first) = insert(&mut index, &names, |p| specs[p as usize], position as u32)
            {
                return Err(ConfigError::new(
                    ConfigField::ItemId(position),
                    ConfigProblem::DuplicateId {
                        first: first as usize,
                    },
                ));
            }
            check_numbers(mode, position, weight, stock, &mut total)?;
        }
        Ok(ValidConfig {
            pool,
            name: name.to_owned(),
            mode,
            rules,
            snapshot_every,
            names: Arc::from(names),
            specs: Specs::Owned(specs),
            index: OnceLock::from(index),
        })
    }

    // Builds from a large pool's snapshot, whose columns are read in place:
    // the fields are checked as `build` checks them, the items are not
    // (their rules are the writer's, see `snapshot`), so that reading costs
    // nothing per item.
    pub(crate) fn from_columns(parts: ColumnParts<'_>) -> Result<ValidConfig, ConfigError> {
        let ColumnParts {
            pool,
            name,
            mode,
            rules,
            snapshot_every,
            names,
            ends,
            weights,
            stocks,
        } = parts;
        let count = ends.len() as usize;
        let (pool, rules) = check_header(pool, name, rules, snapshot_every, count)?;
        Ok(ValidConfig {
            pool,
            name: name.to_owned(),
            mode,
            rules,
            snapshot_every,
            names: Arc::from(names),
            specs: Specs::Columns {
                ends,
                weights,
                stocks,
            },
            index: OnceLock::new(),
        })
    }

    fn index(&self) -> &[u32] {
        self.index.get_or_init(|| {
            let count = self.specs.len();
            let mut index = vec![EMPTY; (count * 2).next_power_of_two()];
            // At most MAX_ITEMS positions: u32. A repeated id (which no
            // build of the core writes) keeps its first position.
            for position in 0..count as u32 {
                let _first = insert(
                    &mut index,
                    &self.names,
                    |p| self.specs.spec(p as usize),
                    position,
                );
            }
            index
        })
    }

    /// The pool id.
    pub fn pool(&self) -> &PoolId {
        &self.pool
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How chances are computed.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The rules version.
    pub fn rules(&self) -> Rules {
        self.rules
    }

    /// How many log entries between snapshots.
    pub fn snapshot_every(&self) -> u32 {
        self.snapshot_every
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// Whether there are no items: never true of a valid configuration.
    pub fn is_empty(&self) -> bool {
        self.specs.len() == 0
    }

    /// The items, in configuration order.
    pub fn items(&self) -> impl ExactSizeIterator<Item = Item> + '_ {
        self.specs.iter().map(|spec| self.item_of(spec))
    }

    /// The item at a position in configuration order.
    pub fn item(&self, position: u32) -> Option<Item> {
        self.specs
            .get(position as usize)
            .map(|spec| self.item_of(spec))
    }

    /// The id of the item at a position, cheaply (a reference count).
    pub fn id(&self, position: u32) -> Option<ItemId> {
        let spec = self.specs.get(position as usize)?;
        Some(ItemId::in_buffer(&self.names, spec.start, spec.end))
    }

    /// The position of an item in configuration order.
    pub fn position(&self, item: &str) -> Option<u32> {
        let index = self.index();
        let mask = index.len() - 1;
        let mut slot = fnv1a(item.as_bytes()) as usize & mask;
        loop {
            match index[slot] {
                EMPTY => return None,
                position if id_at(&self.names, self.specs.spec(position as usize)) == item => {
                    return Some(position);
                }
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    // Id, weight and initial stock of every item, without counting
    // references: for encoders.
    pub(crate) fn parts(&self) -> impl ExactSizeIterator<Item = (&str, u64, Stock)> + '_ {
        self.specs
            .iter()
            .map(|spec| (id_at(&self.names, spec), spec.weight, spec.stock))
    }

    fn item_of(&self, spec: Spec) -> Item {
        Item {
            id: ItemId::in_buffer(&self.names, spec.start, spec.end),
            weight: spec.weight,
            stock: spec.stock,
        }
    }

    /// The configuration, as a create-pool body.
    pub fn to_config(&self) -> PoolConfig {
        PoolConfig {
            id: self.pool.to_string(),
            name: self.name.clone(),
            mode: self.mode,
            rules: self.rules.version(),
            snapshot_every: self.snapshot_every,
            rotate_every: 0,
            items: self
                .parts()
                .map(|(id, weight, stock)| ItemConfig {
                    id: id.to_owned(),
                    weight,
                    stock,
                })
                .collect(),
        }
    }
}

impl PartialEq for ValidConfig {
    fn eq(&self, other: &ValidConfig) -> bool {
        // Item by item, not buffer by buffer: the index is derived from the
        // items, and where an id's text sits in the buffer is not part of
        // the configuration.
        (
            &self.pool,
            &self.name,
            self.mode,
            self.rules,
            self.snapshot_every,
        ) == (
            &other.pool,
            &other.name,
            other.mode,
            other.rules,
            other.snapshot_every,
        ) && self.len() == other.len()
            && self.parts().eq(other.parts())
    }
}

impl Eq for ValidConfig {}

impl TryFrom<PoolConfig> for ValidConfig {
    type Error = ConfigError;

    fn try_from(config: PoolConfig) -> Result<ValidConfig, ConfigError> {
        ValidConfig::new(config)
    }
}

fn id_at(names: &str, spec: Spec) -> &str {
    names
        .get(spec.start as usize..spec.end as usize)
        .unwrap_or_default()
}

// Inserts the id at `position` into the index, unless an earlier position
// has the same id: then that position.
fn insert(
    index: &mut [u32],
    names: &str,
    spec: impl Fn(u32) -> Spec,
    position: u32,
) -> Option<u32> {
    let id = id_at(names, spec(position));
    let mask = index.len() - 1;
    let mut slot = fnv1a(id.as_bytes()) as usize & mask;
    loop {
        match index[slot] {
            EMPTY => {
                index[slot] = position;
                return None;
            }
            first if id_at(names, spec(first)) == id => return Some(first),
            _ => slot = (slot + 1) & mask,
        }
    }
}

// The rules on a configuration's fields other than its items.
fn check_header(
    pool: &str,
    name: &str,
    rules: u32,
    snapshot_every: u32,
    count: usize,
) -> Result<(PoolId, Rules), ConfigError> {
    let pool = PoolId::new(pool)
        .map_err(|error| ConfigError::new(ConfigField::Id, ConfigProblem::Id(error)))?;
    check_name(name).map_err(|problem| ConfigError::new(ConfigField::Name, problem))?;
    let rules = Rules::from_version(rules).ok_or(ConfigError::new(
        ConfigField::Rules,
        ConfigProblem::UnknownRules(rules),
    ))?;
    if !(1..=MAX_SNAPSHOT_EVERY).contains(&snapshot_every) {
        return Err(ConfigError::new(
            ConfigField::SnapshotEvery,
            ConfigProblem::SnapshotEveryOutOfRange,
        ));
    }
    if count == 0 {
        return Err(ConfigError::new(ConfigField::Items, ConfigProblem::NoItems));
    }
    if count > MAX_ITEMS {
        return Err(ConfigError::new(
            ConfigField::Items,
            ConfigProblem::TooManyItems,
        ));
    }
    Ok((pool, rules))
}

fn check_id(position: usize, id: &str) -> Result<(), ConfigError> {
    ItemId::check(id)
        .map_err(|error| ConfigError::new(ConfigField::ItemId(position), ConfigProblem::Id(error)))
}

// An item's weight, and its share of the total weight, added to `total`.
fn check_numbers(
    mode: Mode,
    position: usize,
    weight: u64,
    stock: Stock,
    total: &mut u64,
) -> Result<(), ConfigError> {
    if weight == 0 {
        return Err(ConfigError::new(
            ConfigField::ItemWeight(position),
            ConfigProblem::ZeroWeight,
        ));
    }
    let (tickets, field) = match (mode, stock) {
        (Mode::Stock, Stock::Limited(units)) => {
            (weight.checked_mul(units), ConfigField::ItemStock(position))
        }
        // In weight mode the bound is the sum of all weights, so that
        // restocking an item that ran out can never overflow.
        _ => (Some(weight), ConfigField::ItemWeight(position)),
    };
    *total = tickets
        .and_then(|tickets| total.checked_add(tickets))
        .ok_or(ConfigError::new(field, ConfigProblem::TotalOverflow))?;
    Ok(())
}

fn check_name(name: &str) -> Result<(), ConfigProblem> {
    if name.is_empty() {
        return Err(ConfigProblem::EmptyName);
    }
    if let Some((at, _)) = name.char_indices().find(|(_, c)| c.is_control()) {
        return Err(ConfigProblem::ControlChar { at });
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ConfigProblem::NameTooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, weight: u64, stock: Stock) -> ItemConfig {
        ItemConfig {
            id: id.to_owned(),
            weight,
            stock,
        }
    }

    fn config(mode: Mode, items: Vec<ItemConfig>) -> PoolConfig {
        PoolConfig {
            id: "pool".to_owned(),
            name: "A pool".to_owned(),
            mode,
            rules: 1,
            snapshot_every: 32,
            rotate_every: 0,
            items,
        }
    }

    fn error_of(config: &PoolConfig) -> (String, ConfigProblem) {
        let error = config.validate().unwrap_err();
        (error.field.to_string(), error.problem)
    }

    #[test]
    fn json_shape_and_defaults() {
        let text = r#"{"id":"summer","name":"Summer","mode":"stock","rules":1,"snapshot_every":32,"items":[{"id":"gold","weight":1,"stock":5},{"id":"none","weight":10,"stock":null}]}"#;
        let parsed: PoolConfig = serde_json::from_str(text).unwrap();
        assert_eq!(
            parsed,
            config(
                Mode::Stock,
                vec![
                    item("gold", 1, Stock::Limited(5)),
                    item("none", 10, Stock::Unlimited)
                ]
            )
            .with_names("summer", "Summer")
        );
        assert_eq!(serde_json::to_string(&parsed).unwrap(), text);
        let short: PoolConfig = serde_json::from_str(
            r#"{"id":"summer","name":"Summer","mode":"stock","items":[{"id":"gold","stock":5},{"id":"none","weight":10,"stock":null}]}"#,
        )
        .unwrap();
        assert_eq!(short, parsed);
    }

    impl PoolConfig {
        fn with_names(mut self, id: &str, name: &str) -> PoolConfig {
            self.id = id.to_owned();
            self.name = name.to_owned();
            self
        }
    }

    #[test]
    fn json_refuses_unknown_fields_and_missing_stock() {
        let unknown = r#"{"id":"p","name":"P","mode":"stock","items":[],"colour":1}"#;
        assert!(
            serde_json::from_str::<PoolConfig>(unknown)
                .unwrap_err()
                .to_string()
                .contains("unknown field `colour`")
        );
        let unknown_item =
            r#"{"id":"p","name":"P","mode":"stock","items":[{"id":"a","stock":1,"odds":2}]}"#;
        assert!(
            serde_json::from_str::<PoolConfig>(unknown_item)
                .unwrap_err()
                .to_string()
                .contains("unknown field `odds`")
        );
        let no_stock = r#"{"id":"p","name":"P","mode":"stock","items":[{"id":"a"}]}"#;
        assert!(
            serde_json::from_str::<PoolConfig>(no_stock)
                .unwrap_err()
                .to_string()
                .contains("missing field `stock`")
        );
        let negative = r#"{"id":"p","name":"P","mode":"stock","items":[{"id":"a","stock":-1}]}"#;
        assert!(
            serde_json::from_str::<PoolConfig>(negative)
                .unwrap_err()
                .to_string()
                .contains("non-negative integer")
        );
        let bad_mode = r#"{"id":"p","name":"P","mode":"odds","items":[]}"#;
        assert!(
            serde_json::from_str::<PoolConfig>(bad_mode)
                .unwrap_err()
                .to_string()
                .contains("unknown variant `odds`")
        );
    }

    #[test]
    fn every_rule_names_its_field() {
        let good = config(
            Mode::Weight,
            vec![
                item("a", 1, Stock::Limited(1)),
                item("b", 2, Stock::Unlimited),
            ],
        );
        good.validate().unwrap();

        let mut bad = good.clone();
        bad.id = "a b".into();
        assert_eq!(
            error_of(&bad),
            (
                "id".into(),
                ConfigProblem::Id(IdError::InvalidChar { at: 1, found: ' ' })
            )
        );

        let mut bad = good.clone();
        bad.name = String::new();
        assert_eq!(error_of(&bad), ("name".into(), ConfigProblem::EmptyName));
        bad.name = "é".repeat(129);
        assert_eq!(error_of(&bad), ("name".into(), ConfigProblem::NameTooLong));
        bad.name = "é".repeat(128);
        bad.validate().unwrap();
        bad.name = "two\nlines".into();
        assert_eq!(
            error_of(&bad),
            ("name".into(), ConfigProblem::ControlChar { at: 3 })
        );

        let mut bad = good.clone();
        bad.rules = 9;
        assert_eq!(
            error_of(&bad),
            ("rules".into(), ConfigProblem::UnknownRules(9))
        );

        let mut bad = good.clone();
        bad.snapshot_every = 0;
        assert_eq!(
            error_of(&bad),
            (
                "snapshot_every".into(),
                ConfigProblem::SnapshotEveryOutOfRange
            )
        );
        bad.snapshot_every = MAX_SNAPSHOT_EVERY + 1;
        assert_eq!(
            error_of(&bad),
            (
                "snapshot_every".into(),
                ConfigProblem::SnapshotEveryOutOfRange
            )
        );

        let mut bad = good.clone();
        bad.items.clear();
        assert_eq!(error_of(&bad), ("items".into(), ConfigProblem::NoItems));

        let mut bad = good.clone();
        bad.items.push(item("FAILED", 1, Stock::Unlimited));
        assert_eq!(
            error_of(&bad),
            ("items[2].id".into(), ConfigProblem::Id(IdError::Reserved))
        );

        let mut bad = good.clone();
        bad.items.push(item("b", 1, Stock::Unlimited));
        assert_eq!(
            error_of(&bad),
            (
                "items[2].id".into(),
                ConfigProblem::DuplicateId { first: 1 }
            )
        );

        let mut bad = good.clone();
        bad.items[1].weight = 0;
        assert_eq!(
            error_of(&bad),
            ("items[1].weight".into(), ConfigProblem::ZeroWeight)
        );
    }

    #[test]
    fn too_many_items_is_refused() {
        let items = vec![item("x", 1, Stock::Unlimited); MAX_ITEMS + 1];
        // The count is checked before the (duplicate) ids.
        assert_eq!(
            error_of(&config(Mode::Weight, items)),
            ("items".into(), ConfigProblem::TooManyItems)
        );
    }

    #[test]
    fn totals_must_fit_in_u64() {
        let half = u64::MAX / 2 + 1;
        // Weight mode: the sum of weights, whatever the stock.
        let weights = config(
            Mode::Weight,
            vec![
                item("a", half, Stock::Limited(0)),
                item("b", half, Stock::Limited(0)),
            ],
        );
        assert_eq!(
            error_of(&weights),
            ("items[1].weight".into(), ConfigProblem::TotalOverflow)
        );
        // Stock mode: weight times stock, and unlimited items count their weight.
        let stock = config(Mode::Stock, vec![item("a", 2, Stock::Limited(half))]);
        assert_eq!(
            error_of(&stock),
            ("items[0].stock".into(), ConfigProblem::TotalOverflow)
        );
        let stock = config(
            Mode::Stock,
            vec![
                item("a", 1, Stock::Limited(u64::MAX)),
                item("b", 1, Stock::Unlimited),
            ],
        );
        assert_eq!(
            error_of(&stock),
            ("items[1].weight".into(), ConfigProblem::TotalOverflow)
        );
        let fits = config(
            Mode::Stock,
            vec![
                item("a", 1, Stock::Limited(u64::MAX - 1)),
                item("b", 1, Stock::Unlimited),
            ],
        );
        fits.validate().unwrap();
    }

    #[test]
    fn a_valid_config_indexes_its_items() {
        let valid = ValidConfig::new(config(
            Mode::Stock,
            vec![
                item("a", 1, Stock::Limited(3)),
                item("b", 1, Stock::Unlimited),
            ],
        ))
        .unwrap();
        assert_eq!(valid.position("b"), Some(1));
        assert_eq!(valid.position("c"), None);
        assert_eq!(valid.id(0).map(|id| id.to_string()), Some("a".to_owned()));
        assert_eq!(valid.item(1).map(|item| item.stock), Some(Stock::Unlimited));
        assert_eq!(valid.item(2), None);
        assert_eq!((valid.len(), valid.is_empty()), (2, false));
        assert_eq!(
            valid.to_config(),
            config(
                Mode::Stock,
                vec![
                    item("a", 1, Stock::Limited(3)),
                    item("b", 1, Stock::Unlimited)
                ]
            )
        );
        assert_eq!(valid.pool().as_str(), "pool");
        assert_eq!(valid.rules(), Rules::V1);
        assert_eq!(ConfigField::ItemStock(4).item(), Some(4));
        assert_eq!(ConfigField::Name.item(), None);
    }

    #[test]
    fn a_rotation_interval_needs_rules_2() {
        let mut pool = config(Mode::Stock, vec![item("a", 1, Stock::Limited(1))]);
        pool.rotate_every = 10;
        assert_eq!(
            pool.validate(),
            Err(ConfigError::new(
                ConfigField::RotateEvery,
                ConfigProblem::RotationNeedsRules2
            ))
        );
        pool.rules = 2;
        assert_eq!(pool.validate(), Ok(()));
        let json = serde_json::to_string(&pool).expect("serializes");
        assert!(json.contains(r#""rotate_every":10"#), "{json}");
    }
}
