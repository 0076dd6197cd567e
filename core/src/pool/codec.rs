//! The text codec of log entries; the grammar is on [`Entry`].

use std::fmt::{self, Write as _};
use std::num::NonZeroU64;
use std::sync::Arc;

use crate::pool::config::{ConfigError, ConfigField, Mode, Stock, ValidConfig};
use crate::pool::entry::{
    Chunk, Commit, Draw, DrawCount, Entry, FairChunk, FairDraw, GivenDraw, MAX_DRAW_COUNT, Restock,
    Return, Rollback, Rotate,
};
use crate::pool::fair::{Commitment, ServerSeed};
use crate::pool::id::{ClientSeed, IdError, ItemId, OperationId, RequestId};
use crate::pool::outcome::ItemCount;

/// The field of a log line that an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The version after the verb's `/`.
    Version,
    /// CREATE's pool id.
    Pool,
    /// CREATE's rules version.
    Rules,
    /// CREATE's mode.
    Mode,
    /// CREATE's snapshot interval.
    SnapshotEvery,
    /// CREATE's display name.
    Name,
    /// An item id.
    Item,
    /// An item's weight.
    Weight,
    /// An item's stock.
    Stock,
    /// A request id.
    RequestId,
    /// DRAW's count.
    Count,
    /// DRAW's seed.
    Seed,
    /// DRAW's fill mode.
    Fill,
    /// RETURN's operation id.
    Operation,
    /// A RETURN or RESTOCK quantity.
    Quantity,
    /// A CHUNK's index in its operation.
    Index,
    /// When a CHUNK or RETURN was appended.
    At,
    /// Until when a CHUNK's holding or a RETURN's mark lasts.
    Until,
    /// A rules-2 DRAW's client seed.
    ClientSeed,
    /// A rules-2 DRAW's nonce.
    Nonce,
    /// A commitment to a server seed.
    Commitment,
    /// A revealed server seed.
    ServerSeed,
    /// A COMMIT's rotation interval.
    RotateEvery,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Version => "version",
            Field::Pool => "pool id",
            Field::Rules => "rules version",
            Field::Mode => "mode",
            Field::SnapshotEvery => "snapshot interval",
            Field::Name => "name",
            Field::Item => "item id",
            Field::Weight => "weight",
            Field::Stock => "stock",
            Field::RequestId => "request id",
            Field::Count => "count",
            Field::Seed => "seed",
            Field::Fill => "fill",
            Field::Operation => "operation id",
            Field::Quantity => "quantity",
            Field::Index => "chunk index",
            Field::At => "time",
            Field::Until => "deadline",
            Field::ClientSeed => "client seed",
            Field::Nonce => "nonce",
            Field::Commitment => "commitment",
            Field::ServerSeed => "server seed",
            Field::RotateEvery => "rotation interval",
        })
    }
}

/// What is wrong with one field of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    /// Nothing between two separators.
    #[error("is empty")]
    Empty,
    /// Not a valid id.
    #[error("{0}")]
    Id(IdError),
    /// Not a decimal number.
    #[error("is not a decimal number")]
    NotDecimal,
    /// A decimal number with a leading zero.
    #[error("has a leading zero")]
    LeadingZero,
    /// A number outside the field's range.
    #[error("is outside {min}..={max}")]
    OutOfRange {
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// Not 16 lowercase hexadecimal digits.
    #[error("is not 16 lowercase hexadecimal digits")]
    NotSeed,
    /// Not 64 lowercase hexadecimal digits (a commitment or server seed).
    #[error("is not 64 lowercase hexadecimal digits")]
    NotDigest,
    /// A word that is not one of the field's keywords.
    #[error("is not a known keyword")]
    UnknownWord,
    /// A `%` not followed by two uppercase hex digits, or escaping a byte
    /// that is written as itself.
    #[error("has a bad escape at byte {at}")]
    BadEscape {
        /// Byte offset of the `%` in the field.
        at: usize,
    },
    /// A byte that must be escaped, written as itself.
    #[error("has an unescaped byte at {at}")]
    Unescaped {
        /// Byte offset in the field.
        at: usize,
    },
    /// Escapes that do not decode to UTF-8.
    #[error("is not UTF-8 once unescaped")]
    NotUtf8,
}

