//! Snapshots: a pool's state at a sequence number, in a compact binary form.
//!
//! # Format, versions 1 to 4
//!
//! ```text
//! offset   size  field
//! 0        4     magic "TMBS"
//! 4        1     format version: 1, or 2 when operations are held, or 3
//!                for a rules-2 pool with a commitment, or 4 for a pool of
//!                at least COLUMNS_FROM items
//! 5        4     payload length n, u32 little-endian
//! 9        n     payload
//! 9 + n    4     CRC-32C of bytes 0 .. 9 + n, u32 little-endian
//!
//! payload:
//!   seq              varint
//!   closed           u8: 0 or 1
//!   rules            varint
//!   mode             u8: 0 stock, 1 weight
//!   snapshot_every   varint
//!   pool id          varint length, bytes
//!   name             varint length, UTF-8 bytes
//!   item count       varint
//!   each item:
//!     id             varint length, bytes
//!     weight         varint
//!     stock          u8: 0 unlimited; 1 limited, followed by
//!       initial      varint
//!       remaining    varint
//!   version 2 only:
//!   operation count  varint, at least 1
//!   each operation, in id order:
//!     id             varint length, bytes
//!     until          varint
//!     rolled back    u8: 0 or 1
//!     held count     varint (0 when rolled back)
//!     each held item, in position order:
//!       position     varint, below the item count
//!       units        varint, at least 1
//!   version 3 only, after the items:
//!   operation count  varint, may be 0; the operations as in version 2
//!   commitment       32 bytes, SHA-256 of the server seed in force
//!   nonce            varint, the next draw's
//!   rotate every     varint, within u32
//!
//! payload, version 4 (the same fields up to the item count, then columns):
//!   seq ... name     as above
//!   item count       varint, at least COLUMNS_FROM
//!   widths           4 bytes, each 1, 2, 4 or 8: of the ends, weights,
//!                    initial stocks and remaining stocks columns
//!   ids              varint length, then every item's id, one after another
//!   ends             each item's id's end in the ids
//!   weights          each item's weight
//!   initial          each item's initial stock, all ones for unlimited
//!   remaining        each item's remaining stock, all ones for unlimited
//!   operation count  varint, may be 0; the operations as in version 2
//!   commitment?      u8: 0, or 1 followed by the commitment, nonce and
//!                    rotate every as in version 3
//! ```
//!
//! Version 3 is written only for a rules-2 pool once it has a commitment,
//! so every other state is spelt as before. It never holds a server seed.
//!
//! Version 4 is written for every pool of at least [`COLUMNS_FROM`] items
//! (unless a stock is `u64::MAX`, which no column width can tell from
//! unlimited): its columns hold little-endian numbers of the narrowest width
//! that holds them all, so that reading it borrows them in place instead of
//! parsing each item, and a draw from it touches only the items it draws
//! (see [`columns`](crate::pool::columns)). It is refused below that many
//! items, so that a state is written in one version only.
//!
//! A varint is unsigned LEB128 of at most 10 bytes, in its shortest form.
//! Every state is written one way: version 1 exactly when no operation is
//! held, so the snapshots of pools that never ran an operation are what
//! earlier builds wrote. The sequence number is the first varint of the
//! payload in both versions, where the Lua scripts read it.
//!
//! Decoding checks, in this order, the length, magic, version, payload
//! length and checksum, so a damaged snapshot is reported as exactly one of
//! those; then it parses the payload and validates the configuration and the
//! stock totals as a pool creation would. A snapshot that decodes is a state
//! that replay could have produced; anything else is a [`SnapshotError`],
//! never a wrong state.
//!
//! Version 4 is read in one pass over its numbers, with nothing allocated
//! per item, and checks what reading in place and drawing need: the
//! checksum, every field before the items (as a creation checks them), that
//! the columns fit, that the ids end where the last one does, that an
//! item's remaining stock is unlimited exactly when its initial stock is,
//! and that the remaining stocks' total weight fits in a `u64`. It leaves the
//! rules on each item (a plain id, distinct from the others; a weight of at
//! least 1) to its writer: the core writes only states that replay produced
//! from a checked creation, the checksum catches every damaged byte, and the
//! audit and recovery, which replay the log from its start, check them
//! again. A version 4 snapshot that breaks them still decodes to a state
//! that draws, counts and re-encodes without a panic, and reads narrower
//! or wider columns than its writer would choose.

