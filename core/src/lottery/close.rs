//! The prepared close of a business day: closing serials, sales per pack
//! and per bin, totals, and the variances to review.
//!
//! A close is computed once, when the day is prepared, from the serials the
//! day opened with, the packs as they stand and the clerk's counts. It is
//! a plain value, stored as JSON while the day waits to be committed, so it
//! survives a restart; reading it back checks that every figure still
//! follows from the serials.
//!
//! A count that contradicts what is known is never adjusted silently: the
//! close records a [`Variance`] beside the sales, and the sales count only
//! what the serials allow:
//!
//! - [`VarianceKind::Backwards`]: fewer tickets gone than when the day
//!   opened. The day sells nothing from that pack, and the pack carries the
//!   counted serial into the next day, so the books follow the pack on the
//!   counter and the difference waits for review.
//! - [`VarianceKind::TicketsLeftAfterSettle`]: a settled pack counted with
//!   tickets left. A settled pack counts through its last ticket.
//! - [`VarianceKind::DiffersFromReturn`]: a returned pack counted elsewhere
//!   than the reading it was returned with, which is what counts.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::bin::BinNumber;
use super::date::BusinessDate;
use super::game::PackTerms;
use super::money::Cents;
use super::pack::{Pack, PackKey, PackState, PackStatus};
use super::sales::{Reading, ReadingRole, Sale, SalesError};

/// Where a pack stood when a business day began: the serial it carried
/// from the previous close, or the one it was activated at that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    /// The pack.
    pub pack: PackKey,
    /// The bin it sells from.
    pub bin: BinNumber,
    /// Where it stood.
    pub reading: Reading,
}

/// A clerk's closing count for one pack: the next ticket to sell, or sold
/// out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Count {
    /// The pack counted.
    pub pack: PackKey,
    /// What the clerk read off it.
    pub reading: Reading,
}

/// Why a close cannot be prepared from the data given, or a stored close
/// cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseError {
    /// A pack the day opened with is not among the packs given.
    #[error("packs: pack {pack} opened the day but was not given")]
    MissingPack {
        /// The pack.
        pack: PackKey,
    },
    /// An active pack the day does not know: it was activated without the
    /// day recording its opening serial.
    #[error("packs: active pack {pack} has no opening serial this day")]
    NotInDay {
        /// The pack.
        pack: PackKey,
    },
    /// A pack the day opened with is now in a status no day accounts for.
    #[error("packs: pack {pack} opened the day but is {status}")]
    NotOnCounter {
        /// The pack.
        pack: PackKey,
        /// Its status.
        status: PackStatus,
    },
    /// An active pack with no closing count.
    #[error("counts: active pack {pack} in bin {bin} has no closing serial")]
    MissingCount {
        /// The pack.
        pack: PackKey,
        /// Its bin.
        bin: BinNumber,
    },
    /// A count for a pack the day does not account for.
    #[error("counts: pack {pack} is not on the counter this day")]
    UnexpectedCount {
        /// The pack.
        pack: PackKey,
    },
    /// Two counts for one pack.
    #[error("counts: pack {pack} is counted twice")]
    DuplicateCount {
        /// The pack.
        pack: PackKey,
    },
    /// A count, or a known serial, that is not a ticket of the pack.
    #[error("counts: pack {pack}: {source}")]
    Serial {
        /// The pack.
        pack: PackKey,
        /// What is wrong with the serial.
        source: SalesError,
    },
    /// A stored close whose figures do not follow from its serials.
    #[error("{field}: does not follow from the serials{}", pack.map_or(String::new(), |pack| format!(" of pack {pack}")))]
    Inconsistent {
        /// The figure at fault.
        field: &'static str,
        /// The pack whose line it is on, if any.
        pack: Option<PackKey>,
    },
}

/// What a variance is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarianceKind {
    /// Fewer tickets gone than when the day opened.
    Backwards,
    /// A settled pack counted with tickets left.
    TicketsLeftAfterSettle,
    /// A returned pack counted elsewhere than its return reading.
    DiffersFromReturn,
}