/// Why a line is not an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecReason {
    /// The bytes are not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// An empty line.
    #[error("empty line")]
    Empty,
    /// The first field is not a known verb.
    #[error("unknown verb")]
    UnknownVerb,
    /// A known verb with a format version this build does not know.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u32),
    /// The line ends before this field.
    #[error("missing {0}")]
    Missing(Field),
    /// A field after the last one the verb takes.
    #[error("unexpected field after the end of the entry")]
    Trailing,
    /// A field that does not parse.
    #[error("{field} {problem}")]
    Invalid {
        /// The field.
        field: Field,
        /// What is wrong with it.
        problem: FieldProblem,
    },
    /// A CREATE whose pool configuration breaks a rule.
    #[error("pool configuration: {0}")]
    Config(ConfigError),
}

/// Why a line is not an entry, and where: the byte offset of the field at
/// fault in the line (for [`CodecReason::NotUtf8`], of the first byte that
/// is not UTF-8; for [`CodecReason::Missing`], the end of the line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {reason}")]
pub struct CodecError {
    /// Byte offset in the line.
    pub offset: usize,
    /// What is wrong.
    pub reason: CodecReason,
}

impl CodecError {
    fn new(offset: usize, reason: CodecReason) -> CodecError {
        CodecError { offset, reason }
    }

    fn invalid(offset: usize, field: Field, problem: FieldProblem) -> CodecError {
        CodecError::new(offset, CodecReason::Invalid { field, problem })
    }
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

// Bytes of a name that are written as themselves.
fn is_plain_name_byte(byte: u8) -> bool {
    (0x21..=0x7E).contains(&byte) && byte != b'%'
}

impl Entry {
    /// The entry's line (see the grammar on [`Entry`]).
    pub fn encode(&self) -> String {
        self.to_string()
    }

    /// Parses a line.
    ///
    /// # Errors
    ///
    /// A [`CodecError`] naming the byte offset and the reason when the line
    /// does not follow the grammar, or is a CREATE whose configuration is
    /// invalid. Never panics, whatever the input.
    pub fn decode(line: &str) -> Result<Entry, CodecError> {
        Line::parse(line).map(Line::into_entry)
    }

    /// Parses a line given as bytes, as a Redis list returns it.
    ///
    /// # Errors
    ///
    /// [`CodecReason::NotUtf8`] at the first invalid byte, or any error of
    /// [`Entry::decode`].
    pub fn decode_bytes(line: &[u8]) -> Result<Entry, CodecError> {
        Line::parse_bytes(line).map(Line::into_entry)
    }

    // The entry as a line whose ids borrow from it, for `apply`.
    pub(crate) fn as_line(&self) -> Line<'_> {
        match self {
            Entry::Create(config) => Line::Create(Arc::clone(config)),
            Entry::Draw(draw) => Line::Draw {
                request_id: draw.request_id.as_str(),
                count: draw.count,
                seed: draw.seed,
                all_or_nothing: draw.all_or_nothing,
            },
            Entry::Chunk(chunk) => Line::Chunk {
                operation_id: chunk.operation_id.as_str(),
                index: chunk.index,
                count: chunk.count,
                seed: chunk.seed,
                at: chunk.at,
                until: chunk.until,
            },
            Entry::Rollback(rollback) => Line::Rollback {
                operation_id: rollback.operation_id.as_str(),
                at: rollback.at,
                until: rollback.until,
            },
            Entry::Return(back) => Line::Return {
                operation_id: back.operation_id.as_str(),
                items: back
                    .items
                    .iter()
                    .map(|count| (count.item.as_str(), count.quantity))
                    .collect(),
            },
            Entry::Restock(restock) => Line::Restock {
                item: restock.item.as_str(),
                quantity: restock.quantity,
            },
            Entry::Close => Line::Close,
            Entry::GivenDraw(seed) => Line::GivenDraw {
                request_id: seed.request_id.as_str(),
                item: seed.item.as_ref().map(ItemId::as_str),
            },
            Entry::FairDraw(draw) => Line::FairDraw {
                request_id: draw.request_id.as_str(),
                count: draw.count,
                client_seed: draw.client_seed.as_str(),
                nonce: draw.nonce,
                all_or_nothing: draw.all_or_nothing,
            },
            Entry::Commit(commit) => Line::Commit {
                commitment: commit.commitment,
                rotate_every: commit.rotate_every,
            },
            Entry::Rotate(rotate) => Line::Rotate {
                revealed: rotate.revealed.clone(),
                next: rotate.next,
            },
            Entry::FairChunk(chunk) => Line::FairChunk {
                operation_id: chunk.operation_id.as_str(),
                index: chunk.index,
                count: chunk.count,
                client_seed: chunk.client_seed.as_str(),
                nonce: chunk.nonce,
                at: chunk.at,
                until: chunk.until,
            },
        }
    }
}