use std::sync::Arc;

use crate::crc::crc32c;
use crate::pool::columns::{self, Column, WIDTHS};
use crate::pool::config::{ColumnParts, ConfigError, Mode, Stock, ValidConfig};
use crate::pool::fair::Commitment;
use crate::pool::holding::{Holding, Holdings};
use crate::pool::id::OperationId;
use crate::pool::provable::Fairness;
use crate::pool::state::{PoolState, Slot, Unreadable};

/// The magic bytes that open every snapshot.
pub const MAGIC: [u8; 4] = *b"TMBS";

/// The snapshot format version written for a state that holds no
/// operation.
pub const FORMAT_VERSION: u8 = 1;

/// The snapshot format version written for a state that holds operations.
pub const FORMAT_VERSION_OPERATIONS: u8 = 2;

/// The snapshot format version written for a rules-2 pool with a
/// commitment.
pub const FORMAT_VERSION_FAIR: u8 = 3;

/// The snapshot format version written for a pool of at least
/// [`COLUMNS_FROM`] items: its numbers in columns read in place.
pub const FORMAT_VERSION_COLUMNS: u8 = 4;

/// The fewest items a pool has for its snapshots to be written in columns
/// ([`FORMAT_VERSION_COLUMNS`]).
pub const COLUMNS_FROM: usize = 256;

const HEADER: usize = 9;
const TRAILER: usize = 4;

/// What is malformed in a snapshot payload whose checksum is right (so it
/// was written that way, not damaged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// The payload ends inside a field.
    #[error("ends inside a field")]
    Truncated,
    /// A varint longer than its shortest form.
    #[error("varint is not in its shortest form")]
    OverlongVarint,
    /// A varint past `u64::MAX`, or past the field's range.
    #[error("number is out of range")]
    OutOfRange,
    /// A byte that is not one of the field's values.
    #[error("byte {0:#04x} is not a valid value")]
    BadByte(u8),
    /// Text that is not UTF-8.
    #[error("text is not UTF-8")]
    NotUtf8,
    /// Bytes after the last item or operation.
    #[error("bytes after the last item")]
    Trailing,
    /// Operations out of id order, an item position past the items, held
    /// units out of order or zero, units held by a rolled-back operation,
    /// or a version 2 snapshot that holds no operation.
    #[error("operation holdings are not in their one spelling")]
    BadHolding,
    /// A version 3 snapshot (rules 2's commitment and nonce) of a pool
    /// under other rules.
    #[error("holds a commitment, but the pool is not under rules 2")]
    NotFair,
    /// A version 4 snapshot of fewer than [`COLUMNS_FROM`] items, or whose
    /// last id does not end where the ids do.
    #[error("columns are not in their one spelling")]
    BadColumns,
    /// An item whose remaining stock is unlimited and its initial stock
    /// not, or the other way round.
    #[error("an item's remaining stock is unlimited exactly when its initial stock is not")]
    UnlimitedMismatch,
}

/// Why bytes are not a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Shorter than a header and a checksum.
    #[error("{0} bytes is too short for a snapshot")]
    TooShort(usize),
    /// The first four bytes are not [`MAGIC`].
    #[error("not a snapshot: bad magic bytes")]
    BadMagic,
    /// A format version this build does not read.
    #[error("unsupported snapshot format version {0}")]
    UnsupportedVersion(u8),
    /// The header's payload length does not match the bytes.
    #[error("payload length {declared} does not match the {actual} bytes present")]
    LengthMismatch {
        /// The payload length in the header.
        declared: u32,
        /// The payload bytes present.
        actual: usize,
    },
    /// The checksum does not match: the bytes were damaged.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// The checksum in the snapshot.
        stored: u32,
        /// The checksum of the bytes.
        computed: u32,
    },
    /// A payload that does not follow the format.
    #[error("malformed payload at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset from the start of the snapshot.
        offset: usize,
        /// What is wrong.
        reason: Malformed,
    },
    /// A configuration that breaks a rule.
    #[error("invalid pool configuration: {0}")]
    Config(ConfigError),
    /// Remaining stocks whose total weight does not fit in a `u64`.
    #[error("the remaining stocks' total weight exceeds u64::MAX")]
    TotalOverflow,
}