/// A contradiction between a count and what was known, kept for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variance {
    /// The pack.
    pub pack: PackKey,
    /// Its bin.
    pub bin: BinNumber,
    /// What kind of contradiction.
    pub kind: VarianceKind,
    /// What was known: the day's opening, sold out, or the return reading.
    pub known: Reading,
    /// What was counted (for a return before the day's opening, the
    /// return reading).
    pub counted: Reading,
    /// Tickets gone by the count minus tickets gone by what was known:
    /// negative when the count shows fewer.
    pub tickets: i64,
    /// `tickets` times the price, in cents.
    pub amount: i64,
}

/// One pack's part of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseLine {
    /// The pack.
    pub pack: PackKey,
    /// Its bin.
    pub bin: BinNumber,
    /// Its tickets, price and numbering.
    pub terms: PackTerms,
    /// Where it stood when the day began.
    pub opening: Reading,
    /// Where it stands at the close: what an active pack carries into the
    /// next day.
    pub closing: Reading,
    /// How the pack ends the day: active, settled or returned.
    pub status: PackStatus,
    /// Tickets sold this day.
    pub tickets: u32,
    /// What they sold for.
    pub amount: Cents,
}

/// Sales of one bin in a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinTotal {
    /// The bin.
    pub bin: BinNumber,
    /// Tickets sold from it.
    pub tickets: u64,
    /// What they sold for.
    pub amount: Cents,
}

/// A prepared close: every figure of a business day, ready to commit.
///
/// Invariants: one line per pack, ordered by bin then pack; each line's
/// tickets are what its serials say (none when they go backwards) and its
/// amount is tickets times price; the bin totals and the day's totals are
/// the sums of the lines; every variance is about a pack with a line and
/// its amount is its tickets times the price. Deserializing checks it all
/// ([`CloseError::Inconsistent`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CloseRecord", into = "CloseRecord")]
pub struct PreparedClose {
    date: BusinessDate,
    lines: Vec<CloseLine>,
    bins: Vec<BinTotal>,
    tickets: u64,
    amount: Cents,
    variances: Vec<Variance>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseRecord {
    date: BusinessDate,
    lines: Vec<CloseLine>,
    bins: Vec<BinTotal>,
    tickets: u64,
    amount: Cents,
    variances: Vec<Variance>,
}

impl From<PreparedClose> for CloseRecord {
    fn from(close: PreparedClose) -> CloseRecord {
        CloseRecord {
            date: close.date,
            lines: close.lines,
            bins: close.bins,
            tickets: close.tickets,
            amount: close.amount,
            variances: close.variances,
        }
    }
}

impl TryFrom<CloseRecord> for PreparedClose {
    type Error = CloseError;

