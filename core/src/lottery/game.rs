//! Games: what the lottery sells, and how each game's packs are made.
//!
//! A game is defined by the lottery (and, in Tombola, by the cloud): its
//! code, name, price, pack size and how its tickets are numbered. The part
//! a pack needs for counting sales is [`PackTerms`]; a pack copies it when
//! it is received, so a later edit of the game never changes what an old
//! pack was worth.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::money::Cents;
use super::sales::Serial;

/// The most tickets one pack may hold, so that every ticket number fits in
/// four digits.
pub const MAX_TICKETS_PER_PACK: u32 = 10_000;

/// The highest ticket price, in cents (10 000.00).
pub const MAX_PRICE: Cents = Cents::new(1_000_000);

/// The longest game name, in characters.
pub const MAX_GAME_NAME_CHARS: usize = 128;

/// The largest game code, `9999`.
pub const MAX_GAME_CODE: u16 = 9999;

/// Why a game code is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Not 3 or 4 characters long.
    #[error("must be 3 or 4 digits, found {found} characters")]
    Length {
        /// How many characters there were.
        found: usize,
    },
    /// A character that is not an ASCII digit.
    #[error("has {found:?} at position {at}; only digits are allowed")]
    NotADigit {
        /// Byte position of the character.
        at: usize,
        /// The character.
        found: char,
    },
    /// A number above [`MAX_GAME_CODE`].
    #[error("{value} is above {MAX_GAME_CODE}")]
    TooLarge {
        /// The number given.
        value: u32,
    },
}

/// A game's number as the lottery prints it: 3 or 4 digits.
///
/// Invariant: at most [`MAX_GAME_CODE`]. Codes compare by value, so `050`
/// and `0050` (the same game in a 3-digit and a 4-digit barcode field) are
/// equal. Written with at least three digits; serialized as that string.
///
/// ```
/// use tombola_core::lottery::GameCode;
///
/// let code: GameCode = "050".parse()?;
/// assert_eq!(code, "0050".parse()?);
/// assert_eq!(code.to_string(), "050");
/// assert!("50".parse::<GameCode>().is_err());
/// # Ok::<(), tombola_core::lottery::CodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GameCode(u16);

impl GameCode {
    /// The game numbered `value`.
    ///
    /// # Errors
    ///
    /// [`CodeError::TooLarge`] above [`MAX_GAME_CODE`].
    pub fn new(value: u32) -> Result<GameCode, CodeError> {
        match u16::try_from(value) {
            Ok(code) if code <= MAX_GAME_CODE => Ok(GameCode(code)),
            _ => Err(CodeError::TooLarge { value }),
        }
    }

    /// The number.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for GameCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

impl FromStr for GameCode {
    type Err = CodeError;

    /// Reads 3 or 4 ASCII digits.
    fn from_str(text: &str) -> Result<GameCode, CodeError> {
        if let Some((at, found)) = text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(CodeError::NotADigit { at, found });
        }
        if !(3..=4).contains(&text.len()) {
            return Err(CodeError::Length { found: text.len() });
        }
        let value = text
            .bytes()
            .fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0'));
        GameCode::new(value)
    }
}

impl Serialize for GameCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GameCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<GameCode, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How a game's tickets are numbered, which decides what "the next ticket to
/// sell" means when a clerk reads it off the pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Numbering {
    /// The first ticket sold is 0, then 1, up to `tickets_per_pack - 1`.
    Ascending,
    /// The first ticket sold is `tickets_per_pack - 1`, then down to 0.
    Descending,
}

/// Whether a game's packs may still be received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GameStatus {
    /// On sale: new packs may be received.
    Active,
    /// Retired: packs already in the store sell out or go back, no new ones.
    Inactive,
}

/// Why a game, or the terms of its packs, is invalid. Each variant names
/// the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GameError {
    /// The game code.
    #[error("code: {0}")]
    Code(#[from] CodeError),
    /// The name is empty or only spaces.
    #[error("name: is empty")]
    NameEmpty,
    /// The name is longer than [`MAX_GAME_NAME_CHARS`] characters.
    #[error("name: is longer than {MAX_GAME_NAME_CHARS} characters")]
    NameTooLong,
    /// The name holds a control character (newline, tab...).
    #[error("name: has a control character at byte {at}")]
    NameControl {
        /// Byte position of the character.
        at: usize,
    },
    /// The price is zero or above [`MAX_PRICE`].
    #[error("price: {price} cents is not between 1 and {MAX_PRICE} cents", price = .price.get())]
    Price {
        /// The price given.
        price: Cents,
    },
    /// No tickets, or more than [`MAX_TICKETS_PER_PACK`].
    #[error("tickets_per_pack: {found} is not between 1 and {MAX_TICKETS_PER_PACK}")]
    TicketsPerPack {
        /// The number given.
        found: u32,
    },
    /// The pack value is not the price times the tickets per pack.
    #[error(
        "pack_value: {given} cents is not price x tickets_per_pack = {expected} cents",
        given = .given.get(),
        expected = .expected.get()
    )]
    PackValue {
        /// The pack value given.
        given: Cents,
        /// Price times tickets per pack.
        expected: Cents,
    },
}

