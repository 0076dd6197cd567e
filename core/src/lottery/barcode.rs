//! Barcodes: the digit strings on instant tickets, read through a layout.
//!
//! US instant tickets carry the game, pack and ticket numbers in a string of
//! digits whose layout differs by state and vendor, so a [`BarcodeLayout`]
//! is data: where each field starts and how wide it is, and how many
//! validation digits follow. The common layouts ship as named defaults
//! ([`BarcodeLayout::defaults`]); a store's choice is a setting read by
//! [`BarcodeLayout::from_setting`].
//!
//! Dashes and spaces are ignored wherever they are. The validation digits
//! are checked to be digits and then dropped: a [`Barcode`] has no place to
//! keep them. A code may also be given without them, as it is printed on
//! the back of a ticket.
//!
//! ```
//! use tombola_core::lottery::{BarcodeError, BarcodeField, BarcodeLayout};
//!
//! let layout = BarcodeLayout::named("back-3-6-3").unwrap();
//! let barcode = layout.parse("050-123456-007")?;
//! assert_eq!(barcode.key().to_string(), "050-123456");
//! assert_eq!(barcode.ticket.get(), 7);
//! assert_eq!(layout.format(&barcode)?, "050-123456-007");
//!
//! let error = layout.parse("050-12X456-007").unwrap_err();
//! assert_eq!(error, BarcodeError::InvalidChar { field: BarcodeField::Pack, at: 6, found: 'X' });
//! # Ok::<(), BarcodeError>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use super::game::GameCode;
use super::pack::{PackKey, PackNumber};
use super::sales::Serial;

/// The longest layout, in digits.
pub const MAX_LAYOUT_DIGITS: u8 = 64;

/// The longest layout name, in bytes.
pub const MAX_LAYOUT_NAME: usize = 32;

/// The name of the layout a store uses unless it chooses another.
pub const DEFAULT_LAYOUT: &str = "back-3-6-3";

/// A part of a barcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarcodeField {
    /// The game code.
    Game,
    /// The pack number.
    Pack,
    /// The ticket number.
    Ticket,
    /// Digits after the fields, which only the lottery can check.
    Validation,
}

impl fmt::Display for BarcodeField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BarcodeField::Game => "game",
            BarcodeField::Pack => "pack",
            BarcodeField::Ticket => "ticket",
            BarcodeField::Validation => "validation",
        })
    }
}

/// Why a digit string does not read as a barcode of a layout, or a barcode
/// does not fit one. Each variant names the field and, when reading, the
/// byte position in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    /// No digits at all.
    #[error("barcode: has no digits")]
    Empty,
    /// A character that is not a digit, a dash or a space.
    #[error("{field}: {found:?} at position {at} is not a digit")]
    InvalidChar {
        /// The field the character stands in.
        field: BarcodeField,
        /// Byte position in the text.
        at: usize,
        /// The character.
        found: char,
    },
    /// The digits end inside a field.
    #[error("{field}: the code ends at position {at} after {found} digits; {needed} are needed")]
    TooShort {
        /// The field left incomplete.
        field: BarcodeField,
        /// Byte position where the text ends.
        at: usize,
        /// Digits found.
        found: usize,
        /// Digits needed to complete the field.
        needed: usize,
    },
    /// More digits than the layout has.
    #[error("validation: the layout has {length} digits but the code goes on at position {at}")]
    TooLong {
        /// Byte position of the first digit too many.
        at: usize,
        /// The layout's length.
        length: usize,
    },
    /// A value too wide for its field when formatting.
    #[error("{field}: {value} does not fit in {width} digits")]
    DoesNotFit {
        /// The field.
        field: BarcodeField,
        /// The value.
        value: u32,
        /// The field's width.
        width: u8,
    },
}

