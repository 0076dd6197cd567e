//! The business day and its two-phase close.
//!
//! ```text
//! OPEN --prepare(counts)--> PENDING_CLOSE --commit--> CLOSED
//!   ^                            |
//!   +-----------cancel-----------+
//! ```
//!
//! A store has one day that is not closed at a time. A day opens from the
//! serials the previous day's close carried ([`PreparedClose::carried`]),
//! and records the opening serial of every pack activated during it.
//! Preparing computes the [`PreparedClose`] and keeps it in the day, which
//! the caller stores: a pending close lives in storage, never only in
//! memory, so it survives a restart and commits as prepared. Packs change
//! only while the day is open, so a pending close never goes stale.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::close::{CloseError, Count, Opening, PreparedClose};
use super::date::BusinessDate;
use super::pack::{Pack, PackKey, PackState, PackStatus};
use super::sales::Reading;

/// Where a day is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DayStatus {
    /// Selling; packs may change.
    Open,
    /// Its close is prepared and waits to be committed or cancelled.
    PendingClose,
    /// Done; the next day opens from its close.
    Closed,
}

impl fmt::Display for DayStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DayStatus::Open => "OPEN",
            DayStatus::PendingClose => "PENDING_CLOSE",
            DayStatus::Closed => "CLOSED",
        })
    }
}

/// Why a day operation is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DayError {
    /// Another day is not closed yet: a store has one open day.
    #[error("day: {date} is {status}; close it before opening another")]
    NotClosed {
        /// That day.
        date: BusinessDate,
        /// Its status.
        status: DayStatus,
    },
    /// The date is not after every day the store has had.
    #[error("date: {date} is not after {latest}, the store's latest day")]
    DateNotAfter {
        /// The date asked for.
        date: BusinessDate,
        /// The latest day.
        latest: BusinessDate,
    },
    /// The day is not in the status the operation leaves from.
    #[error("status: day {date} is {from} and cannot become {to}")]
    Transition {
        /// The day.
        date: BusinessDate,
        /// Its status.
        from: DayStatus,
        /// The status asked for.
        to: DayStatus,
    },
    /// No day is open or pending: packs change only within an open day.
    #[error("day: no business day is open; open one before changing packs on the counter")]
    NoOpenDay,
    /// Packs change only while the day is open.
    #[error("day: {date} is {status}; packs change only while the day is OPEN")]
    NotOpen {
        /// The day.
        date: BusinessDate,
        /// Its status.
        status: DayStatus,
    },
    /// An activation recorded for a pack that is not active.
    #[error("pack: {pack} is {status}, not ACTIVE")]
    NotActive {
        /// The pack.
        pack: PackKey,
        /// Its status.
        status: PackStatus,
    },
    /// A pack the day already has an opening serial for.
    #[error("pack: {pack} already has an opening serial this day")]
    AlreadyOpened {
        /// The pack.
        pack: PackKey,
    },
    /// The close cannot be prepared, or a stored one cannot be trusted.
    #[error(transparent)]
    Close(#[from] CloseError),
    /// A stored day whose close is for another date.
    #[error("close: is for {close}, not for the day {date}")]
    CloseDate {
        /// The day's date.
        date: BusinessDate,
        /// The close's.
        close: BusinessDate,
    },
}

/// Where a day is, with its close once prepared.
///
/// Serialized with a `status` tag beside a `close` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DayState {
    /// Selling.
    Open,
    /// The close is prepared.
    PendingClose {
        /// The close as prepared.
        close: PreparedClose,
    },
    /// Closed with this close.
    Closed {
        /// The close as committed.
        close: PreparedClose,
    },
}

impl DayState {
    /// The status, without the close.
    pub const fn status(&self) -> DayStatus {
        match self {
            DayState::Open => DayStatus::Open,
            DayState::PendingClose { .. } => DayStatus::PendingClose,
            DayState::Closed { .. } => DayStatus::Closed,
        }
    }
}