/// What a pack of a game is: how many tickets, at what price, numbered
/// which way.
///
/// Invariant: 1 to [`MAX_TICKETS_PER_PACK`] tickets at 1 cent to
/// [`MAX_PRICE`], so the pack's value and any sum of a few billion packs fit
/// in a `u64` of cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "TermsRecord", into = "TermsRecord")]
pub struct PackTerms {
    tickets: u32,
    price: Cents,
    numbering: Numbering,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TermsRecord {
    tickets_per_pack: u32,
    price: Cents,
    numbering: Numbering,
}

impl TryFrom<TermsRecord> for PackTerms {
    type Error = GameError;

    fn try_from(record: TermsRecord) -> Result<PackTerms, GameError> {
        PackTerms::new(record.tickets_per_pack, record.price, record.numbering)
    }
}

impl From<PackTerms> for TermsRecord {
    fn from(terms: PackTerms) -> TermsRecord {
        TermsRecord {
            tickets_per_pack: terms.tickets,
            price: terms.price,
            numbering: terms.numbering,
        }
    }
}

impl PackTerms {
    /// Packs of `tickets` tickets at `price` each, numbered `numbering`.
    ///
    /// # Errors
    ///
    /// [`GameError::TicketsPerPack`] or [`GameError::Price`] out of bounds.
    pub fn new(tickets: u32, price: Cents, numbering: Numbering) -> Result<PackTerms, GameError> {
        if !(1..=MAX_TICKETS_PER_PACK).contains(&tickets) {
            return Err(GameError::TicketsPerPack { found: tickets });
        }
        if price == Cents::ZERO || price > MAX_PRICE {
            return Err(GameError::Price { price });
        }
        Ok(PackTerms {
            tickets,
            price,
            numbering,
        })
    }

    /// Tickets in one pack.
    pub const fn tickets(&self) -> u32 {
        self.tickets
    }

    /// Price of one ticket.
    pub const fn price(&self) -> Cents {
        self.price
    }

    /// Which way the tickets are numbered.
    pub const fn numbering(&self) -> Numbering {
        self.numbering
    }

    /// What the whole pack sells for: price x tickets.
    pub fn value(&self) -> Cents {
        Cents::new(self.price.get() * u64::from(self.tickets))
    }

    /// The ticket sold first: 0 ascending, `tickets - 1` descending.
    pub const fn first(&self) -> Serial {
        match self.numbering {
            Numbering::Ascending => Serial::new(0),
            Numbering::Descending => Serial::new(self.tickets - 1),
        }
    }

    /// The ticket sold last: `tickets - 1` ascending, 0 descending.
    pub const fn last(&self) -> Serial {
        match self.numbering {
            Numbering::Ascending => Serial::new(self.tickets - 1),
            Numbering::Descending => Serial::new(0),
        }
    }

    /// Whether `serial` is a ticket of the pack (below `tickets`).
    pub const fn contains(&self, serial: Serial) -> bool {
        serial.get() < self.tickets
    }
}

/// A game as the cloud defines it and a request or a stored row spells it.
///
/// Only [`Game::new`] turns it into a [`Game`], checking every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameSpec {
    /// The lottery's game number.
    pub code: GameCode,
    /// Display name.
    pub name: String,
    /// Price of one ticket.
    pub price: Cents,
    /// What a whole pack sells for; must be `price x tickets_per_pack`.
    pub pack_value: Cents,
    /// Tickets in one pack.
    pub tickets_per_pack: u32,
    /// Which way tickets are numbered.
    pub numbering: Numbering,
    /// Whether new packs may be received.
    pub status: GameStatus,
}