/// A decoded line whose ids still point into the text: what replay applies
/// without allocating an id per entry. It has passed every check of
/// [`Entry::decode`], which is built on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    Create(Arc<ValidConfig>),
    Draw {
        request_id: &'a str,
        count: DrawCount,
        seed: u64,
        all_or_nothing: bool,
    },
    Chunk {
        operation_id: &'a str,
        index: u32,
        count: DrawCount,
        seed: u64,
        at: u64,
        until: u64,
    },
    Rollback {
        operation_id: &'a str,
        at: u64,
        until: u64,
    },
    Return {
        operation_id: &'a str,
        items: Vec<(&'a str, NonZeroU64)>,
    },
    Restock {
        item: &'a str,
        quantity: NonZeroU64,
    },
    Close,
    GivenDraw {
        request_id: &'a str,
        item: Option<&'a str>,
    },
    FairDraw {
        request_id: &'a str,
        count: DrawCount,
        client_seed: &'a str,
        nonce: u64,
        all_or_nothing: bool,
    },
    Commit {
        commitment: Commitment,
        rotate_every: u32,
    },
    Rotate {
        revealed: ServerSeed,
        next: Commitment,
    },
    FairChunk {
        operation_id: &'a str,
        index: u32,
        count: DrawCount,
        client_seed: &'a str,
        nonce: u64,
        at: u64,
        until: u64,
    },
}