/// A store's business day.
///
/// Invariants: at most one opening per pack; a pending or committed close
/// is for the day's own date (and keeps [`PreparedClose`]'s invariants).
/// Serialized as `{date, openings, status, close?}`, checked on the way in.
///
/// ```
/// use tombola_core::lottery::{Day, DayStatus};
///
/// let monday = Day::open("2025-06-02".parse()?, [])?;
/// let prepared = monday.prepare([], &[])?;
/// assert_eq!(prepared.status(), DayStatus::PendingClose);
/// // The pending close is a value: store it, read it back after a restart.
/// let stored = serde_json::to_string(&prepared)?;
/// let closed = serde_json::from_str::<Day>(&stored)?.commit()?;
/// let tuesday = Day::open("2025-06-03".parse()?, [&closed])?;
/// assert_eq!(tuesday.status(), DayStatus::Open);
/// // One open day per store.
/// assert!(Day::open("2025-06-04".parse()?, [&closed, &tuesday]).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DayRecord", into = "DayRecord")]
pub struct Day {
    date: BusinessDate,
    openings: Vec<Opening>,
    state: DayState,
}

#[derive(Serialize, Deserialize)]
struct DayRecord {
    date: BusinessDate,
    openings: Vec<Opening>,
    #[serde(flatten)]
    state: DayState,
}

impl From<Day> for DayRecord {
    fn from(day: Day) -> DayRecord {
        DayRecord {
            date: day.date,
            openings: day.openings,
            state: day.state,
        }
    }
}

impl TryFrom<DayRecord> for Day {
    type Error = DayError;

    fn try_from(record: DayRecord) -> Result<Day, DayError> {
        let mut seen = BTreeSet::new();
        if let Some(twice) = record
            .openings
            .iter()
            .find(|opening| !seen.insert(opening.pack))
        {
            return Err(DayError::AlreadyOpened { pack: twice.pack });
        }
        let day = Day {
            date: record.date,
            openings: record.openings,
            state: record.state,
        };
        match day.prepared() {
            Some(close) if close.date() != day.date => Err(DayError::CloseDate {
                date: day.date,
                close: close.date(),
            }),
            _ => Ok(day),
        }
    }
}

/// The day in which packs may be activated, settled or returned now,
/// given the store's `current` day (the one not closed, if any).
///
/// Receiving a pack into stock is not a change on the counter and needs no
/// day; everything else a pack does belongs to the close of the day it
/// happens in.
///
/// # Errors
///
/// [`DayError::NoOpenDay`] when every day is closed (or there is none);
/// [`DayError::NotOpen`] while the current day's close is pending.
///
/// ```
/// use tombola_core::lottery::{Day, DayError, open_day};
///
/// assert_eq!(open_day(None).unwrap_err(), DayError::NoOpenDay);
/// let monday = Day::open("2025-06-02".parse()?, [])?;
/// assert_eq!(open_day(Some(&monday))?.date(), monday.date());
/// let pending = monday.prepare([], &[])?;
/// assert!(matches!(open_day(Some(&pending)), Err(DayError::NotOpen { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_day(current: Option<&Day>) -> Result<&Day, DayError> {
    let day = current
        .filter(|day| day.status() != DayStatus::Closed)
        .ok_or(DayError::NoOpenDay)?;
    day.check_open()?;
    Ok(day)
}