/// A pool's state after the entry with sequence number `seq`.
///
/// ```
/// use tombola_core::pool::{apply, Entry, Snapshot};
///
/// let mut state = None;
/// apply(&mut state, &Entry::decode("CREATE/1 p 1 stock 32 Prizes a:1:3 b:2:*")?);
/// let snapshot = Snapshot { seq: 1, state: state.expect("created") };
/// let bytes = snapshot.encode();
/// assert_eq!(Snapshot::decode(&bytes)?, snapshot);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The sequence number of the last entry the state includes.
    pub seq: u64,
    /// The state.
    pub state: PoolState,
}

impl Snapshot {
    /// The snapshot's bytes (see the [module docs](self)).
    pub fn encode(&self) -> Vec<u8> {
        let config = self.state.config();
        let mut out = Vec::with_capacity(HEADER + 64 + config.len() * 24 + TRAILER);
        out.extend_from_slice(&MAGIC);
        let operations = &self.state.operations;
        let fair = self.state.fair;
        let columns = Widths::of(&self.state);
        out.push(match (columns, fair, operations.is_empty()) {
            (Some(_), _, _) => FORMAT_VERSION_COLUMNS,
            (None, Some(_), _) => FORMAT_VERSION_FAIR,
            (None, None, true) => FORMAT_VERSION,
            (None, None, false) => FORMAT_VERSION_OPERATIONS,
        });
        out.extend_from_slice(&[0; 4]);
        put_varint(&mut out, self.seq);
        out.push(u8::from(self.state.closed));
        put_varint(&mut out, u64::from(config.rules().version()));
        out.push(match config.mode() {
            Mode::Stock => 0,
            Mode::Weight => 1,
        });
        put_varint(&mut out, u64::from(config.snapshot_every()));
        put_bytes(&mut out, config.pool().as_str().as_bytes());
        put_bytes(&mut out, config.name().as_bytes());
        put_varint(&mut out, config.len() as u64);
        match columns {
            Some(widths) => widths.put(&mut out, &self.state),
            None => put_items(&mut out, &self.state),
        }
        if columns.is_some() || !operations.is_empty() || fair.is_some() {
            put_varint(&mut out, operations.len() as u64);
            for (id, holding) in operations.iter() {
                put_bytes(&mut out, id.as_str().as_bytes());
                put_varint(&mut out, holding.until);
                out.push(u8::from(holding.rolled_back));
                put_varint(&mut out, holding.units.len() as u64);
                for &(position, units) in &holding.units {
                    put_varint(&mut out, u64::from(position));
                    put_varint(&mut out, units);
                }
            }
        }
        if columns.is_some() {
            out.push(u8::from(fair.is_some()));
        }
        if let Some(fair) = fair {
            out.extend_from_slice(fair.commitment.as_bytes());
            put_varint(&mut out, fair.nonce);
            put_varint(&mut out, u64::from(fair.rotate_every));
        }
        // MAX_ITEMS items of at most ~100 bytes: far below 4 GiB.
        let payload = (out.len() - HEADER) as u32;
        out[5..HEADER].copy_from_slice(&payload.to_le_bytes());
        let checksum = crc32c(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Reads a snapshot.
    ///
    /// # Errors
    ///
    /// A [`SnapshotError`] saying which check failed (see the
    /// [module docs](self)). Never panics, whatever the input.
    pub fn decode(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        if bytes.len() < HEADER + TRAILER {
            return Err(SnapshotError::TooShort(bytes.len()));
        }
        if bytes[..4] != MAGIC {
            return Err(SnapshotError::BadMagic);
        }
        let version = bytes[4];
        if !matches!(
            version,
            FORMAT_VERSION
                | FORMAT_VERSION_OPERATIONS
                | FORMAT_VERSION_FAIR
                | FORMAT_VERSION_COLUMNS
        ) {
            return Err(SnapshotError::UnsupportedVersion(version));
        }
        let declared = u32::from_le_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]);
        let actual = bytes.len() - HEADER - TRAILER;
        if usize::try_from(declared).ok() != Some(actual) {
            return Err(SnapshotError::LengthMismatch { declared, actual });
        }
        let (body, trailer) = bytes.split_at(bytes.len() - TRAILER);
        let stored = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let computed = crc32c(body);
        if stored != computed {
            return Err(SnapshotError::ChecksumMismatch { stored, computed });
        }
        Reader {
            bytes: body,
            at: HEADER,
        }
        .snapshot(version)
    }
}

