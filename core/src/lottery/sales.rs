//! Sales: how many tickets left a pack between two readings of its serial.
//!
//! A clerk reads "the next ticket to sell" off each pack. For an ascending
//! game that is how many tickets are gone; for a descending one it counts
//! down from `tickets_per_pack - 1`. A sold-out pack has no next ticket, so
//! a [`Reading`] is either [`Reading::Next`] or [`Reading::SoldOut`], and
//! a sold-out pack counts through its last ticket.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::game::{Numbering, PackTerms};
use super::money::Cents;

/// A ticket number within a pack, as printed on the ticket.
///
/// Any `u32`; whether it belongs to a given pack is [`PackTerms::contains`].
/// Serialized as the bare integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Serial(u32);

impl Serial {
    /// Ticket number `number`.
    pub const fn new(number: u32) -> Serial {
        Serial(number)
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a pack stands: the next ticket to sell, or nothing left.
///
/// Serialized as `{"next": 12}` or `"sold_out"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reading {
    /// This ticket is the next one to sell.
    Next(Serial),
    /// Every ticket of the pack is sold.
    SoldOut,
}

impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reading::Next(serial) => write!(f, "next ticket {serial}"),
            Reading::SoldOut => f.write_str("sold out"),
        }
    }
}

/// Which of two readings an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadingRole {
    /// The reading sales start from.
    Opening,
    /// The reading sales end at.
    Closing,
}

impl fmt::Display for ReadingRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadingRole::Opening => "opening serial",
            ReadingRole::Closing => "closing serial",
        })
    }
}

/// Why sales cannot be counted between two readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SalesError {
    /// A serial that is not a ticket of the pack.
    #[error("{role}: ticket {serial} is not in a pack of {tickets} tickets (0 to {max})", max = .tickets - 1)]
    OutsidePack {
        /// Which reading.
        role: ReadingRole,
        /// The serial read.
        serial: Serial,
        /// Tickets in the pack.
        tickets: u32,
    },
    /// The closing reading has fewer tickets sold than the opening one.
    #[error("closing serial: {closing} is before the opening {opening}")]
    Backwards {
        /// Where sales start.
        opening: Reading,
        /// Where they were said to end.
        closing: Reading,
    },
}

/// Tickets sold and what they took in.
///
/// Invariant: `amount` is `tickets` times the pack's price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sale {
    tickets: u32,
    amount: Cents,
}

impl Sale {
    /// `tickets` tickets of a pack with `terms`.
    pub fn of(terms: &PackTerms, tickets: u32) -> Sale {
        Sale {
            tickets,
            amount: Cents::new(terms.price().get() * u64::from(tickets)),
        }
    }

    /// Tickets sold.
    pub const fn tickets(&self) -> u32 {
        self.tickets
    }

    /// What they sold for.
    pub const fn amount(&self) -> Cents {
        self.amount
    }
}

impl PackTerms {
    /// How many tickets are gone when the pack reads `reading`.
    ///
    /// # Errors
    ///
    /// [`SalesError::OutsidePack`], naming `role`, when the serial is not a
    /// ticket of the pack.
    pub fn sold_at(&self, reading: Reading, role: ReadingRole) -> Result<u32, SalesError> {
        match reading {
            Reading::SoldOut => Ok(self.tickets()),
            Reading::Next(serial) if !self.contains(serial) => Err(SalesError::OutsidePack {
                role,
                serial,
                tickets: self.tickets(),
            }),
            Reading::Next(serial) => Ok(match self.numbering() {
                Numbering::Ascending => serial.get(),
                Numbering::Descending => self.tickets() - 1 - serial.get(),
            }),
        }
    }

    /// The reading of the pack once `sold` tickets are gone, or `None` if
    /// the pack has fewer tickets than that. Inverse of [`PackTerms::sold_at`].
    pub fn reading_after(&self, sold: u32) -> Option<Reading> {
        match sold.cmp(&self.tickets()) {
            std::cmp::Ordering::Greater => None,
            std::cmp::Ordering::Equal => Some(Reading::SoldOut),
            std::cmp::Ordering::Less => Some(Reading::Next(Serial::new(match self.numbering() {
                Numbering::Ascending => sold,
                Numbering::Descending => self.tickets() - 1 - sold,
            }))),
        }
    }

    /// The reading once ticket `last` has sold (the ticket after it, or
    /// sold out after the pack's last ticket).
    ///
    /// # Errors
    ///
    /// [`SalesError::OutsidePack`] (as a closing serial) when `last` is not
    /// a ticket of the pack.
    pub fn reading_after_ticket(&self, last: Serial) -> Result<Reading, SalesError> {
        let sold = self.sold_at(Reading::Next(last), ReadingRole::Closing)?;
        Ok(self
            .reading_after(sold + 1)
            .expect("a ticket of the pack leaves at most the whole pack sold"))
    }
}