/// A valid game.
///
/// Invariants: the name is 1 to [`MAX_GAME_NAME_CHARS`] characters with no
/// control character and not only spaces; the terms keep [`PackTerms`]'s;
/// the pack value is exactly price x tickets per pack. Serialized as its
/// [`GameSpec`], and deserializing checks it again.
///
/// ```
/// use tombola_core::lottery::{Cents, Game, GameSpec, GameStatus, Numbering};
///
/// let game = Game::new(GameSpec {
///     code: "123".parse()?,
///     name: "Lucky 7s".into(),
///     price: Cents::new(200),
///     pack_value: Cents::new(30_000),
///     tickets_per_pack: 150,
///     numbering: Numbering::Descending,
///     status: GameStatus::Active,
/// })?;
/// assert_eq!(game.terms().first().get(), 149);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "GameSpec", into = "GameSpec")]
pub struct Game {
    code: GameCode,
    name: String,
    terms: PackTerms,
    status: GameStatus,
}

impl TryFrom<GameSpec> for Game {
    type Error = GameError;

    fn try_from(spec: GameSpec) -> Result<Game, GameError> {
        Game::new(spec)
    }
}

impl From<Game> for GameSpec {
    fn from(game: Game) -> GameSpec {
        GameSpec {
            code: game.code,
            pack_value: game.terms.value(),
            price: game.terms.price,
            tickets_per_pack: game.terms.tickets,
            numbering: game.terms.numbering,
            status: game.status,
            name: game.name,
        }
    }
}

impl Game {
    /// Checks `spec` and makes the game.
    ///
    /// # Errors
    ///
    /// The first field at fault, in the order name, tickets per pack, price,
    /// pack value (see [`GameError`]).
    pub fn new(spec: GameSpec) -> Result<Game, GameError> {
        check_name(&spec.name)?;
        let terms = PackTerms::new(spec.tickets_per_pack, spec.price, spec.numbering)?;
        if spec.pack_value != terms.value() {
            return Err(GameError::PackValue {
                given: spec.pack_value,
                expected: terms.value(),
            });
        }
        Ok(Game {
            code: spec.code,
            name: spec.name,
            terms,
            status: spec.status,
        })
    }

