//! Calendar dates: the date a business day is for.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a text is not a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not `YYYY-MM-DD`: the first character out of place.
    #[error("date: must be YYYY-MM-DD, position {at} is wrong")]
    Format {
        /// Byte position.
        at: usize,
    },
    /// Year 0000.
    #[error("date: year 0 does not exist")]
    Year,
    /// A month outside 1 to 12.
    #[error("date: month {month} is not between 1 and 12")]
    Month {
        /// The month given.
        month: u8,
    },
    /// A day the month does not have.
    #[error("date: day {day} is not in month {month} of {year}")]
    Day {
        /// The year.
        year: u16,
        /// The month.
        month: u8,
        /// The day given.
        day: u8,
    },
}

/// A day of the Gregorian calendar, years 1 to 9999.
///
/// Invariant: the day exists (leap years included). Dates order by time.
/// Written and serialized as `YYYY-MM-DD`.
///
/// ```
/// use tombola_core::lottery::BusinessDate;
///
/// let date: BusinessDate = "2024-02-29".parse()?;
/// assert!(date < "2024-03-01".parse()?);
/// assert!("2023-02-29".parse::<BusinessDate>().is_err());
/// # Ok::<(), tombola_core::lottery::DateError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BusinessDate {
    year: u16,
    month: u8,
    day: u8,
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl BusinessDate {
    /// The date `year-month-day`.
    ///
    /// # Errors
    ///
    /// [`DateError::Year`], [`DateError::Month`] or [`DateError::Day`] for
    /// a day the calendar does not have.
    pub fn new(year: u16, month: u8, day: u8) -> Result<BusinessDate, DateError> {
        if year == 0 {
            return Err(DateError::Year);
        }
        if !(1..=12).contains(&month) {
            return Err(DateError::Month { month });
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(DateError::Day { year, month, day });
        }
        Ok(BusinessDate { year, month, day })
    }

    /// The year.
    pub const fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    pub const fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month.
    pub const fn day(&self) -> u8 {
        self.day
    }
}

/// Days from 1970-01-01 to `year-month-day` (negative before), for any
/// proleptic Gregorian date; Howard Hinnant's `days_from_civil`.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

impl fmt::Display for BusinessDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for BusinessDate {
    type Err = DateError;

    fn from_str(text: &str) -> Result<BusinessDate, DateError> {
        let bytes = text.as_bytes();
        for at in 0..10 {
            let fits = match (at, bytes.get(at)) {
                (4 | 7, Some(b'-')) => true,
                (4 | 7, _) => false,
                (_, Some(byte)) => byte.is_ascii_digit(),
                (_, None) => false,
            };
            if !fits {
                return Err(DateError::Format { at });
            }
        }
        if bytes.len() > 10 {
            return Err(DateError::Format { at: 10 });
        }
        let number = |range: std::ops::Range<usize>| {
            bytes[range]
                .iter()
                .fold(0u16, |value, digit| value * 10 + u16::from(digit - b'0'))
        };
        let (month, day) = (number(5..7), number(8..10));
        BusinessDate::new(number(0..4), month as u8, day as u8)
    }
}

impl Serialize for BusinessDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BusinessDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<BusinessDate, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_iso_dates() {
        let date: BusinessDate = "2025-07-04".parse().unwrap();
        assert_eq!((date.year(), date.month(), date.day()), (2025, 7, 4));
        assert_eq!(date.to_string(), "2025-07-04");
        assert_eq!(
            BusinessDate::new(7, 1, 9).unwrap().to_string(),
            "0007-01-09"
        );
    }

    #[test]
    fn the_format_error_names_the_position() {
        for (text, at) in [
            ("2025/07/04", 4),
            ("2025-7-04", 6),
            ("20a5-07-04", 2),
            ("2025-07-0", 9),
            ("2025-07-041", 10),
            ("", 0),
        ] {
            assert_eq!(
                text.parse::<BusinessDate>(),
                Err(DateError::Format { at }),
                "{text}"
            );
        }
    }

    #[test]
    fn only_days_the_calendar_has() {
        assert!("2024-02-29".parse::<BusinessDate>().is_ok());
        assert!("2000-02-29".parse::<BusinessDate>().is_ok());
        assert_eq!(
            "1900-02-29".parse::<BusinessDate>(),
            Err(DateError::Day {
                year: 1900,
                month: 2,
                day: 29
            })
        );
        assert_eq!(
            "2025-04-31".parse::<BusinessDate>(),
            Err(DateError::Day {
                year: 2025,
                month: 4,
                day: 31
            })
        );
        assert_eq!(
            "2025-13-01".parse::<BusinessDate>(),
            Err(DateError::Month { month: 13 })
        );
        assert_eq!(
            "2025-00-01".parse::<BusinessDate>(),
            Err(DateError::Month { month: 0 })
        );
        assert_eq!(
            "2025-01-00".parse::<BusinessDate>(),
            Err(DateError::Day {
                year: 2025,
                month: 1,
                day: 0
            })
        );
        assert_eq!("0000-01-01".parse::<BusinessDate>(), Err(DateError::Year));
    }

    #[test]
    fn dates_order_by_time() {
        let dates: Vec<BusinessDate> = ["2024-12-31", "2025-01-01", "2025-01-02", "2025-02-01"]
            .iter()
            .map(|text| text.parse().unwrap())
            .collect();
        assert!(dates.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn days_from_civil_counts_from_the_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }

    #[test]
    fn serializes_as_its_string() {
        let date: BusinessDate = "2025-07-04".parse().unwrap();
        assert_eq!(serde_json::to_string(&date).unwrap(), r#""2025-07-04""#);
        assert_eq!(
            serde_json::from_str::<BusinessDate>(r#""2025-07-04""#).unwrap(),
            date
        );
        assert!(serde_json::from_str::<BusinessDate>(r#""2025-02-30""#).is_err());
    }
}
