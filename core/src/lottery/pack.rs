//! Packs and their lifecycle.
//!
//! ```text
//! RECEIVED --activate(bin, opening serial)--> ACTIVE --settle--> SETTLED
//!     |                                          |
//!     +--return-------> RETURNED <--return(reading)--+
//! ```
//!
//! A pack number is unique per game; a bin holds at most one active pack,
//! and activating into an occupied bin needs a [`Displace`] saying what
//! becomes of the pack already there. Every other transition is a
//! [`PackError::Transition`]. Each function takes what it must check as
//! data (the packs already known, the packs on the counter) and returns the
//! new values for the caller to store; nothing changes when it refuses.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::bin::BinNumber;
use super::game::{Game, GameCode, GameStatus, PackTerms};
use super::sales::{Reading, ReadingRole, SalesError, Serial, sold_between};

/// The largest pack number, nine digits.
pub const MAX_PACK_NUMBER: u32 = 999_999_999;

/// A pack's number within its game, as the lottery prints it.
///
/// Invariant: at most [`MAX_PACK_NUMBER`]. Numbers compare by value, so
/// leading zeros in a barcode field do not matter. Serialized as the bare
/// integer, checked on the way in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PackNumber(u32);

impl PackNumber {
    /// Pack `number`.
    ///
    /// # Errors
    ///
    /// [`PackError::NumberTooLarge`] above [`MAX_PACK_NUMBER`].
    pub fn new(number: u32) -> Result<PackNumber, PackError> {
        if number > MAX_PACK_NUMBER {
            return Err(PackError::NumberTooLarge { found: number });
        }
        Ok(PackNumber(number))
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for PackNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for PackNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PackNumber, D::Error> {
        PackNumber::new(u32::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// What identifies a pack in a store: its game and its number.
///
/// Written `game-number`, like `050-1234567`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackKey {
    /// The pack's game.
    pub game: GameCode,
    /// Its number within the game.
    pub number: PackNumber,
}

impl fmt::Display for PackKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.game, self.number)
    }
}

/// Where a pack is in its lifecycle, without the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PackStatus {
    /// In the store's stock, not yet on the counter.
    Received,
    /// In a bin, selling.
    Active,
    /// Sold out.
    Settled,
    /// Sent back to the distributor.
    Returned,
}

impl fmt::Display for PackStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PackStatus::Received => "RECEIVED",
            PackStatus::Active => "ACTIVE",
            PackStatus::Settled => "SETTLED",
            PackStatus::Returned => "RETURNED",
        })
    }
}

/// A pack that was on the counter when it was returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnedFrom {
    /// The bin it sold from.
    pub bin: BinNumber,
    /// The first ticket it sold from when activated.
    pub opening: Serial,
    /// Where it stood when returned.
    pub reading: Reading,
}

/// Where a pack is in its lifecycle, with what each stage records.
///
/// Serialized with a `status` tag beside the stage's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PackState {
    /// In stock.
    Received,
    /// Selling from `bin`, starting at ticket `opening`.
    Active {
        /// The bin.
        bin: BinNumber,
        /// The first ticket to sell when it was activated.
        opening: Serial,
    },
    /// Sold out, from `bin`.
    Settled {
        /// The bin it sold from.
        bin: BinNumber,
        /// The first ticket it sold from when activated.
        opening: Serial,
    },
    /// Sent back; `from` is `None` for a pack returned straight from stock.
    Returned {
        /// The bin and serials, if it was ever active.
        from: Option<ReturnedFrom>,
    },
}

impl PackState {
    /// The stage, without details.
    pub const fn status(&self) -> PackStatus {
        match self {
            PackState::Received => PackStatus::Received,
            PackState::Active { .. } => PackStatus::Active,
            PackState::Settled { .. } => PackStatus::Settled,
            PackState::Returned { .. } => PackStatus::Returned,
        }
    }
}

