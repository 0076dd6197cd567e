//! Bins: the numbered slots of the counter display that hold active packs.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// The highest bin number.
pub const MAX_BIN: u16 = 999;

/// Why a bin number, or a request for new bins, is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BinError {
    /// A bin number outside 1 to [`MAX_BIN`].
    #[error("bin: {found} is not between 1 and {MAX_BIN}")]
    OutOfRange {
        /// The number given.
        found: u32,
    },
    /// A request for no bins at all.
    #[error("count: must be at least 1")]
    NoBins,
    /// More bins than numbers are left after the highest existing bin.
    #[error("count: {count} bins after bin {highest} would go past bin {MAX_BIN}")]
    TooMany {
        /// Bins asked for.
        count: u32,
        /// The highest bin that exists (0 for none).
        highest: u16,
    },
}

/// A bin on the counter display.
///
/// Invariant: 1 to [`MAX_BIN`]. Serialized as the bare integer, checked on
/// the way in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct BinNumber(u16);

impl BinNumber {
    /// Bin `number`.
    ///
    /// # Errors
    ///
    /// [`BinError::OutOfRange`] outside 1 to [`MAX_BIN`].
    pub fn new(number: u32) -> Result<BinNumber, BinError> {
        match u16::try_from(number) {
            Ok(bin) if (1..=MAX_BIN).contains(&bin) => Ok(BinNumber(bin)),
            _ => Err(BinError::OutOfRange { found: number }),
        }
    }

    /// The number.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for BinNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for BinNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<BinNumber, D::Error> {
        BinNumber::new(u32::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// The numbers of `count` new bins, created in bulk (on a store's first
/// setup, or to extend the display): they follow the highest bin in
/// `existing`, from 1 when there is none.
///
/// ```
/// use tombola_core::lottery::{new_bins, BinNumber};
///
/// let first = new_bins([], 3)?;
/// assert_eq!(first.iter().map(|bin| bin.get()).collect::<Vec<_>>(), [1, 2, 3]);
/// let more = new_bins(first, 2)?;
/// assert_eq!(more.iter().map(|bin| bin.get()).collect::<Vec<_>>(), [4, 5]);
/// # Ok::<(), tombola_core::lottery::BinError>(())
/// ```
///
/// # Errors
///
/// [`BinError::NoBins`] for a count of 0; [`BinError::TooMany`] when the
/// new bins would go past [`MAX_BIN`].
pub fn new_bins(
    existing: impl IntoIterator<Item = BinNumber>,
    count: u32,
) -> Result<Vec<BinNumber>, BinError> {
    if count == 0 {
        return Err(BinError::NoBins);
    }
    let highest = existing.into_iter().map(BinNumber::get).max().unwrap_or(0);
    if count > u32::from(MAX_BIN - highest) {
        return Err(BinError::TooMany { count, highest });
    }
    Ok((1..=count)
        .map(|offset| BinNumber(highest + offset as u16))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_numbers_run_from_one_to_the_maximum() {
        assert_eq!(BinNumber::new(1).unwrap().get(), 1);
        assert_eq!(BinNumber::new(999).unwrap().get(), 999);
        assert_eq!(BinNumber::new(0), Err(BinError::OutOfRange { found: 0 }));
        assert_eq!(
            BinNumber::new(1000),
            Err(BinError::OutOfRange { found: 1000 })
        );
        assert_eq!(
            BinNumber::new(65_537),
            Err(BinError::OutOfRange { found: 65_537 })
        );
    }

    #[test]
    fn bin_numbers_are_checked_when_deserialized() {
        assert_eq!(
            serde_json::from_str::<BinNumber>("12").unwrap(),
            BinNumber::new(12).unwrap()
        );
        let error = serde_json::from_str::<BinNumber>("0").unwrap_err();
        assert!(error.to_string().starts_with("bin: 0"), "{error}");
    }

    #[test]
    fn new_bins_follow_the_highest_existing() {
        let existing = [BinNumber::new(2).unwrap(), BinNumber::new(7).unwrap()];
        let bins = new_bins(existing, 2).unwrap();
        assert_eq!(
            bins,
            [BinNumber::new(8).unwrap(), BinNumber::new(9).unwrap()]
        );
        assert_eq!(new_bins([], 999).unwrap().len(), 999);
    }

    #[test]
    fn new_bins_refuse_none_and_too_many() {
        assert_eq!(new_bins([], 0), Err(BinError::NoBins));
        assert_eq!(
            new_bins([], 1000),
            Err(BinError::TooMany {
                count: 1000,
                highest: 0
            })
        );
        let last = [BinNumber::new(999).unwrap()];
        assert_eq!(
            new_bins(last, 1),
            Err(BinError::TooMany {
                count: 1,
                highest: 999
            })
        );
        assert_eq!(
            new_bins([], u32::MAX),
            Err(BinError::TooMany {
                count: u32::MAX,
                highest: 0
            })
        );
    }
}