// Versions 1 to 3: each item in turn.
fn put_items(out: &mut Vec<u8>, state: &PoolState) {
    for ((id, weight, stock), slot) in state.config().parts().zip(state.slots.iter()) {
        put_bytes(out, id.as_bytes());
        put_varint(out, weight);
        match (stock, slot.remaining) {
            (Stock::Limited(initial), Stock::Limited(remaining)) => {
                out.push(1);
                put_varint(out, initial);
                put_varint(out, remaining);
            }
            // An item's remaining stock is unlimited exactly when its
            // initial stock is.
            _ => out.push(0),
        }
    }
}

// The widths of a version 4 snapshot's columns, in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Widths([u8; 4]);

impl Widths {
    // The narrowest widths for a state's numbers; `None` when the state is
    // not written in columns.
    fn of(state: &PoolState) -> Option<Widths> {
        let config = state.config();
        if config.len() < COLUMNS_FROM {
            return None;
        }
        let mut maxima = Maxima::default();
        for ((id, weight, stock), slot) in config.parts().zip(state.slots.iter()) {
            maxima.names += id.len() as u64;
            maxima.add(weight, stock, slot.remaining);
        }
        maxima.widths()
    }

    fn put(self, out: &mut Vec<u8>, state: &PoolState) {
        let [ends, weights, initial, remaining] = self.0;
        out.extend_from_slice(&self.0);
        let config = state.config();
        let names: usize = config.parts().map(|(id, _, _)| id.len()).sum();
        put_varint(out, names as u64);
        for (id, _, _) in config.parts() {
            out.extend_from_slice(id.as_bytes());
        }
        let mut end = 0u64;
        for (id, _, _) in config.parts() {
            end += id.len() as u64;
            columns::put(out, end, ends);
        }
        for (_, weight, _) in config.parts() {
            columns::put(out, weight, weights);
        }
        let none = |stock, width| match stock {
            Stock::Limited(units) => units,
            Stock::Unlimited => columns::ones(width),
        };
        for (_, _, stock) in config.parts() {
            columns::put(out, none(stock, initial), initial);
        }
        for slot in state.slots.iter() {
            columns::put(out, none(slot.remaining, remaining), remaining);
        }
    }
}

// The largest number of each column of a version 4 snapshot.
#[derive(Debug, Default)]
struct Maxima {
    names: u64,
    weights: u64,
    initial: u64,
    remaining: u64,
}

impl Maxima {
    fn add(&mut self, weight: u64, initial: Stock, remaining: Stock) {
        self.weights = self.weights.max(weight);
        if let Stock::Limited(units) = initial {
            self.initial = self.initial.max(units);
        }
        if let Stock::Limited(units) = remaining {
            self.remaining = self.remaining.max(units);
        }
    }

    fn widths(&self) -> Option<Widths> {
        Some(Widths([
            columns::width_for(self.names, false)?,
            columns::width_for(self.weights, false)?,
            columns::width_for(self.initial, true)?,
            columns::width_for(self.remaining, true)?,
        ]))
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, offset: usize, reason: Malformed) -> SnapshotError {
        SnapshotError::Malformed { offset, reason }
    }