/// Why a pack operation is refused. Each variant names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// A pack number above [`MAX_PACK_NUMBER`].
    #[error("number: {found} is above {MAX_PACK_NUMBER}")]
    NumberTooLarge {
        /// The number given.
        found: u32,
    },
    /// The store already has a pack with this game and number.
    #[error("number: pack {pack} is already in the store")]
    Duplicate {
        /// The pack.
        pack: PackKey,
    },
    /// The pack's game code is not the game given for it.
    #[error("game: pack {pack} is not of game {game}")]
    GameMismatch {
        /// The pack.
        pack: PackKey,
        /// The game it was received as.
        game: GameCode,
    },
    /// The game is retired: its packs can no longer be received.
    #[error("game: {game} is inactive and takes no new packs")]
    GameInactive {
        /// The game.
        game: GameCode,
    },
    /// The pack is not in a status it may leave this way.
    #[error("status: pack {pack} is {from} and cannot become {to}")]
    Transition {
        /// The pack.
        pack: PackKey,
        /// Its status.
        from: PackStatus,
        /// The status asked for.
        to: PackStatus,
    },
    /// The bin already holds an active pack and no choice was made for it.
    #[error("bin: bin {bin} holds pack {occupant}; settle or return it to activate another")]
    BinOccupied {
        /// The bin.
        bin: BinNumber,
        /// The pack in it.
        occupant: PackKey,
    },
    /// The choice made for the bin's pack names another pack than the one
    /// there (or the bin is empty): someone changed the bin meanwhile.
    #[error("displace: the choice is for pack {expected} but bin {bin} holds {}",
        found.map_or("no pack".to_owned(), |pack| format!("pack {pack}")))]
    OccupantChanged {
        /// The bin.
        bin: BinNumber,
        /// The pack the choice was for.
        expected: PackKey,
        /// The pack actually there.
        found: Option<PackKey>,
    },
    /// A serial that does not fit the pack (outside it, or before its
    /// opening serial).
    #[error("pack {pack}: {source}")]
    Serial {
        /// The pack.
        pack: PackKey,
        /// What is wrong with the serial.
        source: SalesError,
    },
    /// An active pack returned without saying where it stood.
    #[error("reading: returning active pack {pack} needs its next ticket to sell, or sold out")]
    ReadingRequired {
        /// The pack.
        pack: PackKey,
    },
    /// A pack returned from stock with a reading, though it never sold.
    #[error("reading: pack {pack} was never activated, so it has no reading")]
    ReadingNotActivated {
        /// The pack.
        pack: PackKey,
    },
}

/// What becomes of the pack in an occupied bin when another is activated
/// into it.
///
/// Serialized as `{"action": "settle"}` or
/// `{"action": "return", "reading": ...}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum DisplaceAction {
    /// It is sold out.
    Settle,
    /// It goes back to the distributor, standing at `reading`.
    Return {
        /// Where it stands.
        reading: Reading,
    },
}

/// The explicit choice for the pack already in a bin.
///
/// It names the pack it is for, so a choice made on a stale view of the
/// bin (another clerk activated a pack into it meanwhile) is refused with
/// [`PackError::OccupantChanged`] rather than applied to the wrong pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Displace {
    /// The pack the choice is for.
    pub pack: PackKey,
    /// What becomes of it.
    #[serde(flatten)]
    pub action: DisplaceAction,
}

/// The result of an activation: the pack now active and, if the bin was
/// occupied, the pack that left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// The pack, now [`PackState::Active`].
    pub activated: Pack,
    /// The bin's former pack, now settled or returned.
    pub displaced: Option<Pack>,
}

/// A pack of instant tickets in the store.
///
/// Invariants: the serials its state records are tickets of the pack, and
/// a returned pack's reading is not before its opening serial. The terms
/// are copied from the game when the pack is received. Serialized as
/// `{game, number, terms, status, ...stage fields}`, checked on the way in.
///
/// ```
/// use tombola_core::lottery::{BinNumber, Cents, Game, GameSpec, GameStatus, Numbering,
///     Pack, PackKey, PackNumber, PackStatus};
///
/// let game = Game::new(GameSpec {
///     code: "050".parse()?, name: "Cash Blast".into(), price: Cents::new(500),
///     pack_value: Cents::new(15_000), tickets_per_pack: 30,
///     numbering: Numbering::Ascending, status: GameStatus::Active,
/// })?;
/// let key = PackKey { game: game.code(), number: PackNumber::new(1_234_567)? };
/// let pack = Pack::receive(&game, key, [])?;
/// let bin = BinNumber::new(4)?;
/// let activation = pack.activate(bin, None, [], None)?;
/// assert_eq!(activation.activated.status(), PackStatus::Active);
/// assert_eq!(activation.activated.bin(), Some(bin));
/// // Pack numbers are unique per game.
/// assert!(Pack::receive(&game, key, [&key]).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PackRecord", into = "PackRecord")]
pub struct Pack {
    key: PackKey,
    terms: PackTerms,
    state: PackState,
}