impl<'a> Line<'a> {
    pub(crate) fn parse_bytes(line: &'a [u8]) -> Result<Line<'a>, CodecError> {
        let line = std::str::from_utf8(line)
            .map_err(|error| CodecError::new(error.valid_up_to(), CodecReason::NotUtf8))?;
        Line::parse(line)
    }

    pub(crate) fn parse(line: &'a str) -> Result<Line<'a>, CodecError> {
        let mut fields = Fields::new(line);
        let (_, verb) = fields
            .next()
            .ok_or(CodecError::new(0, CodecReason::Empty))?;
        if verb.is_empty() {
            return Err(CodecError::new(0, CodecReason::Empty));
        }
        let parsed = match verb {
            "DRAW/1" => decode_draw(&mut fields)?,
            "DRAW/2" => decode_fair_draw(&mut fields)?,
            "COMMIT/1" => decode_commit(&mut fields)?,
            "ROTATE/1" => decode_rotate(&mut fields)?,
            "DRAW" => decode_given_draw(&mut fields)?,
            "CHUNK/1" => decode_chunk(&mut fields)?,
            "CHUNK/2" => decode_fair_chunk(&mut fields)?,
            "RETURN/2" => decode_rollback(&mut fields)?,
            "RETURN/1" => decode_return(&mut fields)?,
            "RESTOCK/1" => decode_restock(&mut fields)?,
            "CREATE/1" => decode_create(&mut fields)?,
            "CLOSE/1" => Line::Close,
            _ => return Err(bad_verb(verb)),
        };
        match fields.next() {
            Some((at, _)) => Err(CodecError::new(at, CodecReason::Trailing)),
            None => Ok(parsed),
        }
    }

    // Ids were checked by `parse`, so they are only copied here.
    fn into_entry(self) -> Entry {
        match self {
            Line::Create(config) => Entry::Create(config),
            Line::Draw {
                request_id,
                count,
                seed,
                all_or_nothing,
            } => Entry::Draw(Draw {
                request_id: RequestId::checked(request_id),
                count,
                seed,
                all_or_nothing,
            }),
            Line::Chunk {
                operation_id,
                index,
                count,
                seed,
                at,
                until,
            } => Entry::Chunk(Chunk {
                operation_id: OperationId::checked(operation_id),
                index,
                count,
                seed,
                at,
                until,
            }),
            Line::Rollback {
                operation_id,
                at,
                until,
            } => Entry::Rollback(Rollback {
                operation_id: OperationId::checked(operation_id),
                at,
                until,
            }),
            Line::Return {
                operation_id,
                items,
            } => Entry::Return(Return {
                operation_id: OperationId::checked(operation_id),
                items: items
                    .into_iter()
                    .map(|(item, quantity)| ItemCount {
                        item: ItemId::checked(item),
                        quantity,
                    })
                    .collect(),
            }),
            Line::Restock { item, quantity } => Entry::Restock(Restock {
                item: ItemId::checked(item),
                quantity,
            }),
            Line::Close => Entry::Close,
            Line::GivenDraw { request_id, item } => Entry::GivenDraw(GivenDraw {
                request_id: RequestId::checked(request_id),
                item: item.map(ItemId::checked),
            }),
            Line::FairDraw {
                request_id,
                count,
                client_seed,
                nonce,
                all_or_nothing,
            } => Entry::FairDraw(FairDraw {
                request_id: RequestId::checked(request_id),
                count,
                client_seed: ClientSeed::checked(client_seed),
                nonce,
                all_or_nothing,
            }),
            Line::Commit {
                commitment,
                rotate_every,
            } => Entry::Commit(Commit {
                commitment,
                rotate_every,
            }),
            Line::Rotate { revealed, next } => Entry::Rotate(Rotate { revealed, next }),
            Line::FairChunk {
                operation_id,
                index,
                count,
                client_seed,
                nonce,
                at,
                until,
            } => Entry::FairChunk(FairChunk {
                operation_id: OperationId::checked(operation_id),
                index,
                count,
                client_seed: ClientSeed::checked(client_seed),
                nonce,
                at,
                until,
            }),
        }
    }
}

impl std::str::FromStr for Entry {
    type Err = CodecError;

    fn from_str(line: &str) -> Result<Entry, CodecError> {
        Entry::decode(line)
    }
}

impl fmt::Display for Entry {
    /// Writes the entry's line (see the grammar on [`Entry`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Create(config) => {
                let mode = match config.mode() {
                    Mode::Stock => "stock",
                    Mode::Weight => "weight",
                };
                write!(
                    f,
                    "CREATE/1 {} {} {mode} {} ",
                    config.pool(),
                    config.rules().version(),
                    config.snapshot_every()
                )?;
                for &byte in config.name().as_bytes() {
                    if is_plain_name_byte(byte) {
                        f.write_char(char::from(byte))?;
                    } else {
                        let escape = [
                            b'%',
                            HEX_UPPER[usize::from(byte >> 4)],
                            HEX_UPPER[usize::from(byte & 15)],
                        ];
                        // Three ASCII bytes.
                        f.write_str(std::str::from_utf8(&escape).map_err(|_| fmt::Error)?)?;
                    }
                }
                for (id, weight, stock) in config.parts() {
                    write!(f, " {id}:{weight}:")?;
                    match stock {
                        Stock::Limited(units) => write!(f, "{units}")?,
                        Stock::Unlimited => f.write_char('*')?,
                    }
                }
                Ok(())
            }
            Entry::Draw(draw) => write!(
                f,
                "DRAW/1 {} {} {:016x} {}",
                draw.request_id,
                draw.count.get(),
                draw.seed,
                fill_word(draw.all_or_nothing)
            ),
            Entry::Chunk(chunk) => write!(
                f,
                "CHUNK/1 {} {} {} {:016x} {} {}",
                chunk.operation_id,
                chunk.index,
                chunk.count.get(),
                chunk.seed,
                chunk.at,
                chunk.until
            ),
            Entry::Rollback(rollback) => write!(
                f,
                "RETURN/2 {} {} {}",
                rollback.operation_id, rollback.at, rollback.until
            ),
            Entry::Return(back) => {
                write!(f, "RETURN/1 {}", back.operation_id)?;
                for count in &back.items {
                    write!(f, " {}:{}", count.item, count.quantity)?;
                }
                Ok(())
            }
            Entry::Restock(restock) => write!(f, "RESTOCK/1 {} {}", restock.item, restock.quantity),
            Entry::Close => f.write_str("CLOSE/1"),
            Entry::GivenDraw(seed) => match &seed.item {
                Some(item) => write!(f, "DRAW {} {item}", seed.request_id),
                None => write!(f, "DRAW {} {}", seed.request_id, ItemId::RESERVED),
            },
            Entry::FairDraw(draw) => write!(
                f,
                "DRAW/2 {} {} {} {} {}",
                draw.request_id,
                draw.count.get(),
                draw.client_seed,
                draw.nonce,
                fill_word(draw.all_or_nothing)
            ),
            Entry::Commit(commit) => {
                write!(f, "COMMIT/1 {} {}", commit.commitment, commit.rotate_every)
            }
            Entry::Rotate(rotate) => {
                write!(f, "ROTATE/1 {} {}", rotate.revealed.reveal(), rotate.next)
            }
            Entry::FairChunk(chunk) => write!(
                f,
                "CHUNK/2 {} {} {} {} {} {} {}",
                chunk.operation_id,
                chunk.index,
                chunk.count.get(),
                chunk.client_seed,
                chunk.nonce,
                chunk.at,
                chunk.until
            ),
        }
    }
}

