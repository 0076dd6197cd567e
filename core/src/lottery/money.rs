//! Money: a whole number of cents, never floating point.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of money in cents.
///
/// Always a whole, non-negative number of cents; amounts that can go below
/// zero (a variance) are plain `i64` cents. Serialized as the bare integer.
///
/// ```
/// use tombola_core::lottery::Cents;
///
/// let price = Cents::new(500);
/// assert_eq!(price.times(30), Some(Cents::new(15_000)));
/// assert_eq!(price.to_string(), "5.00");
/// ```
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Cents(u64);

impl Cents {
    /// No money.
    pub const ZERO: Cents = Cents(0);

    /// `cents` cents.
    pub const fn new(cents: u64) -> Cents {
        Cents(cents)
    }

    /// The number of cents.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// This amount `count` times, or `None` if it does not fit in a `u64`.
    pub fn times(self, count: u64) -> Option<Cents> {
        self.0.checked_mul(count).map(Cents)
    }

    /// The sum, or `None` if it does not fit in a `u64`.
    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }
}

impl fmt::Display for Cents {
    /// Whole units, a dot and two digits of cents: `1234` is `12.34`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_units_and_two_digits_of_cents() {
        assert_eq!(Cents::new(0).to_string(), "0.00");
        assert_eq!(Cents::new(7).to_string(), "0.07");
        assert_eq!(Cents::new(123_456).to_string(), "1234.56");
    }

    #[test]
    fn arithmetic_refuses_to_overflow() {
        assert_eq!(Cents::new(u64::MAX).times(2), None);
        assert_eq!(Cents::new(u64::MAX).checked_add(Cents::new(1)), None);
        assert_eq!(
            Cents::new(2).checked_add(Cents::new(3)),
            Some(Cents::new(5))
        );
        assert_eq!(Cents::new(250).times(0), Some(Cents::ZERO));
    }

    #[test]
    fn serializes_as_a_bare_integer() {
        assert_eq!(serde_json::to_string(&Cents::new(1500)).unwrap(), "1500");
        assert_eq!(
            serde_json::from_str::<Cents>("1500").unwrap(),
            Cents::new(1500)
        );
        assert!(serde_json::from_str::<Cents>("15.5").is_err());
        assert!(serde_json::from_str::<Cents>("-1").is_err());
    }
}