/// The tickets sold from `opening` to `closing` on a pack with `terms`.
///
/// ```
/// use tombola_core::lottery::{sold_between, Cents, Numbering, PackTerms, Reading, Serial};
///
/// let terms = PackTerms::new(100, Cents::new(300), Numbering::Descending)?;
/// // Opened at ticket 99, next to sell is 79: tickets 99 to 80 are gone.
/// let sale = sold_between(&terms, Reading::Next(Serial::new(99)), Reading::Next(Serial::new(79)))?;
/// assert_eq!((sale.tickets(), sale.amount()), (20, Cents::new(6_000)));
/// // Sold out counts through ticket 0.
/// let rest = sold_between(&terms, Reading::Next(Serial::new(79)), Reading::SoldOut)?;
/// assert_eq!(rest.tickets(), 80);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`SalesError::OutsidePack`] when either serial is not a ticket of the
/// pack; [`SalesError::Backwards`] when `closing` has fewer tickets sold than
/// `opening`.
pub fn sold_between(
    terms: &PackTerms,
    opening: Reading,
    closing: Reading,
) -> Result<Sale, SalesError> {
    let from = terms.sold_at(opening, ReadingRole::Opening)?;
    let to = terms.sold_at(closing, ReadingRole::Closing)?;
    if to < from {
        return Err(SalesError::Backwards { opening, closing });
    }
    Ok(Sale::of(terms, to - from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(numbering: Numbering) -> PackTerms {
        PackTerms::new(50, Cents::new(1000), numbering).unwrap()
    }

    fn next(serial: u32) -> Reading {
        Reading::Next(Serial::new(serial))
    }

    #[test]
    fn ascending_sales_are_the_difference_of_serials() {
        let up = terms(Numbering::Ascending);
        let sale = sold_between(&up, next(0), next(12)).unwrap();
        assert_eq!((sale.tickets(), sale.amount()), (12, Cents::new(12_000)));
        assert_eq!(sold_between(&up, next(12), next(12)).unwrap().tickets(), 0);
        assert_eq!(
            sold_between(&up, next(12), Reading::SoldOut)
                .unwrap()
                .tickets(),
            38
        );
    }

    #[test]
    fn descending_sales_count_down() {
        let down = terms(Numbering::Descending);
        assert_eq!(
            sold_between(&down, next(49), next(37)).unwrap().tickets(),
            12
        );
        assert_eq!(
            sold_between(&down, next(37), next(0)).unwrap().tickets(),
            37
        );
        // Ticket 0 is the last one: sold out counts it.
        assert_eq!(
            sold_between(&down, next(0), Reading::SoldOut)
                .unwrap()
                .tickets(),
            1
        );
    }

    #[test]
    fn a_whole_pack_is_its_value_either_way() {
        for numbering in [Numbering::Ascending, Numbering::Descending] {
            let terms = terms(numbering);
            let sale =
                sold_between(&terms, Reading::Next(terms.first()), Reading::SoldOut).unwrap();
            assert_eq!(sale.amount(), terms.value());
        }
    }

    #[test]
    fn a_serial_outside_the_pack_names_which_reading() {
        let up = terms(Numbering::Ascending);
        assert_eq!(
            sold_between(&up, next(50), next(3)),
            Err(SalesError::OutsidePack {
                role: ReadingRole::Opening,
                serial: Serial::new(50),
                tickets: 50
            })
        );
        let error = sold_between(&up, next(3), next(77)).unwrap_err();
        assert_eq!(
            error,
            SalesError::OutsidePack {
                role: ReadingRole::Closing,
                serial: Serial::new(77),
                tickets: 50
            }
        );
        assert_eq!(
            error.to_string(),
            "closing serial: ticket 77 is not in a pack of 50 tickets (0 to 49)"
        );
    }

    #[test]
    fn moving_backwards_is_an_error_each_way() {
        let up = terms(Numbering::Ascending);
        assert_eq!(
            sold_between(&up, next(20), next(19)),
            Err(SalesError::Backwards {
                opening: next(20),
                closing: next(19)
            })
        );
        let down = terms(Numbering::Descending);
        assert_eq!(
            sold_between(&down, next(19), next(20)),
            Err(SalesError::Backwards {
                opening: next(19),
                closing: next(20)
            })
        );
        let error = sold_between(&down, Reading::SoldOut, next(0)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "closing serial: next ticket 0 is before the opening sold out"
        );
    }

    #[test]
    fn reading_after_inverts_sold_at() {
        for numbering in [Numbering::Ascending, Numbering::Descending] {
            let terms = terms(numbering);
            for sold in 0..=50 {
                let reading = terms.reading_after(sold).unwrap();
                assert_eq!(terms.sold_at(reading, ReadingRole::Closing), Ok(sold));
            }
            assert_eq!(terms.reading_after(51), None);
        }
        assert_eq!(
            terms(Numbering::Descending).reading_after(1),
            Some(next(48))
        );
    }

    #[test]
    fn the_reading_after_a_last_ticket_sold() {
        let up = terms(Numbering::Ascending);
        assert_eq!(up.reading_after_ticket(Serial::new(9)), Ok(next(10)));
        assert_eq!(
            up.reading_after_ticket(Serial::new(49)),
            Ok(Reading::SoldOut)
        );
        let down = terms(Numbering::Descending);
        assert_eq!(down.reading_after_ticket(Serial::new(9)), Ok(next(8)));
        assert_eq!(
            down.reading_after_ticket(Serial::new(0)),
            Ok(Reading::SoldOut)
        );
        assert_eq!(
            down.reading_after_ticket(Serial::new(50)),
            Err(SalesError::OutsidePack {
                role: ReadingRole::Closing,
                serial: Serial::new(50),
                tickets: 50
            })
        );
    }

    #[test]
    fn readings_serialize_plainly() {
        assert_eq!(serde_json::to_string(&next(7)).unwrap(), r#"{"next":7}"#);
        assert_eq!(
            serde_json::to_string(&Reading::SoldOut).unwrap(),
            r#""sold_out""#
        );
        assert_eq!(
            serde_json::from_str::<Reading>(r#"{"next":7}"#).unwrap(),
            next(7)
        );
    }
}