impl Day {
    /// Opens the day `date`. `days` is every day the store has had; the new
    /// day opens with the serials the latest one's close carried.
    ///
    /// # Errors
    ///
    /// [`DayError::NotClosed`] while any day is open or pending close;
    /// [`DayError::DateNotAfter`] unless `date` is after every day's.
    pub fn open<'a>(
        date: BusinessDate,
        days: impl IntoIterator<Item = &'a Day>,
    ) -> Result<Day, DayError> {
        let mut latest: Option<&Day> = None;
        for day in days {
            if day.status() != DayStatus::Closed {
                return Err(DayError::NotClosed {
                    date: day.date,
                    status: day.status(),
                });
            }
            if latest.is_none_or(|latest| day.date > latest.date) {
                latest = Some(day);
            }
        }
        if let Some(latest) = latest.filter(|latest| latest.date >= date) {
            return Err(DayError::DateNotAfter {
                date,
                latest: latest.date,
            });
        }
        Ok(Day {
            date,
            openings: latest
                .and_then(Day::prepared)
                .map(PreparedClose::carried)
                .unwrap_or_default(),
            state: DayState::Open,
        })
    }

    /// The day's date.
    pub const fn date(&self) -> BusinessDate {
        self.date
    }

    /// Its status.
    pub const fn status(&self) -> DayStatus {
        self.state.status()
    }

    /// Its status and close.
    pub const fn state(&self) -> &DayState {
        &self.state
    }

    /// The serials the day's packs started from.
    pub fn openings(&self) -> &[Opening] {
        &self.openings
    }

    /// The close, once prepared (pending or committed).
    pub const fn prepared(&self) -> Option<&PreparedClose> {
        match &self.state {
            DayState::Open => None,
            DayState::PendingClose { close } | DayState::Closed { close } => Some(close),
        }
    }

    /// Checks that packs may change now: activated, settled or returned.
    ///
    /// # Errors
    ///
    /// [`DayError::NotOpen`] unless the day is open.
    pub fn check_open(&self) -> Result<(), DayError> {
        match self.state {
            DayState::Open => Ok(()),
            _ => Err(DayError::NotOpen {
                date: self.date,
                status: self.status(),
            }),
        }
    }

    /// The day with the opening serial of `pack`, just activated.
    ///
    /// # Errors
    ///
    /// [`DayError::NotOpen`] unless the day is open;
    /// [`DayError::NotActive`] unless the pack is active;
    /// [`DayError::AlreadyOpened`] when the day already has the pack.
    pub fn with_activation(&self, pack: &Pack) -> Result<Day, DayError> {
        self.check_open()?;
        let PackState::Active { bin, opening } = pack.state() else {
            return Err(DayError::NotActive {
                pack: pack.key(),
                status: pack.status(),
            });
        };
        if self.openings.iter().any(|known| known.pack == pack.key()) {
            return Err(DayError::AlreadyOpened { pack: pack.key() });
        }
        let mut day = self.clone();
        day.openings.push(Opening {
            pack: pack.key(),
            bin,
            reading: Reading::Next(opening),
        });
        Ok(day)
    }

    /// Prepares the close from the packs as they stand and the clerk's
    /// counts (see [`PreparedClose::prepare`] for what they must hold).
    ///
    /// # Errors
    ///
    /// [`DayError::Transition`] unless the day is open, and
    /// [`DayError::Close`] with what is wrong with the packs or counts.
    pub fn prepare<'a>(
        &self,
        packs: impl IntoIterator<Item = &'a Pack>,
        counts: &[Count],
    ) -> Result<Day, DayError> {
        self.check_transition(DayStatus::Open, DayStatus::PendingClose)?;
        let close = PreparedClose::prepare(self.date, &self.openings, packs, counts)?;
        Ok(Day {
            state: DayState::PendingClose { close },
            ..self.clone()
        })
    }

    /// Cancels the pending close: the day is open again, as before.
    ///
    /// # Errors
    ///
    /// [`DayError::Transition`] unless the close is pending.
    pub fn cancel(&self) -> Result<Day, DayError> {
        self.check_transition(DayStatus::PendingClose, DayStatus::Open)?;
        Ok(Day {
            state: DayState::Open,
            ..self.clone()
        })
    }

    /// Commits the pending close as prepared.
    ///
    /// # Errors
    ///
    /// [`DayError::Transition`] unless the close is pending.
    pub fn commit(&self) -> Result<Day, DayError> {
        match &self.state {
            DayState::PendingClose { close } => Ok(Day {
                state: DayState::Closed {
                    close: close.clone(),
                },
                ..self.clone()
            }),
            _ => Err(self.transition(DayStatus::Closed)),
        }
    }

    fn transition(&self, to: DayStatus) -> DayError {
        DayError::Transition {
            date: self.date,
            from: self.status(),
            to,
        }
    }

    fn check_transition(&self, from: DayStatus, to: DayStatus) -> Result<(), DayError> {
        if self.status() == from {
            Ok(())
        } else {
            Err(self.transition(to))
        }
    }
}