/// Why a layout is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// A name that is empty, too long, or not `a-z 0-9 -`.
    #[error("name: {name:?} must be 1 to {MAX_LAYOUT_NAME} characters of a-z 0-9 -")]
    Name {
        /// The name.
        name: String,
    },
    /// A setting naming no default layout.
    #[error("name: no default layout is called {name:?}")]
    UnknownName {
        /// The name.
        name: String,
    },
    /// A setting that looks like a layout but does not read as one.
    #[error("layout: {reason}")]
    Malformed {
        /// What the JSON reader said.
        reason: String,
    },
    /// A field narrower or wider than it may be.
    #[error("{field}: width {width} is not between {min} and {max}")]
    Width {
        /// The field.
        field: BarcodeField,
        /// Its width.
        width: u8,
        /// The narrowest allowed.
        min: u8,
        /// The widest allowed.
        max: u8,
    },
    /// Two fields share digits.
    #[error("{second}: overlaps {first} at digit {at}")]
    Overlap {
        /// The field that starts first.
        first: BarcodeField,
        /// The field that starts inside it.
        second: BarcodeField,
        /// Where the second starts.
        at: u8,
    },
    /// Digits between fields that belong to none.
    #[error("{field}: starts at digit {offset}, leaving digits from {at} in no field")]
    Gap {
        /// The field after the gap.
        field: BarcodeField,
        /// Where it starts.
        offset: u8,
        /// Where the gap starts.
        at: usize,
    },
    /// A length shorter than the fields, or above [`MAX_LAYOUT_DIGITS`].
    #[error("length: {length} is not between the fields' {fields} digits and {MAX_LAYOUT_DIGITS}")]
    Length {
        /// The length given.
        length: u8,
        /// Digits the fields take.
        fields: usize,
    },
}

/// Where a field lies in a barcode's digits (dashes and spaces not
/// counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// Index of its first digit.
    pub offset: u8,
    /// How many digits.
    pub width: u8,
}

impl Span {
    fn end(self) -> usize {
        usize::from(self.offset) + usize::from(self.width)
    }

    fn range(self) -> std::ops::Range<usize> {
        usize::from(self.offset)..self.end()
    }
}

/// A barcode layout.
///
/// Invariants: the game field is 3 or 4 digits, the pack field 1 to 9, the
/// ticket field 1 to 4; the three fields, in any order, cover the first
/// digits without a gap or an overlap; `length` is at least those digits and
/// at most [`MAX_LAYOUT_DIGITS`], the rest being validation digits; the name
/// is 1 to [`MAX_LAYOUT_NAME`] bytes of `a-z 0-9 -`. Deserializing checks it
/// all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "LayoutRecord", into = "LayoutRecord")]
pub struct BarcodeLayout {
    name: String,
    game: Span,
    pack: Span,
    ticket: Span,
    length: u8,
}

/// A layout as written in a setting or a request, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutRecord {
    /// The layout's name.
    pub name: String,
    /// The game field.
    pub game: Span,
    /// The pack field.
    pub pack: Span,
    /// The ticket field.
    pub ticket: Span,
    /// All the digits, validation digits included.
    pub length: u8,
}

impl TryFrom<LayoutRecord> for BarcodeLayout {
    type Error = LayoutError;

    fn try_from(record: LayoutRecord) -> Result<BarcodeLayout, LayoutError> {
        BarcodeLayout::new(record)
    }
}

impl From<BarcodeLayout> for LayoutRecord {
    fn from(layout: BarcodeLayout) -> LayoutRecord {
        LayoutRecord {
            name: layout.name,
            game: layout.game,
            pack: layout.pack,
            ticket: layout.ticket,
            length: layout.length,
        }
    }
}

/// The numbers a barcode carries. Validation digits are not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Barcode {
    /// The game.
    pub game: GameCode,
    /// The pack within the game.
    pub pack: PackNumber,
    /// The ticket within the pack.
    pub ticket: Serial,
}

impl Barcode {
    /// The pack the barcode is on.
    pub const fn key(&self) -> PackKey {
        PackKey {
            game: self.game,
            number: self.pack,
        }
    }
}

fn default_layout(
    name: &str,
    game: (u8, u8),
    pack: (u8, u8),
    ticket: (u8, u8),
    length: u8,
) -> BarcodeLayout {
    let span = |(offset, width)| Span { offset, width };
    BarcodeLayout {
        name: name.to_owned(),
        game: span(game),
        pack: span(pack),
        ticket: span(ticket),
        length,
    }
}