fn fill_word(all_or_nothing: bool) -> &'static str {
    if all_or_nothing { "all" } else { "partial" }
}

// Why a first field is not a verb this build reads.
fn bad_verb(verb: &str) -> CodecError {
    let Some((name, version)) = verb.split_once('/') else {
        return CodecError::new(0, CodecReason::UnknownVerb);
    };
    if !matches!(
        name,
        "CREATE" | "DRAW" | "CHUNK" | "RETURN" | "RESTOCK" | "CLOSE" | "COMMIT" | "ROTATE"
    ) {
        return CodecError::new(0, CodecReason::UnknownVerb);
    }
    let at = name.len() + 1;
    match decimal(version, 0, u64::from(u32::MAX)) {
        // Within u32 by the bound above.
        Ok(version) => CodecError::new(at, CodecReason::UnsupportedVersion(version as u32)),
        Err(problem) => CodecError::invalid(at, Field::Version, problem),
    }
}

// The space-separated fields of a line, with their byte offsets.
struct Fields<'a> {
    line: &'a str,
    at: usize,
    done: bool,
}

impl<'a> Fields<'a> {
    fn new(line: &'a str) -> Fields<'a> {
        Fields {
            line,
            at: 0,
            done: line.is_empty(),
        }
    }

    fn next(&mut self) -> Option<(usize, &'a str)> {
        if self.done {
            return None;
        }
        let start = self.at;
        let rest = &self.line[start..];
        // Fields are short: a plain loop beats a memchr set-up.
        match rest.bytes().position(|byte| byte == b' ') {
            Some(length) => {
                self.at = start + length + 1;
                Some((start, &rest[..length]))
            }
            None => {
                self.done = true;
                self.at = self.line.len();
                Some((start, rest))
            }
        }
    }

    fn expect(&mut self, field: Field) -> Result<(usize, &'a str), CodecError> {
        self.next().ok_or(CodecError::new(
            self.line.len(),
            CodecReason::Missing(field),
        ))
    }
}

// A canonical decimal in `min..=max`.
fn decimal(text: &str, min: u64, max: u64) -> Result<u64, FieldProblem> {
    let bytes = text.as_bytes();
    match bytes {
        [] => return Err(FieldProblem::Empty),
        [b'0', _, ..] => return Err(FieldProblem::LeadingZero),
        _ => {}
    }
    let out_of_range = FieldProblem::OutOfRange { min, max };
    let mut value = 0u64;
    for &byte in bytes {
        if !byte.is_ascii_digit() {
            return Err(FieldProblem::NotDecimal);
        }
        value = value
            .checked_mul(10)
            .and_then(|value| value.checked_add(u64::from(byte - b'0')))
            .ok_or(out_of_range)?;
    }
    if !(min..=max).contains(&value) {
        return Err(out_of_range);
    }
    Ok(value)
}

fn decimal_field(
    at: usize,
    text: &str,
    field: Field,
    min: u64,
    max: u64,
) -> Result<u64, CodecError> {
    decimal(text, min, max).map_err(|problem| CodecError::invalid(at, field, problem))
}

fn quantity(at: usize, text: &str) -> Result<NonZeroU64, CodecError> {
    let value = decimal_field(at, text, Field::Quantity, 1, u64::MAX)?;
    NonZeroU64::new(value).ok_or(CodecError::invalid(
        at,
        Field::Quantity,
        FieldProblem::OutOfRange {
            min: 1,
            max: u64::MAX,
        },
    ))
}

fn id_field(
    at: usize,
    text: &str,
    field: Field,
    check: fn(&str) -> Result<(), IdError>,
) -> Result<&str, CodecError> {
    if text.is_empty() {
        return Err(CodecError::invalid(at, field, FieldProblem::Empty));
    }
    check(text).map_err(|error| CodecError::invalid(at, field, FieldProblem::Id(error)))?;
    Ok(text)
}

// Lowercase hex digits to their value; 0x80 marks every other byte.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0x80u8; 256];
    let mut digit = 0;
    while digit < 16 {
        table[HEX_LOWER[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};

fn parse_seed(at: usize, text: &str) -> Result<u64, CodecError> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 {
        return Err(CodecError::invalid(at, Field::Seed, FieldProblem::NotSeed));
    }
    // Seeds are random, so a branch per digit class would mispredict about
    // every third digit: the table lookup and the error mark take none.
    let mut value = 0u64;
    let mut marks = 0u8;
    for &byte in bytes {
        let digit = HEX_VALUE[usize::from(byte)];
        marks |= digit;
        value = value << 4 | u64::from(digit & 0x0F);
    }
    if marks & 0x80 != 0 {
        return Err(CodecError::invalid(at, Field::Seed, FieldProblem::NotSeed));
    }
    Ok(value)
}

fn parse_name(at: usize, text: &str) -> Result<String, CodecError> {
    let invalid = |problem| CodecError::invalid(at, Field::Name, problem);
    if text.is_empty() {
        return Err(invalid(FieldProblem::Empty));
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%' {
            let digit = |offset: usize| {
                bytes
                    .get(index + offset)
                    .and_then(|byte| HEX_UPPER.iter().position(|hex| hex == byte))
            };
            let (Some(high), Some(low)) = (digit(1), digit(2)) else {
                return Err(invalid(FieldProblem::BadEscape { at: index }));
            };
            // Two hex digits make a byte.
            let decoded = (high << 4 | low) as u8;
            if is_plain_name_byte(decoded) {
                return Err(invalid(FieldProblem::BadEscape { at: index }));
            }
            out.push(decoded);
            index += 3;
        } else if is_plain_name_byte(byte) {
            out.push(byte);
            index += 1;
        } else {
            return Err(invalid(FieldProblem::Unescaped { at: index }));
        }
    }
    String::from_utf8(out).map_err(|_| invalid(FieldProblem::NotUtf8))
}

fn decode_create<'a>(fields: &mut Fields<'a>) -> Result<Line<'a>, CodecError> {
    let (pool_at, pool) = fields.expect(Field::Pool)?;
    let (rules_at, rules) = fields.expect(Field::Rules)?;
    let rules = decimal_field(rules_at, rules, Field::Rules, 0, u64::from(u32::MAX))? as u32;
    let (mode_at, mode) = fields.expect(Field::Mode)?;
    let mode = match mode {
        "stock" => Mode::Stock,
        "weight" => Mode::Weight,
        "" => {
            return Err(CodecError::invalid(
                mode_at,
                Field::Mode,
                FieldProblem::Empty,
            ));
        }
        _ => {
            return Err(CodecError::invalid(
                mode_at,
                Field::Mode,
                FieldProblem::UnknownWord,
            ));
        }
    };
    let (every_at, every) = fields.expect(Field::SnapshotEvery)?;
    let snapshot_every = decimal_field(
        every_at,
        every,
        Field::SnapshotEvery,
        0,
        u64::from(u32::MAX),
    )? as u32;
    let (name_at, name) = fields.expect(Field::Name)?;
    let name = parse_name(name_at, name)?;

    // Offsets of each item's id, weight and stock, to place config errors.
    let mut offsets = Vec::new();
    let mut items = Vec::new();
    while let Some((at, text)) = fields.next() {
        // The id itself is checked with the rest of the configuration.
        let Some((id, rest)) = text.split_once(':') else {
            return Err(CodecError::new(
                at + text.len(),
                CodecReason::Missing(Field::Weight),
            ));
        };
        let Some((weight, stock)) = rest.split_once(':') else {
            return Err(CodecError::new(
                at + text.len(),
                CodecReason::Missing(Field::Stock),
            ));
        };
        let weight_at = at + id.len() + 1;
        let stock_at = weight_at + weight.len() + 1;
        let weight = decimal_field(weight_at, weight, Field::Weight, 0, u64::MAX)?;
        let stock = match stock {
            "*" => Stock::Unlimited,
            units => Stock::Limited(decimal_field(stock_at, units, Field::Stock, 0, u64::MAX)?),
        };
        offsets.push([at, weight_at, stock_at]);
        items.push((id, weight, stock));
    }

    let line_end = fields.line.len();
    ValidConfig::build(pool, &name, mode, rules, snapshot_every, items.into_iter())
        .map(|config| Line::Create(Arc::new(config)))
        .map_err(|error| {
            let item_at = |index: usize, part: usize| {
                offsets.get(index).map_or(line_end, |offsets| offsets[part])
            };
            let at = match error.field {
                ConfigField::Id => pool_at,
                ConfigField::Name => name_at,
                ConfigField::Rules => rules_at,
                ConfigField::SnapshotEvery => every_at,
                // Never in a CREATE line: the interval is COMMIT's.
                ConfigField::RotateEvery => rules_at,
                ConfigField::Items => item_at(0, 0),
                ConfigField::ItemId(index) => item_at(index, 0),
                ConfigField::ItemWeight(index) => item_at(index, 1),
                ConfigField::ItemStock(index) => item_at(index, 2),
            };
            CodecError::new(at, CodecReason::Config(error))
        })
}