    fn try_from(record: CloseRecord) -> Result<PreparedClose, CloseError> {
        let inconsistent = |field, pack| CloseError::Inconsistent { field, pack };
        let mut seen = BTreeSet::new();
        for line in &record.lines {
            let pack = Some(line.pack);
            if !seen.insert(line.pack) {
                return Err(inconsistent("lines", pack));
            }
            let from = line.terms.sold_at(line.opening, ReadingRole::Opening);
            let to = line.terms.sold_at(line.closing, ReadingRole::Closing);
            let (Ok(from), Ok(to)) = (from, to) else {
                return Err(inconsistent("lines", pack));
            };
            if line.tickets != to.saturating_sub(from) {
                return Err(inconsistent("tickets", pack));
            }
            if line.amount != Sale::of(&line.terms, line.tickets).amount() {
                return Err(inconsistent("amount", pack));
            }
        }
        let ordered = record
            .lines
            .windows(2)
            .all(|pair| (pair[0].bin, pair[0].pack) < (pair[1].bin, pair[1].pack));
        if !ordered {
            return Err(inconsistent("lines", None));
        }
        for variance in &record.variances {
            let line = record.lines.iter().find(|line| line.pack == variance.pack);
            let Some(line) = line else {
                return Err(inconsistent("variances", Some(variance.pack)));
            };
            if Some(variance.amount) != signed_amount(&line.terms, variance.tickets) {
                return Err(inconsistent("variances", Some(variance.pack)));
            }
        }
        let close = PreparedClose::total(record.date, record.lines, record.variances);
        if close.bins != record.bins {
            return Err(inconsistent("bins", None));
        }
        if close.tickets != record.tickets || close.amount != record.amount {
            return Err(inconsistent("totals", None));
        }
        Ok(close)
    }
}

fn signed_amount(terms: &PackTerms, tickets: i64) -> Option<i64> {
    i64::try_from(terms.price().get())
        .ok()
        .and_then(|price| price.checked_mul(tickets))
}

// Tickets gone at `reading`, as a count of the pack's tickets.
fn sold(pack: &Pack, reading: Reading, role: ReadingRole) -> Result<u32, CloseError> {
    pack.terms()
        .sold_at(reading, role)
        .map_err(|source| CloseError::Serial {
            pack: pack.key(),
            source,
        })
}

impl PreparedClose {
    /// Computes the close of the day `date` that opened with `openings`,
    /// from the packs as they stand and the clerk's counts.
    ///
    /// `packs` must hold every pack in `openings`, and may hold others: an
    /// active pack among them must be in `openings`, and settled, returned
    /// or received packs outside `openings` are ignored. Every active pack
    /// needs a count; settled and returned packs may have one, which is
    /// checked against what is known. Backwards or contradicting counts
    /// become [`Variance`]s, not errors.
    ///
    /// # Errors
    ///
    /// [`CloseError::MissingPack`], [`CloseError::NotInDay`] or
    /// [`CloseError::NotOnCounter`] when the packs do not match the
    /// openings; [`CloseError::MissingCount`],
    /// [`CloseError::UnexpectedCount`] or [`CloseError::DuplicateCount`]
    /// when the counts do not match the packs; [`CloseError::Serial`] for a
    /// count (or opening) that is not a ticket of its pack.
    pub fn prepare<'a>(
        date: BusinessDate,
        openings: &[Opening],
        packs: impl IntoIterator<Item = &'a Pack>,
        counts: &[Count],
    ) -> Result<PreparedClose, CloseError> {
        let opened: BTreeMap<PackKey, &Opening> = openings
            .iter()
            .map(|opening| (opening.pack, opening))
            .collect();
        let mut by_key = BTreeMap::new();
        for pack in packs {
            if pack.status() == PackStatus::Active && !opened.contains_key(&pack.key()) {
                return Err(CloseError::NotInDay { pack: pack.key() });
            }
            by_key.insert(pack.key(), pack);
        }
        let mut counted = BTreeMap::new();
        for count in counts {
            if !opened.contains_key(&count.pack) {
                return Err(CloseError::UnexpectedCount { pack: count.pack });
            }
            if counted.insert(count.pack, count.reading).is_some() {
                return Err(CloseError::DuplicateCount { pack: count.pack });
            }
        }
        let mut ordered: Vec<&Opening> = opened.into_values().collect();
        ordered.sort_by_key(|opening| (opening.bin, opening.pack));
        let mut lines = Vec::with_capacity(ordered.len());
        let mut variances = Vec::new();
        for opening in ordered {
            let pack = *by_key
                .get(&opening.pack)
                .ok_or(CloseError::MissingPack { pack: opening.pack })?;
            let count = counted.get(&opening.pack).copied();
            let (line, found) = close_line(pack, opening, count)?;
            lines.push(line);
            variances.extend(found);
        }
        Ok(PreparedClose::total(date, lines, variances))
    }

    fn total(date: BusinessDate, lines: Vec<CloseLine>, variances: Vec<Variance>) -> PreparedClose {
        let mut bins: BTreeMap<BinNumber, BinTotal> = BTreeMap::new();
        for line in &lines {
            let total = bins.entry(line.bin).or_insert(BinTotal {
                bin: line.bin,
                tickets: 0,
                amount: Cents::ZERO,
            });
            total.tickets += u64::from(line.tickets);
            total.amount = Cents::new(total.amount.get() + line.amount.get());
        }
        let bins: Vec<BinTotal> = bins.into_values().collect();
        PreparedClose {
            date,
            tickets: bins.iter().map(|bin| bin.tickets).sum(),
            amount: Cents::new(bins.iter().map(|bin| bin.amount.get()).sum()),
            bins,
            lines,
            variances,
        }
    }