impl BarcodeLayout {
    /// Checks `record` and makes the layout.
    ///
    /// # Errors
    ///
    /// [`LayoutError::Name`], [`LayoutError::Width`],
    /// [`LayoutError::Overlap`], [`LayoutError::Gap`] or
    /// [`LayoutError::Length`] when the record breaks an invariant.
    pub fn new(record: LayoutRecord) -> Result<BarcodeLayout, LayoutError> {
        let name_ok = !record.name.is_empty()
            && record.name.len() <= MAX_LAYOUT_NAME
            && record
                .name
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
        if !name_ok {
            return Err(LayoutError::Name { name: record.name });
        }
        for (field, span, min, max) in [
            (BarcodeField::Game, record.game, 3, 4),
            (BarcodeField::Pack, record.pack, 1, 9),
            (BarcodeField::Ticket, record.ticket, 1, 4),
        ] {
            if !(min..=max).contains(&span.width) {
                return Err(LayoutError::Width {
                    field,
                    width: span.width,
                    min,
                    max,
                });
            }
        }
        let mut fields = [
            (BarcodeField::Game, record.game),
            (BarcodeField::Pack, record.pack),
            (BarcodeField::Ticket, record.ticket),
        ];
        fields.sort_by_key(|(_, span)| span.offset);
        let mut end = 0usize;
        let mut previous = None;
        for (field, span) in fields {
            let offset = usize::from(span.offset);
            match (offset.cmp(&end), previous) {
                (std::cmp::Ordering::Less, Some(first)) => {
                    return Err(LayoutError::Overlap {
                        first,
                        second: field,
                        at: span.offset,
                    });
                }
                (std::cmp::Ordering::Greater, _) => {
                    return Err(LayoutError::Gap {
                        field,
                        offset: span.offset,
                        at: end,
                    });
                }
                _ => {}
            }
            end = span.end();
            previous = Some(field);
        }
        if usize::from(record.length) < end || record.length > MAX_LAYOUT_DIGITS {
            return Err(LayoutError::Length {
                length: record.length,
                fields: end,
            });
        }
        Ok(BarcodeLayout {
            name: record.name,
            game: record.game,
            pack: record.pack,
            ticket: record.ticket,
            length: record.length,
        })
    }

    /// The layouts Tombola ships:
    ///
    /// - `back-3-6-3`: `GGG-PPPPPP-TTT`, 12 digits, on the back of tickets
    ///   in some states;
    /// - `back-4-6-3`: `GGGG-PPPPPP-TTT`, 13 digits, on the back in others;
    /// - `scan-24`: 4 game, 7 pack and 3 ticket digits, then 10 validation
    ///   digits, as some store systems scan them.
    pub fn defaults() -> Vec<BarcodeLayout> {
        vec![
            default_layout("back-3-6-3", (0, 3), (3, 6), (9, 3), 12),
            default_layout("back-4-6-3", (0, 4), (4, 6), (10, 3), 13),
            default_layout("scan-24", (0, 4), (4, 7), (11, 3), 24),
        ]
    }

    /// The default layout called `name`, if there is one.
    pub fn named(name: &str) -> Option<BarcodeLayout> {
        BarcodeLayout::defaults()
            .into_iter()
            .find(|layout| layout.name == name)
    }

    /// Reads a store's layout setting: the name of a default layout, or a
    /// layout of its own as a JSON object.
    ///
    /// # Errors
    ///
    /// [`LayoutError::UnknownName`] for a name that is no default,
    /// [`LayoutError::Malformed`] for JSON that is not a layout record, and
    /// the errors of [`BarcodeLayout::new`].
    pub fn from_setting(setting: &str) -> Result<BarcodeLayout, LayoutError> {
        let setting = setting.trim();
        if setting.starts_with('{') {
            let record: LayoutRecord =
                serde_json::from_str(setting).map_err(|error| LayoutError::Malformed {
                    reason: error.to_string(),
                })?;
            return BarcodeLayout::new(record);
        }
        BarcodeLayout::named(setting).ok_or_else(|| LayoutError::UnknownName {
            name: setting.to_owned(),
        })
    }

    /// The layout's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// All the digits a full code has, validation digits included.
    pub const fn length(&self) -> usize {
        self.length as usize
    }

    /// The digits the three fields take, the length of a code given without
    /// its validation digits.
    pub fn fields_length(&self) -> usize {
        self.game.end().max(self.pack.end()).max(self.ticket.end())
    }

    /// Where `field` lies, or `None` for [`BarcodeField::Validation`].
    pub const fn span(&self, field: BarcodeField) -> Option<Span> {
        match field {
            BarcodeField::Game => Some(self.game),
            BarcodeField::Pack => Some(self.pack),
            BarcodeField::Ticket => Some(self.ticket),
            BarcodeField::Validation => None,
        }
    }

    // The field digit `index` belongs to.
    fn field_at(&self, index: usize) -> BarcodeField {
        [BarcodeField::Game, BarcodeField::Pack, BarcodeField::Ticket]
            .into_iter()
            .find(|&field| {
                self.span(field)
                    .is_some_and(|span| span.range().contains(&index))
            })
            .unwrap_or(BarcodeField::Validation)
    }