fn draw_count(fields: &mut Fields<'_>) -> Result<DrawCount, CodecError> {
    let (at, count) = fields.expect(Field::Count)?;
    let count = decimal_field(at, count, Field::Count, 1, u64::from(MAX_DRAW_COUNT))?;
    // In 1..=MAX_DRAW_COUNT by the bounds above.
    DrawCount::new(count as u32).ok_or(CodecError::invalid(
        at,
        Field::Count,
        FieldProblem::OutOfRange {
            min: 1,
            max: u64::from(MAX_DRAW_COUNT),
        },
    ))
}

fn seed_field(fields: &mut Fields<'_>) -> Result<u64, CodecError> {
    let (at, text) = fields.expect(Field::Seed)?;
    parse_seed(at, text)
}

fn number_field(fields: &mut Fields<'_>, field: Field, max: u64) -> Result<u64, CodecError> {
    let (at, text) = fields.expect(field)?;
    decimal_field(at, text, field, 0, max)
}

fn operation_field<'a>(fields: &mut Fields<'a>) -> Result<&'a str, CodecError> {
    let (at, operation) = fields.expect(Field::Operation)?;
    id_field(at, operation, Field::Operation, OperationId::check)
}

fn decode_chunk<'a>(fields: &mut Fields<'a>) -> Result<Line<'a>, CodecError> {
    let operation_id = operation_field(fields)?;
    // Within u32 by the bound.
    let index = number_field(fields, Field::Index, u64::from(u32::MAX))? as u32;
    let count = draw_count(fields)?;
    let seed = seed_field(fields)?;
    let at = number_field(fields, Field::At, u64::MAX)?;
    let until = number_field(fields, Field::Until, u64::MAX)?;
    Ok(Line::Chunk {
        operation_id,
        index,
        count,
        seed,
        at,
        until,
    })
}