#[derive(Serialize, Deserialize)]
struct PackRecord {
    #[serde(flatten)]
    key: PackKey,
    terms: PackTerms,
    #[serde(flatten)]
    state: PackState,
}

impl TryFrom<PackRecord> for Pack {
    type Error = PackError;

    fn try_from(record: PackRecord) -> Result<Pack, PackError> {
        let pack = Pack {
            key: record.key,
            terms: record.terms,
            state: record.state,
        };
        match pack.state {
            PackState::Received => {}
            PackState::Active { opening, .. } | PackState::Settled { opening, .. } => {
                pack.check_opening(opening)?;
            }
            PackState::Returned { from: None } => {}
            PackState::Returned {
                from: Some(from), ..
            } => {
                pack.check_opening(from.opening)?;
                pack.check_reading(from.opening, from.reading)?;
            }
        }
        Ok(pack)
    }
}

impl From<Pack> for PackRecord {
    fn from(pack: Pack) -> PackRecord {
        PackRecord {
            key: pack.key,
            terms: pack.terms,
            state: pack.state,
        }
    }
}

impl Pack {
    /// Receives pack `key` of `game` into stock. `known` is every pack key
    /// the store already has (any status).
    ///
    /// # Errors
    ///
    /// [`PackError::GameMismatch`] when `key` is of another game,
    /// [`PackError::GameInactive`] for a retired game,
    /// [`PackError::Duplicate`] when `known` holds `key`.
    pub fn receive<'a>(
        game: &Game,
        key: PackKey,
        known: impl IntoIterator<Item = &'a PackKey>,
    ) -> Result<Pack, PackError> {
        if key.game != game.code() {
            return Err(PackError::GameMismatch {
                pack: key,
                game: game.code(),
            });
        }
        if game.status() == GameStatus::Inactive {
            return Err(PackError::GameInactive { game: game.code() });
        }
        if known.into_iter().any(|other| *other == key) {
            return Err(PackError::Duplicate { pack: key });
        }
        Ok(Pack {
            key,
            terms: game.terms(),
            state: PackState::Received,
        })
    }

    /// The pack's game and number.
    pub const fn key(&self) -> PackKey {
        self.key
    }

    /// Its tickets, price and numbering.
    pub const fn terms(&self) -> PackTerms {
        self.terms
    }

    /// Its stage, with details.
    pub const fn state(&self) -> PackState {
        self.state
    }

    /// Its stage.
    pub const fn status(&self) -> PackStatus {
        self.state.status()
    }

    /// The bin it is selling from, if it is active.
    pub const fn bin(&self) -> Option<BinNumber> {
        match self.state {
            PackState::Active { bin, .. } => Some(bin),
            _ => None,
        }
    }

    /// Activates this received pack into `bin`, selling from `opening`
    /// (the pack's first ticket when `None`).
    ///
    /// `on_counter` holds the active packs (others are ignored); if one is
    /// in `bin`, `displace` must name it and say whether it is settled or
    /// returned.
    ///
    /// # Errors
    ///
    /// [`PackError::Transition`] unless the pack is received;
    /// [`PackError::Serial`] for an opening serial outside the pack;
    /// [`PackError::BinOccupied`] for an occupied bin and no `displace`;
    /// [`PackError::OccupantChanged`] when `displace` names another pack
    /// than the one in the bin, or the bin is empty; and the errors of
    /// [`Pack::settle`] or [`Pack::return_to_distributor`] for the pack
    /// displaced.
    pub fn activate<'a>(
        &self,
        bin: BinNumber,
        opening: Option<Serial>,
        on_counter: impl IntoIterator<Item = &'a Pack>,
        displace: Option<Displace>,
    ) -> Result<Activation, PackError> {
        if self.status() != PackStatus::Received {
            return Err(self.transition(PackStatus::Active));
        }
        let opening = opening.unwrap_or(self.terms.first());
        self.check_opening(opening)?;
        let occupant = on_counter.into_iter().find(|pack| pack.bin() == Some(bin));
        let displaced = match (displace, occupant) {
            (None, None) => None,
            (None, Some(occupant)) => {
                return Err(PackError::BinOccupied {
                    bin,
                    occupant: occupant.key,
                });
            }
            (Some(choice), Some(occupant)) if occupant.key == choice.pack => {
                Some(match choice.action {
                    DisplaceAction::Settle => occupant.settle()?,
                    DisplaceAction::Return { reading } => {
                        occupant.return_to_distributor(Some(reading))?
                    }
                })
            }
            (Some(choice), found) => {
                return Err(PackError::OccupantChanged {
                    bin,
                    expected: choice.pack,
                    found: found.map(Pack::key),
                });
            }
        };
        Ok(Activation {
            activated: Pack {
                state: PackState::Active { bin, opening },
                ..self.clone()
            },
            displaced,
        })
    }

    /// Settles this active pack: it is sold out.
    ///
    /// # Errors
    ///
    /// [`PackError::Transition`] unless the pack is active.
    pub fn settle(&self) -> Result<Pack, PackError> {
        match self.state {
            PackState::Active { bin, opening } => Ok(Pack {
                state: PackState::Settled { bin, opening },
                ..self.clone()
            }),
            _ => Err(self.transition(PackStatus::Settled)),
        }
    }

    /// Returns this pack to the distributor: from stock with no reading, or
    /// from its bin with the reading it stands at (see
    /// [`PackTerms::reading_after_ticket`] to turn "the last ticket sold"
    /// into a reading).
    ///
    /// # Errors
    ///
    /// [`PackError::Transition`] for a settled or returned pack;
    /// [`PackError::ReadingRequired`] for an active pack without a reading;
    /// [`PackError::ReadingNotActivated`] for a received pack with one;
    /// [`PackError::Serial`] for a reading outside the pack or before its
    /// opening serial.
    pub fn return_to_distributor(&self, reading: Option<Reading>) -> Result<Pack, PackError> {
        let from = match (self.state, reading) {
            (PackState::Received, None) => None,
            (PackState::Received, Some(_)) => {
                return Err(PackError::ReadingNotActivated { pack: self.key });
            }
            (PackState::Active { .. }, None) => {
                return Err(PackError::ReadingRequired { pack: self.key });
            }
            (PackState::Active { bin, opening }, Some(reading)) => {
                self.check_reading(opening, reading)?;
                Some(ReturnedFrom {
                    bin,
                    opening,
                    reading,
                })
            }
            (PackState::Settled { .. } | PackState::Returned { .. }, _) => {
                return Err(self.transition(PackStatus::Returned));
            }
        };
        Ok(Pack {
            state: PackState::Returned { from },
            ..self.clone()
        })
    }

    fn transition(&self, to: PackStatus) -> PackError {
        PackError::Transition {
            pack: self.key,
            from: self.status(),
            to,
        }
    }

    fn check_opening(&self, opening: Serial) -> Result<(), PackError> {
        if self.terms.contains(opening) {
            return Ok(());
        }
        Err(PackError::Serial {
            pack: self.key,
            source: SalesError::OutsidePack {
                role: ReadingRole::Opening,
                serial: opening,
                tickets: self.terms.tickets(),
            },
        })
    }

    fn check_reading(&self, opening: Serial, reading: Reading) -> Result<(), PackError> {
        sold_between(&self.terms, Reading::Next(opening), reading)
            .map(drop)
            .map_err(|source| PackError::Serial {
                pack: self.key,
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lottery::game::{GameSpec, Numbering};
    use crate::lottery::money::Cents;

    fn game(numbering: Numbering) -> Game {
        Game::new(GameSpec {
            code: GameCode::new(50).unwrap(),
            name: "Cash Blast".into(),
            price: Cents::new(500),
            pack_value: Cents::new(15_000),
            tickets_per_pack: 30,
            numbering,
            status: GameStatus::Active,
        })
        .unwrap()
    }

    fn key(number: u32) -> PackKey {
        PackKey {
            game: GameCode::new(50).unwrap(),
            number: PackNumber::new(number).unwrap(),
        }
    }

    fn bin(number: u32) -> BinNumber {
        BinNumber::new(number).unwrap()
    }

    fn received(number: u32) -> Pack {
        Pack::receive(&game(Numbering::Ascending), key(number), []).unwrap()
    }

    fn active(number: u32, in_bin: u32) -> Pack {
        received(number)
            .activate(bin(in_bin), None, [], None)
            .unwrap()
            .activated
    }

    fn next(serial: u32) -> Reading {
        Reading::Next(Serial::new(serial))
    }

    #[test]
    fn pack_numbers_have_at_most_nine_digits() {
        assert_eq!(PackNumber::new(999_999_999).unwrap().get(), 999_999_999);
        assert_eq!(
            PackNumber::new(1_000_000_000),
            Err(PackError::NumberTooLarge {
                found: 1_000_000_000
            })
        );
        assert!(serde_json::from_str::<PackNumber>("1000000000").is_err());
        assert_eq!(key(1_234_567).to_string(), "050-1234567");
    }

    #[test]
    fn receiving_copies_the_terms_of_the_game() {
        let game = game(Numbering::Descending);
        let pack = Pack::receive(&game, key(1), []).unwrap();
        assert_eq!(pack.status(), PackStatus::Received);
        assert_eq!(pack.terms(), game.terms());
        assert_eq!(pack.key(), key(1));
        assert_eq!(pack.bin(), None);
    }

    #[test]
    fn a_pack_number_is_unique_per_game() {
        let game = game(Numbering::Ascending);
        let other_game = PackKey {
            game: GameCode::new(51).unwrap(),
            ..key(1)
        };
        let known = [key(2), other_game];
        assert!(Pack::receive(&game, key(1), &known).is_ok());
        assert_eq!(
            Pack::receive(&game, key(2), &known),
            Err(PackError::Duplicate { pack: key(2) })
        );
    }

    #[test]
    fn receiving_checks_the_game() {
        let game = game(Numbering::Ascending);
        let wrong = PackKey {
            game: GameCode::new(51).unwrap(),
            ..key(1)
        };
        assert_eq!(
            Pack::receive(&game, wrong, []),
            Err(PackError::GameMismatch {
                pack: wrong,
                game: game.code()
            })
        );
        let retired = game.with_status(GameStatus::Inactive);
        assert_eq!(
            Pack::receive(&retired, key(1), []),
            Err(PackError::GameInactive { game: game.code() })
        );
    }

    #[test]
    fn activation_starts_at_the_first_ticket_by_default() {
        let pack = active(1, 3);
        assert_eq!(
            pack.state(),
            PackState::Active {
                bin: bin(3),
                opening: Serial::new(0)
            }
        );
        let down = Pack::receive(&game(Numbering::Descending), key(2), []).unwrap();
        let activated = down.activate(bin(4), None, [], None).unwrap().activated;
        assert_eq!(
            activated.state(),
            PackState::Active {
                bin: bin(4),
                opening: Serial::new(29)
            }
        );
    }

    #[test]
    fn activation_takes_an_opening_serial_inside_the_pack() {
        let pack = received(1);
        let at_ten = pack
            .activate(bin(1), Some(Serial::new(10)), [], None)
            .unwrap();
        assert_eq!(
            at_ten.activated.state(),
            PackState::Active {
                bin: bin(1),
                opening: Serial::new(10)
            }
        );
        assert_eq!(
            pack.activate(bin(1), Some(Serial::new(30)), [], None),
            Err(PackError::Serial {
                pack: key(1),
                source: SalesError::OutsidePack {
                    role: ReadingRole::Opening,
                    serial: Serial::new(30),
                    tickets: 30
                }
            })
        );
    }

    #[test]
    fn an_occupied_bin_needs_an_explicit_choice() {
        let occupant = active(1, 3);
        let elsewhere = active(2, 4);
        let counter = [occupant.clone(), elsewhere];
        let newcomer = received(3);
        assert_eq!(
            newcomer.activate(bin(3), None, &counter, None),
            Err(PackError::BinOccupied {
                bin: bin(3),
                occupant: key(1)
            })
        );
        // Another bin is free.
        let free = newcomer.activate(bin(5), None, &counter, None).unwrap();
        assert_eq!(free.displaced, None);
    }

    #[test]
    fn displacing_settles_or_returns_the_pack_in_the_bin() {
        let occupant = active(1, 3);
        let newcomer = received(2);
        let settle = Displace {
            pack: key(1),
            action: DisplaceAction::Settle,
        };
        let settled = newcomer
            .activate(bin(3), None, [&occupant], Some(settle))
            .unwrap();
        assert_eq!(settled.activated.bin(), Some(bin(3)));
        let displaced = settled.displaced.unwrap();
        assert_eq!(
            displaced.state(),
            PackState::Settled {
                bin: bin(3),
                opening: Serial::new(0)
            }
        );

        let give_back = Displace {
            pack: key(1),
            action: DisplaceAction::Return { reading: next(12) },
        };
        let returned = newcomer
            .activate(bin(3), None, [&occupant], Some(give_back))
            .unwrap();
        assert_eq!(
            returned.displaced.unwrap().state(),
            PackState::Returned {
                from: Some(ReturnedFrom {
                    bin: bin(3),
                    opening: Serial::new(0),
                    reading: next(12)
                })
            }
        );
    }

    #[test]
    fn a_choice_for_another_pack_is_refused() {
        let occupant = active(1, 3);
        let newcomer = received(2);
        let stale = Displace {
            pack: key(9),
            action: DisplaceAction::Settle,
        };
        assert_eq!(
            newcomer.activate(bin(3), None, [&occupant], Some(stale)),
            Err(PackError::OccupantChanged {
                bin: bin(3),
                expected: key(9),
                found: Some(key(1))
            })
        );
        let error = newcomer
            .activate(bin(7), None, [&occupant], Some(stale))
            .unwrap_err();
        assert_eq!(
            error,
            PackError::OccupantChanged {
                bin: bin(7),
                expected: key(9),
                found: None
            }
        );
        assert_eq!(
            error.to_string(),
            "displace: the choice is for pack 050-9 but bin 7 holds no pack"
        );
    }

    #[test]
    fn a_bad_return_of_the_displaced_pack_refuses_the_activation() {
        let occupant = received(1)
            .activate(bin(3), Some(Serial::new(10)), [], None)
            .unwrap()
            .activated;
        let backwards = Displace {
            pack: key(1),
            action: DisplaceAction::Return { reading: next(5) },
        };
        assert_eq!(
            received(2).activate(bin(3), None, [&occupant], Some(backwards)),
            Err(PackError::Serial {
                pack: key(1),
                source: SalesError::Backwards {
                    opening: next(10),
                    closing: next(5)
                }
            })
        );
    }

    #[test]
    fn settling_needs_an_active_pack() {
        let settled = active(1, 3).settle().unwrap();
        assert_eq!(settled.status(), PackStatus::Settled);
        assert_eq!(settled.bin(), None);
        for (pack, from) in [
            (received(2), PackStatus::Received),
            (settled.clone(), PackStatus::Settled),
            (
                received(3).return_to_distributor(None).unwrap(),
                PackStatus::Returned,
            ),
        ] {
            assert_eq!(
                pack.settle(),
                Err(PackError::Transition {
                    pack: pack.key(),
                    from,
                    to: PackStatus::Settled
                })
            );
        }
    }

    #[test]
    fn activating_needs_a_received_pack() {
        let on = active(1, 3);
        assert_eq!(
            on.activate(bin(4), None, [], None),
            Err(PackError::Transition {
                pack: key(1),
                from: PackStatus::Active,
                to: PackStatus::Active
            })
        );
        let settled = on.settle().unwrap();
        let error = settled.activate(bin(4), None, [], None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "status: pack 050-1 is SETTLED and cannot become ACTIVE"
        );
        let returned = received(2).return_to_distributor(None).unwrap();
        assert_eq!(
            returned.activate(bin(4), None, [], None),
            Err(PackError::Transition {
                pack: key(2),
                from: PackStatus::Returned,
                to: PackStatus::Active
            })
        );
    }

    #[test]
    fn returning_from_stock_takes_no_reading() {
        let pack = received(1);
        assert_eq!(
            pack.return_to_distributor(None).unwrap().state(),
            PackState::Returned { from: None }
        );
        assert_eq!(
            pack.return_to_distributor(Some(next(0))),
            Err(PackError::ReadingNotActivated { pack: key(1) })
        );
    }

    #[test]
    fn returning_from_a_bin_takes_a_reading_inside_the_pack() {
        let pack = active(1, 3);
        assert_eq!(
            pack.return_to_distributor(None),
            Err(PackError::ReadingRequired { pack: key(1) })
        );
        assert_eq!(
            pack.return_to_distributor(Some(next(30))),
            Err(PackError::Serial {
                pack: key(1),
                source: SalesError::OutsidePack {
                    role: ReadingRole::Closing,
                    serial: Serial::new(30),
                    tickets: 30
                }
            })
        );
        let gone = pack.return_to_distributor(Some(Reading::SoldOut)).unwrap();
        assert_eq!(gone.status(), PackStatus::Returned);
    }

    #[test]
    fn returning_twice_or_after_settling_is_refused() {
        let returned = received(1).return_to_distributor(None).unwrap();
        assert_eq!(
            returned.return_to_distributor(None),
            Err(PackError::Transition {
                pack: key(1),
                from: PackStatus::Returned,
                to: PackStatus::Returned
            })
        );
        let settled = active(2, 1).settle().unwrap();
        assert_eq!(
            settled.return_to_distributor(Some(next(3))),
            Err(PackError::Transition {
                pack: key(2),
                from: PackStatus::Settled,
                to: PackStatus::Returned
            })
        );
    }

    #[test]
    fn packs_round_trip_through_json_in_every_stage() {
        let active = active(1, 3);
        let stages = [
            received(1),
            active.clone(),
            active.settle().unwrap(),
            active.return_to_distributor(Some(next(7))).unwrap(),
            received(1).return_to_distributor(None).unwrap(),
        ];
        for pack in stages {
            let json = serde_json::to_string(&pack).unwrap();
            assert_eq!(serde_json::from_str::<Pack>(&json).unwrap(), pack, "{json}");
        }
        let json = serde_json::to_value(&active).unwrap();
        assert_eq!(json["status"], "ACTIVE");
        assert_eq!(json["game"], "050");
        assert_eq!(json["bin"], 3);
    }

    #[test]
    fn a_stored_pack_with_a_bad_serial_is_refused() {
        let mut json = serde_json::to_value(active(1, 3)).unwrap();
        json["opening"] = 30.into();
        let error = serde_json::from_value::<Pack>(json).unwrap_err();
        assert!(
            error.to_string().contains("opening serial: ticket 30"),
            "{error}"
        );

        let returned = received(1)
            .activate(bin(2), Some(Serial::new(10)), [], None)
            .unwrap()
            .activated
            .return_to_distributor(Some(next(12)))
            .unwrap();
        let mut json = serde_json::to_value(returned).unwrap();
        json["from"]["reading"] = serde_json::json!({"next": 4});
        let error = serde_json::from_value::<Pack>(json).unwrap_err();
        assert!(
            error.to_string().contains("is before the opening"),
            "{error}"
        );
    }

    #[test]
    fn displace_choices_serialize_flat() {
        let choice = Displace {
            pack: key(1),
            action: DisplaceAction::Return { reading: next(4) },
        };
        let json = serde_json::to_value(choice).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"pack": {"game": "050", "number": 1}, "action": "return",
                "reading": {"next": 4}})
        );
        assert_eq!(serde_json::from_value::<Displace>(json).unwrap(), choice);
    }
}