    /// Reads `text`: the layout's digits, with or without its validation
    /// digits, dashes and spaces anywhere.
    ///
    /// # Errors
    ///
    /// [`BarcodeError::Empty`] with no digits;
    /// [`BarcodeError::InvalidChar`] for any other character, naming the
    /// field it stands in; [`BarcodeError::TooShort`] when the digits end
    /// inside a field or inside the validation digits;
    /// [`BarcodeError::TooLong`] past the layout's length.
    pub fn parse(&self, text: &str) -> Result<Barcode, BarcodeError> {
        let mut digits = Vec::with_capacity(self.length());
        for (at, found) in text.char_indices() {
            match found {
                '0'..='9' if digits.len() == self.length() => {
                    return Err(BarcodeError::TooLong {
                        at,
                        length: self.length(),
                    });
                }
                '0'..='9' => digits.push(found as u8 - b'0'),
                '-' | ' ' => {}
                _ => {
                    return Err(BarcodeError::InvalidChar {
                        field: self.field_at(digits.len()),
                        at,
                        found,
                    });
                }
            }
        }
        let found = digits.len();
        let fields = self.fields_length();
        if found == 0 {
            return Err(BarcodeError::Empty);
        }
        if found < fields || (found > fields && found < self.length()) {
            let field = self.field_at(found);
            let needed = self.span(field).map_or(self.length(), Span::end);
            return Err(BarcodeError::TooShort {
                field,
                at: text.len(),
                found,
                needed,
            });
        }
        let value = |span: Span| {
            digits[span.range()]
                .iter()
                .fold(0u32, |value, &digit| value * 10 + u32::from(digit))
        };
        Ok(Barcode {
            game: GameCode::new(value(self.game)).expect("a field of at most 4 digits"),
            pack: PackNumber::new(value(self.pack)).expect("a field of at most 9 digits"),
            ticket: Serial::new(value(self.ticket)),
        })
    }