fn client_seed_field<'a>(fields: &mut Fields<'a>) -> Result<&'a str, CodecError> {
    let (at, client_seed) = fields.expect(Field::ClientSeed)?;
    id_field(at, client_seed, Field::ClientSeed, ClientSeed::check)
}

fn decode_fair_chunk<'a>(fields: &mut Fields<'a>) -> Result<Line<'a>, CodecError> {
    let operation_id = operation_field(fields)?;
    // Within u32 by the bound.
    let index = number_field(fields, Field::Index, u64::from(u32::MAX))? as u32;
    let count = draw_count(fields)?;
    let client_seed = client_seed_field(fields)?;
    let nonce = number_field(fields, Field::Nonce, u64::MAX)?;
    let at = number_field(fields, Field::At, u64::MAX)?;
    let until = number_field(fields, Field::Until, u64::MAX)?;
    Ok(Line::FairChunk {
        operation_id,
        index,
        count,
        client_seed,
        nonce,
        at,
        until,
    })
}

fn decode_rollback<'a>(fields: &mut Fields<'a>) -> Result<Line<'a>, CodecError> {
    let operation_id = operation_field(fields)?;
    let at = number_field(fields, Field::At, u64::MAX)?;
    let until = number_field(fields, Field::Until, u64::MAX)?;
    Ok(Line::Rollback {
        operation_id,
        at,
        until,
    })
}

fn decode_draw<'a>(fields: &mut Fields<'a>) -> Result<Line<'a>, CodecError> {
    let (at, request) = fields.expect(Field::RequestId)?;
    let request_id = id_field(at, request, Field::RequestId, RequestId::check_logged)?;
    let count = draw_count(fields)?;
    let seed = seed_field(fields)?;
    let all_or_nothing = fill_field(fields)?;
    Ok(Line::Draw {
        request_id,
        count,
        seed,
        all_or_nothing,
    })
}