    fn byte(&mut self) -> Result<u8, SnapshotError> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or(self.error(self.at, Malformed::Truncated))?;
        self.at += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, SnapshotError> {
        let start = self.at;
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7F);
            if shift == 63 && bits > 1 {
                return Err(self.error(start, Malformed::OutOfRange));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                if byte == 0 && shift > 0 {
                    return Err(self.error(start, Malformed::OverlongVarint));
                }
                return Ok(value);
            }
        }
        Err(self.error(start, Malformed::OutOfRange))
    }

    fn varint_u32(&mut self) -> Result<u32, SnapshotError> {
        let start = self.at;
        u32::try_from(self.varint()?).map_err(|_| self.error(start, Malformed::OutOfRange))
    }

    fn text(&mut self) -> Result<&'a str, SnapshotError> {
        let start = self.at;
        let length = self.varint()?;
        let end = usize::try_from(length)
            .ok()
            .and_then(|length| self.at.checked_add(length))
            .filter(|&end| end <= self.bytes.len())
            .ok_or(self.error(start, Malformed::Truncated))?;
        let bytes: &'a [u8] = self.bytes;
        let text = std::str::from_utf8(&bytes[self.at..end])
            .map_err(|_| self.error(start, Malformed::NotUtf8))?;
        self.at = end;
        Ok(text)
    }

    fn flag(&mut self, values: u8) -> Result<u8, SnapshotError> {
        let byte = self.byte()?;
        if byte >= values {
            return Err(self.error(self.at - 1, Malformed::BadByte(byte)));
        }
        Ok(byte)
    }

    // A count of records that each take at least `min_bytes`: bounded by
    // the bytes left, so a damaged count cannot reserve memory.
    fn count(&mut self, min_bytes: usize) -> Result<usize, SnapshotError> {
        let at = self.at;
        let count = self.varint()?;
        usize::try_from(count)
            .ok()
            .filter(|&count| count <= (self.bytes.len() - self.at) / min_bytes)
            .ok_or(self.error(at, Malformed::Truncated))
    }

    fn holdings(&mut self, items: usize, may_be_empty: bool) -> Result<Holdings, SnapshotError> {
        let count_at = self.at;
        let count = self.count(4)?;
        if count == 0 && !may_be_empty {
            return Err(self.error(count_at, Malformed::BadHolding));
        }
        let mut holdings = Vec::with_capacity(count);
        let mut previous: Option<&'a str> = None;
        for _ in 0..count {
            let id_at = self.at;
            let id = self.text()?;
            if OperationId::check(id).is_err() || previous.is_some_and(|p| p >= id) {
                return Err(self.error(id_at, Malformed::BadHolding));
            }
            previous = Some(id);
            let until = self.varint()?;
            let rolled_back = self.flag(2)? == 1;
            let held_at = self.at;
            let held = self.count(2)?;
            if rolled_back && held > 0 {
                return Err(self.error(held_at, Malformed::BadHolding));
            }
            let mut units = Vec::with_capacity(held);
            for _ in 0..held {
                let at = self.at;
                let position = self.varint_u32()?;
                let count = self.varint()?;
                let ordered = units.last().is_none_or(|&(p, _)| p < position);
                if !ordered || position as usize >= items || count == 0 {
                    return Err(self.error(at, Malformed::BadHolding));
                }
                units.push((position, count));
            }
            holdings.push((
                OperationId::checked(id),
                Holding {
                    units,
                    until,
                    rolled_back,
                },
            ));
        }
        Ok(Holdings::from_holdings(holdings))
    }

    fn fairness(&mut self) -> Result<Fairness, SnapshotError> {
        let at = self.at;
        let bytes: [u8; 32] = self
            .bytes
            .get(at..at + 32)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(self.error(at, Malformed::Truncated))?;
        self.at += 32;
        let nonce = self.varint()?;
        let rotate_every = self.varint_u32()?;
        Ok(Fairness {
            commitment: Commitment::from_bytes(bytes),
            nonce,
            rotate_every,
        })
    }

    fn snapshot(mut self, version: u8) -> Result<Snapshot, SnapshotError> {
        // Ids and names are borrowed from the bytes until the configuration
        // is checked: decoding runs on every request.
        let seq = self.varint()?;
        let closed = self.flag(2)? == 1;
        let rules = self.varint_u32()?;
        let mode = if self.flag(2)? == 0 {
            Mode::Stock
        } else {
            Mode::Weight
        };
        let snapshot_every = self.varint_u32()?;
        let id = self.text()?;
        let name = self.text()?;
        if version == FORMAT_VERSION_COLUMNS {
            let header = Header {
                seq,
                closed,
                rules,
                mode,
                snapshot_every,
                id,
                name,
            };
            return self.columns(header);
        }
        // Each item takes at least three bytes.
        let count = self.count(3)?;
        let mut items = Vec::with_capacity(count);
        let mut slots = Vec::with_capacity(count);
        for _ in 0..count {
            let id = self.text()?;
            let weight = self.varint()?;
            let (stock, remaining) = if self.flag(2)? == 0 {
                (Stock::Unlimited, Stock::Unlimited)
            } else {
                (
                    Stock::Limited(self.varint()?),
                    Stock::Limited(self.varint()?),
                )
            };
            items.push((id, weight, stock));
            slots.push(Slot { weight, remaining });
        }
        let operations = match version {
            FORMAT_VERSION_OPERATIONS => self.holdings(count, false)?,
            FORMAT_VERSION_FAIR => self.holdings(count, true)?,
            _ => Holdings::new(),
        };
        let fair = if version == FORMAT_VERSION_FAIR {
            Some(self.fairness()?)
        } else {
            None
        };
        if self.at != self.bytes.len() {
            return Err(self.error(self.at, Malformed::Trailing));
        }
        let config = ValidConfig::build(id, name, mode, rules, snapshot_every, items.into_iter())
            .map_err(SnapshotError::Config)?;
        if fair.is_some() && !config.rules().is_fair() {
            return Err(self.error(HEADER, Malformed::NotFair));
        }
        let mut state = PoolState::from_parts(Arc::new(config), slots, closed, operations)
            .map_err(|_| SnapshotError::TotalOverflow)?;
        state.fair = fair;
        Ok(Snapshot { seq, state })
    }

    // The rest of a version 4 snapshot, after its header fields.
    fn columns(mut self, header: Header<'a>) -> Result<Snapshot, SnapshotError> {
        let count_at = self.at;
        // Each item takes at least five bytes: an id byte and one per column.
        let count = self.count(5)?;
        if count < COLUMNS_FROM {
            return Err(self.error(count_at, Malformed::BadColumns));
        }
        let widths_at = self.at;
        let mut widths = [0u8; 4];
        for width in &mut widths {
            let at = self.at;
            *width = self.byte()?;
            if !WIDTHS.contains(width) {
                return Err(self.error(at, Malformed::BadByte(*width)));
            }
        }
        let names = self.text()?;
        // The columns borrow one copy of the bytes; below MAX_ITEMS by
        // `count`, so the count fits in a u32.
        let shared: Arc<[u8]> = Arc::from(self.bytes);
        let mut column = |width| {
            let column = Column::new(&shared, self.at, width, count as u32)
                .ok_or(self.error(self.at, Malformed::Truncated))?;
            self.at = column.end();
            Ok::<Column, SnapshotError>(column)
        };
        let [ends, weights, initial, remaining] = widths.map(&mut column);
        let (ends, weights, initial, remaining) = (ends?, weights?, initial?, remaining?);
        if ends.get(count as u32 - 1) != names.len() as u64 {
            return Err(self.error(widths_at, Malformed::BadColumns));
        }
        let operations = self.holdings(count, true)?;
        let fair = match self.flag(2)? {
            0 => None,
            _ => Some(self.fairness()?),
        };
        if self.at != self.bytes.len() {
            return Err(self.error(self.at, Malformed::Trailing));
        }
        let config = ValidConfig::from_columns(ColumnParts {
            pool: header.id,
            name: header.name,
            mode: header.mode,
            rules: header.rules,
            snapshot_every: header.snapshot_every,
            names,
            ends,
            weights: weights.clone(),
            stocks: initial.clone(),
        })
        .map_err(SnapshotError::Config)?;
        if fair.is_some() && !config.rules().is_fair() {
            return Err(self.error(HEADER, Malformed::NotFair));
        }
        let columns = [weights, initial, remaining];
        let mut state =
            PoolState::from_columns(Arc::new(config), columns, header.closed, operations).map_err(
                |unreadable| match unreadable {
                    Unreadable::TotalOverflow => SnapshotError::TotalOverflow,
                    Unreadable::UnlimitedMismatch => {
                        self.error(widths_at, Malformed::UnlimitedMismatch)
                    }
                },
            )?;
        state.fair = fair;
        Ok(Snapshot {
            seq: header.seq,
            state,
        })
    }
}

// The fields every version opens its payload with.
struct Header<'a> {
    seq: u64,
    closed: bool,
    rules: u32,
    mode: Mode,
    snapshot_every: u32,
    id: &'a str,
    name: &'a str,
}