    /// The game's code.
    pub const fn code(&self) -> GameCode {
        self.code
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What one of its packs is.
    pub const fn terms(&self) -> PackTerms {
        self.terms
    }

    /// Active or inactive.
    pub const fn status(&self) -> GameStatus {
        self.status
    }

    /// The same game with another status (retired, or back on sale).
    pub fn with_status(&self, status: GameStatus) -> Game {
        Game {
            status,
            ..self.clone()
        }
    }
}

fn check_name(name: &str) -> Result<(), GameError> {
    if let Some((at, _)) = name.char_indices().find(|(_, c)| c.is_control()) {
        return Err(GameError::NameControl { at });
    }
    if name.trim().is_empty() {
        return Err(GameError::NameEmpty);
    }
    if name.chars().count() > MAX_GAME_NAME_CHARS {
        return Err(GameError::NameTooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> GameSpec {
        GameSpec {
            code: GameCode::new(123).unwrap(),
            name: "Lucky 7s".into(),
            price: Cents::new(200),
            pack_value: Cents::new(30_000),
            tickets_per_pack: 150,
            numbering: Numbering::Ascending,
            status: GameStatus::Active,
        }
    }

    #[test]
    fn code_reads_three_or_four_digits_by_value() {
        assert_eq!("123".parse::<GameCode>().unwrap().get(), 123);
        assert_eq!("0123".parse::<GameCode>().unwrap().get(), 123);
        assert_eq!("9999".parse::<GameCode>().unwrap().get(), 9999);
        assert_eq!("007".parse::<GameCode>().unwrap().to_string(), "007");
        assert_eq!(GameCode::new(1234).unwrap().to_string(), "1234");
    }

    #[test]
    fn code_errors_name_the_position_or_the_length() {
        assert_eq!(
            "12".parse::<GameCode>(),
            Err(CodeError::Length { found: 2 })
        );
        assert_eq!(
            "12345".parse::<GameCode>(),
            Err(CodeError::Length { found: 5 })
        );
        assert_eq!(
            "1x3".parse::<GameCode>(),
            Err(CodeError::NotADigit { at: 1, found: 'x' })
        );
        assert_eq!(
            GameCode::new(10_000),
            Err(CodeError::TooLarge { value: 10_000 })
        );
        assert_eq!(
            GameCode::new(70_000),
            Err(CodeError::TooLarge { value: 70_000 })
        );
    }

    #[test]
    fn code_serializes_as_its_string() {
        let code = GameCode::new(50).unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), r#""050""#);
        assert_eq!(serde_json::from_str::<GameCode>(r#""0050""#).unwrap(), code);
        let error = serde_json::from_str::<GameCode>(r#""5a0""#).unwrap_err();
        assert!(error.to_string().contains("position 1"), "{error}");
    }

    #[test]
    fn terms_know_the_first_and_last_ticket_each_way() {
        let up = PackTerms::new(30, Cents::new(500), Numbering::Ascending).unwrap();
        assert_eq!((up.first().get(), up.last().get()), (0, 29));
        let down = PackTerms::new(30, Cents::new(500), Numbering::Descending).unwrap();
        assert_eq!((down.first().get(), down.last().get()), (29, 0));
        assert!(up.contains(Serial::new(29)));
        assert!(!up.contains(Serial::new(30)));
        assert_eq!(up.value(), Cents::new(15_000));
    }

    #[test]
    fn terms_bound_tickets_and_price() {
        let ascending = Numbering::Ascending;
        assert_eq!(
            PackTerms::new(0, Cents::new(100), ascending),
            Err(GameError::TicketsPerPack { found: 0 })
        );
        assert_eq!(
            PackTerms::new(MAX_TICKETS_PER_PACK + 1, Cents::new(100), ascending),
            Err(GameError::TicketsPerPack { found: 10_001 })
        );
        assert_eq!(
            PackTerms::new(10, Cents::ZERO, ascending),
            Err(GameError::Price { price: Cents::ZERO })
        );
        assert_eq!(
            PackTerms::new(10, Cents::new(1_000_001), ascending),
            Err(GameError::Price {
                price: Cents::new(1_000_001)
            })
        );
        let largest = PackTerms::new(MAX_TICKETS_PER_PACK, MAX_PRICE, ascending).unwrap();
        assert_eq!(largest.value(), Cents::new(10_000_000_000));
    }

    #[test]
    fn game_checks_the_pack_value() {
        let game = Game::new(spec()).unwrap();
        assert_eq!(game.terms().value(), Cents::new(30_000));
        let wrong = GameSpec {
            pack_value: Cents::new(29_999),
            ..spec()
        };
        let error = Game::new(wrong).unwrap_err();
        assert_eq!(
            error,
            GameError::PackValue {
                given: Cents::new(29_999),
                expected: Cents::new(30_000)
            }
        );
        assert_eq!(
            error.to_string(),
            "pack_value: 29999 cents is not price x tickets_per_pack = 30000 cents"
        );
    }

    #[test]
    fn game_checks_the_name() {
        let named = |name: &str| {
            Game::new(GameSpec {
                name: name.into(),
                ..spec()
            })
        };
        assert_eq!(named("  "), Err(GameError::NameEmpty));
        assert_eq!(named(""), Err(GameError::NameEmpty));
        assert_eq!(named("Lucky\n7s"), Err(GameError::NameControl { at: 5 }));
        assert_eq!(named(&"x".repeat(129)), Err(GameError::NameTooLong));
        assert!(named(&"é".repeat(128)).is_ok());
    }

    #[test]
    fn game_errors_name_their_field() {
        let bad_price = Game::new(GameSpec {
            price: Cents::ZERO,
            ..spec()
        })
        .unwrap_err();
        assert!(bad_price.to_string().starts_with("price: "), "{bad_price}");
        let bad_tickets = Game::new(GameSpec {
            tickets_per_pack: 0,
            ..spec()
        })
        .unwrap_err();
        assert!(
            bad_tickets.to_string().starts_with("tickets_per_pack: "),
            "{bad_tickets}"
        );
        let bad_code = GameError::from(CodeError::Length { found: 2 });
        assert!(bad_code.to_string().starts_with("code: "), "{bad_code}");
    }

    #[test]
    fn game_round_trips_through_json_and_is_checked_on_the_way_in() {
        let game = Game::new(spec()).unwrap();
        let json = serde_json::to_value(&game).unwrap();
        assert_eq!(json["pack_value"], 30_000);
        assert_eq!(json["status"], "ACTIVE");
        assert_eq!(json["numbering"], "ascending");
        assert_eq!(serde_json::from_value::<Game>(json.clone()).unwrap(), game);
        let mut tampered = json;
        tampered["pack_value"] = 1.into();
        let error = serde_json::from_value::<Game>(tampered).unwrap_err();
        assert!(error.to_string().starts_with("pack_value: "), "{error}");
    }

    #[test]
    fn retiring_keeps_everything_else() {
        let game = Game::new(spec()).unwrap();
        let retired = game.with_status(GameStatus::Inactive);
        assert_eq!(retired.status(), GameStatus::Inactive);
        assert_eq!(retired.terms(), game.terms());
        assert_eq!(retired.name(), "Lucky 7s");
        assert_eq!(retired.code(), game.code());
    }
}