fn fill_field(fields: &mut Fields<'_>) -> Result<bool, CodecError> {
    let (at, fill) = fields.expect(Field::Fill)?;
    match fill {
        "partial" => Ok(false),
        "all" => Ok(true),
        "" => Err(CodecError::invalid(at, Field::Fill, FieldProblem::Empty)),
        _ => Err(CodecError::invalid(
            at,
            Field::Fill,
            FieldProblem::UnknownWord,
        )),
    }
}

fn decode_fair_draw<'a>(fields: &mut Fields<'a>) -> Result<Line<'a>, CodecError> {
    let (at, request) = fields.expect(Field::RequestId)?;
    let request_id = id_field(at, request, Field::RequestId, RequestId::check_logged)?;
    let count = draw_count(fields)?;
    let client_seed = client_seed_field(fields)?;
    let nonce = number_field(fields, Field::Nonce, u64::MAX)?;
    let all_or_nothing = fill_field(fields)?;
    Ok(Line::FairDraw {
        request_id,
        count,
        client_seed,
        nonce,
        all_or_nothing,
    })
}

// 64 lowercase hex digits: the one spelling of 32 bytes in a log line.
fn digest_field(fields: &mut Fields<'_>, field: Field) -> Result<[u8; 32], CodecError> {
    let (at, text) = fields.expect(field)?;
    let bytes = text.as_bytes();
    if bytes.len() != 64
        || bytes
            .iter()
            .any(|&byte| HEX_VALUE[usize::from(byte)] & 0x80 != 0)
    {
        return Err(CodecError::invalid(at, field, FieldProblem::NotDigest));
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *byte = HEX_VALUE[usize::from(pair[0])] << 4 | HEX_VALUE[usize::from(pair[1])];
    }
    Ok(out)
}

fn decode_commit<'a>(fields: &mut Fields<'a>) -> Result<Line<'a>, CodecError> {
    let commitment = Commitment::from_bytes(digest_field(fields, Field::Commitment)?);
    // Within u32 by the bound.
    let rotate_every = number_field(fields, Field::RotateEvery, u64::from(u32::MAX))? as u32;
    Ok(Line::Commit {
        commitment,
        rotate_every,
    })
}

fn decode_rotate<'a>(fields: &mut Fields<'a>) -> Result<Line<'a>, CodecError> {
    let revealed = ServerSeed::from_bytes(digest_field(fields, Field::ServerSeed)?);
    let next = Commitment::from_bytes(digest_field(fields, Field::Commitment)?);
    Ok(Line::Rotate { revealed, next })
}

fn decode_return<'a>(fields: &mut Fields<'a>) -> Result<Line<'a>, CodecError> {
    let operation_id = operation_field(fields)?;
    let mut items = Vec::new();
    while let Some((at, text)) = fields.next() {
        let Some((item, count)) = text.split_once(':') else {
            return Err(CodecError::new(
                at + text.len(),
                CodecReason::Missing(Field::Quantity),
            ));
        };
        let item = id_field(at, item, Field::Item, ItemId::check)?;
        let quantity = quantity(at + item.len() + 1, count)?;
        items.push((item, quantity));
    }
    Ok(Line::Return {
        operation_id,
        items,
    })
}

fn decode_restock<'a>(fields: &mut Fields<'a>) -> Result<Line<'a>, CodecError> {
    let (at, item) = fields.expect(Field::Item)?;
    let item = id_field(at, item, Field::Item, ItemId::check)?;
    let (at, count) = fields.expect(Field::Quantity)?;
    let quantity = quantity(at, count)?;
    Ok(Line::Restock { item, quantity })
}

fn decode_given_draw<'a>(fields: &mut Fields<'a>) -> Result<Line<'a>, CodecError> {
    let (at, request) = fields.expect(Field::RequestId)?;
    let request_id = id_field(at, request, Field::RequestId, RequestId::check_logged)?;
    let (at, item) = fields.expect(Field::Item)?;
    let item = match item {
        ItemId::RESERVED => None,
        item => Some(id_field(at, item, Field::Item, ItemId::check)?),
    };
    Ok(Line::GivenDraw { request_id, item })
}