    /// The business day closed.
    pub const fn date(&self) -> BusinessDate {
        self.date
    }

    /// One line per pack, by bin then pack.
    pub fn lines(&self) -> &[CloseLine] {
        &self.lines
    }

    /// Sales per bin, by bin.
    pub fn bins(&self) -> &[BinTotal] {
        &self.bins
    }

    /// Tickets sold in the day.
    pub const fn tickets(&self) -> u64 {
        self.tickets
    }

    /// What they sold for.
    pub const fn amount(&self) -> Cents {
        self.amount
    }

    /// Contradictions to review.
    pub fn variances(&self) -> &[Variance] {
        &self.variances
    }

    /// The serials the next day opens with: the closing serial of every
    /// pack still active.
    pub fn carried(&self) -> Vec<Opening> {
        self.lines
            .iter()
            .filter(|line| line.status == PackStatus::Active)
            .map(|line| Opening {
                pack: line.pack,
                bin: line.bin,
                reading: line.closing,
            })
            .collect()
    }
}

fn close_line(
    pack: &Pack,
    opening: &Opening,
    count: Option<Reading>,
) -> Result<(CloseLine, Vec<Variance>), CloseError> {
    let terms = pack.terms();
    let from = sold(pack, opening.reading, ReadingRole::Opening)?;
    let counted = match count {
        Some(reading) => Some((reading, sold(pack, reading, ReadingRole::Closing)?)),
        None => None,
    };
    let variance =
        |kind, known: Reading, known_sold: u32, (reading, reading_sold): (Reading, u32)| {
            let tickets = i64::from(reading_sold) - i64::from(known_sold);
            Variance {
                pack: pack.key(),
                bin: opening.bin,
                kind,
                known,
                counted: reading,
                tickets,
                amount: tickets * terms.price().get() as i64,
            }
        };
    // The reading the day ends at, and the variances it comes with.
    let (closing, variances) = match pack.state() {
        PackState::Active { .. } => {
            let count = counted.ok_or(CloseError::MissingCount {
                pack: pack.key(),
                bin: opening.bin,
            })?;
            let backwards = (count.1 < from)
                .then(|| variance(VarianceKind::Backwards, opening.reading, from, count));
            (count, Vec::from_iter(backwards))
        }
        PackState::Settled { .. } => {
            let known = (Reading::SoldOut, terms.tickets());
            let left = counted
                .filter(|count| count.0 != Reading::SoldOut)
                .map(|count| {
                    variance(
                        VarianceKind::TicketsLeftAfterSettle,
                        known.0,
                        known.1,
                        count,
                    )
                });
            (known, Vec::from_iter(left))
        }
        PackState::Returned {
            from: Some(returned),
        } => {
            let known = (
                returned.reading,
                sold(pack, returned.reading, ReadingRole::Closing)?,
            );
            let differs = counted
                .filter(|count| count.1 != known.1)
                .map(|count| variance(VarianceKind::DiffersFromReturn, known.0, known.1, count));
            let backwards = (known.1 < from)
                .then(|| variance(VarianceKind::Backwards, opening.reading, from, known));
            (known, differs.into_iter().chain(backwards).collect())
        }
        PackState::Received | PackState::Returned { from: None } => {
            return Err(CloseError::NotOnCounter {
                pack: pack.key(),
                status: pack.status(),
            });
        }
    };
    let sale = Sale::of(&terms, closing.1.saturating_sub(from));
    let line = CloseLine {
        pack: pack.key(),
        bin: opening.bin,
        terms,
        opening: opening.reading,
        closing: closing.0,
        status: pack.status(),
        tickets: sale.tickets(),
        amount: sale.amount(),
    };
    Ok((line, variances))
}