    /// Writes `barcode` in this layout without validation digits, fields in
    /// order, zero-padded and separated by dashes. [`BarcodeLayout::parse`]
    /// reads it back.
    ///
    /// # Errors
    ///
    /// [`BarcodeError::DoesNotFit`] when a value has more digits than its
    /// field.
    pub fn format(&self, barcode: &Barcode) -> Result<String, BarcodeError> {
        let mut fields = [
            (BarcodeField::Game, self.game, u32::from(barcode.game.get())),
            (BarcodeField::Pack, self.pack, barcode.pack.get()),
            (BarcodeField::Ticket, self.ticket, barcode.ticket.get()),
        ];
        fields.sort_by_key(|(_, span, _)| span.offset);
        let mut parts = Vec::with_capacity(fields.len());
        for (field, span, value) in fields {
            let width = usize::from(span.width);
            let text = format!("{value:0width$}");
            if text.len() > width {
                return Err(BarcodeError::DoesNotFit {
                    field,
                    value,
                    width: span.width,
                });
            }
            parts.push(text);
        }
        Ok(parts.join("-"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(name: &str) -> BarcodeLayout {
        BarcodeLayout::named(name).unwrap()
    }

    fn record() -> LayoutRecord {
        LayoutRecord::from(layout("back-3-6-3"))
    }

    fn barcode(game: u32, pack: u32, ticket: u32) -> Barcode {
        Barcode {
            game: GameCode::new(game).unwrap(),
            pack: PackNumber::new(pack).unwrap(),
            ticket: Serial::new(ticket),
        }
    }

    #[test]
    fn the_three_defaults_read_their_codes() {
        assert_eq!(
            layout("back-3-6-3").parse("050-123456-007"),
            Ok(barcode(50, 123_456, 7))
        );
        assert_eq!(
            layout("back-4-6-3").parse("1234 567890 123"),
            Ok(barcode(1234, 567_890, 123))
        );
        assert_eq!(
            layout("scan-24").parse("123412345670299876543210"),
            Ok(barcode(1234, 1_234_567, 29))
        );
        assert_eq!(BarcodeLayout::defaults().len(), 3);
        assert!(BarcodeLayout::named(DEFAULT_LAYOUT).is_some());
        assert_eq!(BarcodeLayout::named("nope"), None);
    }

    #[test]
    fn validation_digits_may_be_left_off() {
        let scan = layout("scan-24");
        assert_eq!(scan.fields_length(), 14);
        assert_eq!(scan.length(), 24);
        assert_eq!(
            scan.parse("1234-1234567-029"),
            Ok(barcode(1234, 1_234_567, 29))
        );
    }

    #[test]
    fn dashes_and_spaces_are_ignored_anywhere() {
        let back = layout("back-3-6-3");
        assert_eq!(
            back.parse(" 0-5-0 1234 56-00-7 "),
            Ok(barcode(50, 123_456, 7))
        );
    }

    #[test]
    fn a_bad_character_names_its_field_and_position() {
        let scan = layout("scan-24");
        assert_eq!(
            scan.parse("12x4"),
            Err(BarcodeError::InvalidChar {
                field: BarcodeField::Game,
                at: 2,
                found: 'x'
            })
        );
        assert_eq!(
            scan.parse("1234-12345670_9"),
            Err(BarcodeError::InvalidChar {
                field: BarcodeField::Ticket,
                at: 13,
                found: '_'
            })
        );
        let error = scan.parse("12341234567029987654321é").unwrap_err();
        assert_eq!(
            error,
            BarcodeError::InvalidChar {
                field: BarcodeField::Validation,
                at: 23,
                found: 'é'
            }
        );
        assert_eq!(
            error.to_string(),
            "validation: 'é' at position 23 is not a digit"
        );
    }

    #[test]
    fn a_short_code_names_the_field_it_ends_in() {
        let scan = layout("scan-24");
        assert_eq!(
            scan.parse("1234-12345"),
            Err(BarcodeError::TooShort {
                field: BarcodeField::Pack,
                at: 10,
                found: 9,
                needed: 11
            })
        );
        assert_eq!(
            scan.parse("12341234567029 98765"),
            Err(BarcodeError::TooShort {
                field: BarcodeField::Validation,
                at: 20,
                found: 19,
                needed: 24
            })
        );
        assert_eq!(scan.parse(" - "), Err(BarcodeError::Empty));
        assert_eq!(scan.parse(""), Err(BarcodeError::Empty));
    }

    #[test]
    fn a_long_code_names_the_first_digit_too_many() {
        let back = layout("back-3-6-3");
        let error = back.parse("050-123456-0071").unwrap_err();
        assert_eq!(error, BarcodeError::TooLong { at: 14, length: 12 });
        assert_eq!(
            error.to_string(),
            "validation: the layout has 12 digits but the code goes on at position 14"
        );
    }

    #[test]
    fn formatting_pads_and_refuses_what_does_not_fit() {
        let back = layout("back-3-6-3");
        assert_eq!(back.format(&barcode(5, 42, 0)), Ok("005-000042-000".into()));
        assert_eq!(
            back.format(&barcode(1234, 1, 1)),
            Err(BarcodeError::DoesNotFit {
                field: BarcodeField::Game,
                value: 1234,
                width: 3
            })
        );
        assert_eq!(
            back.format(&barcode(50, 1_234_567, 1)),
            Err(BarcodeError::DoesNotFit {
                field: BarcodeField::Pack,
                value: 1_234_567,
                width: 6
            })
        );
        assert_eq!(
            back.format(&barcode(50, 1, 1000)),
            Err(BarcodeError::DoesNotFit {
                field: BarcodeField::Ticket,
                value: 1000,
                width: 3
            })
        );
    }

    #[test]
    fn fields_may_come_in_any_order() {
        let ticket_first = BarcodeLayout::new(LayoutRecord {
            name: "ticket-first".into(),
            ticket: Span {
                offset: 0,
                width: 3,
            },
            game: Span {
                offset: 3,
                width: 4,
            },
            pack: Span {
                offset: 7,
                width: 5,
            },
            length: 14,
        })
        .unwrap();
        assert_eq!(
            ticket_first.parse("007 1234 00042 99"),
            Ok(barcode(1234, 42, 7))
        );
        assert_eq!(
            ticket_first.format(&barcode(1234, 42, 7)),
            Ok("007-1234-00042".into())
        );
    }

    #[test]
    fn layouts_check_widths() {
        let wide_game = LayoutRecord {
            game: Span {
                offset: 0,
                width: 5,
            },
            pack: Span {
                offset: 5,
                width: 6,
            },
            ticket: Span {
                offset: 11,
                width: 3,
            },
            ..record()
        };
        assert_eq!(
            BarcodeLayout::new(wide_game),
            Err(LayoutError::Width {
                field: BarcodeField::Game,
                width: 5,
                min: 3,
                max: 4
            })
        );
        let wide_pack = LayoutRecord {
            pack: Span {
                offset: 3,
                width: 10,
            },
            ..record()
        };
        assert_eq!(
            BarcodeLayout::new(wide_pack),
            Err(LayoutError::Width {
                field: BarcodeField::Pack,
                width: 10,
                min: 1,
                max: 9
            })
        );
        let no_ticket = LayoutRecord {
            ticket: Span {
                offset: 9,
                width: 0,
            },
            ..record()
        };
        assert_eq!(
            BarcodeLayout::new(no_ticket),
            Err(LayoutError::Width {
                field: BarcodeField::Ticket,
                width: 0,
                min: 1,
                max: 4
            })
        );
    }

    #[test]
    fn layouts_refuse_overlaps_and_gaps() {
        let overlap = LayoutRecord {
            ticket: Span {
                offset: 8,
                width: 3,
            },
            ..record()
        };
        assert_eq!(
            BarcodeLayout::new(overlap),
            Err(LayoutError::Overlap {
                first: BarcodeField::Pack,
                second: BarcodeField::Ticket,
                at: 8
            })
        );
        let gap = LayoutRecord {
            ticket: Span {
                offset: 10,
                width: 3,
            },
            length: 13,
            ..record()
        };
        assert_eq!(
            BarcodeLayout::new(gap),
            Err(LayoutError::Gap {
                field: BarcodeField::Ticket,
                offset: 10,
                at: 9
            })
        );
        let late_start = LayoutRecord {
            game: Span {
                offset: 1,
                width: 3,
            },
            pack: Span {
                offset: 4,
                width: 6,
            },
            ticket: Span {
                offset: 10,
                width: 3,
            },
            length: 13,
            ..record()
        };
        assert_eq!(
            BarcodeLayout::new(late_start),
            Err(LayoutError::Gap {
                field: BarcodeField::Game,
                offset: 1,
                at: 0
            })
        );
    }

    #[test]
    fn layouts_check_the_length_and_the_name() {
        assert_eq!(
            BarcodeLayout::new(LayoutRecord {
                length: 11,
                ..record()
            }),
            Err(LayoutError::Length {
                length: 11,
                fields: 12
            })
        );
        assert_eq!(
            BarcodeLayout::new(LayoutRecord {
                length: 65,
                ..record()
            }),
            Err(LayoutError::Length {
                length: 65,
                fields: 12
            })
        );
        for name in ["", "Back", "back 3", &"x".repeat(33)] {
            assert_eq!(
                BarcodeLayout::new(LayoutRecord {
                    name: name.into(),
                    ..record()
                }),
                Err(LayoutError::Name { name: name.into() })
            );
        }
    }

    #[test]
    fn a_setting_names_a_default_or_spells_a_layout() {
        assert_eq!(
            BarcodeLayout::from_setting(" scan-24 "),
            Ok(layout("scan-24"))
        );
        let own = r#"{"name":"ours","game":{"offset":0,"width":4},
            "pack":{"offset":4,"width":8},"ticket":{"offset":12,"width":3},"length":15}"#;
        let ours = BarcodeLayout::from_setting(own).unwrap();
        assert_eq!(ours.name(), "ours");
        assert_eq!(
            ours.parse("1234-12345678-001"),
            Ok(barcode(1234, 12_345_678, 1))
        );
        assert_eq!(
            BarcodeLayout::from_setting("back-9"),
            Err(LayoutError::UnknownName {
                name: "back-9".into()
            })
        );
        let error = BarcodeLayout::from_setting(r#"{"name":"x"}"#).unwrap_err();
        assert!(matches!(error, LayoutError::Malformed { .. }), "{error}");
        let error =
            BarcodeLayout::from_setting(&own.replace("\"width\":8", "\"width\":7")).unwrap_err();
        assert_eq!(
            error,
            LayoutError::Gap {
                field: BarcodeField::Ticket,
                offset: 12,
                at: 11
            }
        );
    }

    #[test]
    fn layouts_round_trip_through_json() {
        for layout in BarcodeLayout::defaults() {
            let json = serde_json::to_string(&layout).unwrap();
            assert_eq!(
                serde_json::from_str::<BarcodeLayout>(&json).unwrap(),
                layout
            );
        }
    }
}
