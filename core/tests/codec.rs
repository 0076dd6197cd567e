//! The log line codec: every variant round-trips, every error is exact, and
//! damaged lines are refused with the error that names the damage.

use tombola_core::pool::{
    CodecError, CodecReason, ConfigError, ConfigField, ConfigProblem, Entry, Field, FieldProblem,
    IdError, LogError, decode_tail,
};

fn error(line: &str) -> CodecError {
    match Entry::decode(line) {
        Ok(entry) => panic!("{line:?} decoded as {entry:?}"),
        Err(error) => error,
    }
}

fn invalid(offset: usize, field: Field, problem: FieldProblem) -> CodecError {
    CodecError {
        offset,
        reason: CodecReason::Invalid { field, problem },
    }
}

fn at(offset: usize, reason: CodecReason) -> CodecError {
    CodecError { offset, reason }
}

const LINES: [&str; 12] = [
    "CREATE/1 summer 1 stock 32 Summer gold:1:5 none:10:*",
    "CREATE/1 p.2 1 weight 1 Caf%C3%A9%20%25%20bar a:18446744073709551615:0",
    "DRAW/1 r-1 1 0000000000000000 partial",
    "DRAW/1 op-7#12 1000 ffffffffffffffff all",
    "RETURN/1 op-7 gold:2 none:1",
    "RETURN/1 op-7 gold:2 gold:18446744073709551615",
    "RETURN/1 op-8",
    "RESTOCK/1 gold 5",
    "CLOSE/1",
    "DRAW r-0 gold",
    "DRAW r-0 FAILED",
    "DRAW 123e4567-e89b-12d3-a456-426614174000 none",
];

#[test]
fn every_variant_round_trips_byte_for_byte() {
    for line in LINES {
        let entry = Entry::decode(line).unwrap_or_else(|error| panic!("{line:?}: {error}"));
        assert_eq!(entry.encode(), line);
        assert_eq!(Entry::decode(&entry.encode()), Ok(entry.clone()));
        assert_eq!(Entry::decode_bytes(line.as_bytes()), Ok(entry.clone()));
        assert_eq!(line.parse::<Entry>(), Ok(entry));
    }
}

#[test]
fn decoded_fields_are_the_written_ones() {
    let Entry::Draw(draw) = Entry::decode("DRAW/1 op-7#12 1000 00000000deadbeef all").unwrap()
    else {
        panic!("not a draw")
    };
    assert_eq!(draw.request_id.as_str(), "op-7#12");
    assert_eq!(draw.count.get(), 1000);
    assert_eq!(draw.seed, 0xdead_beef);
    assert!(draw.all_or_nothing);

    let Entry::Create(config) = Entry::decode(LINES[1]).unwrap() else {
        panic!("not a create")
    };
    assert_eq!(config.name(), "Café % bar");
    assert_eq!(config.item(0).map(|item| item.weight), Some(u64::MAX));

    let Entry::GivenDraw(seed) = Entry::decode("DRAW r-0 FAILED").unwrap() else {
        panic!("not a seed draw")
    };
    assert_eq!(seed.item, None);
    let Entry::GivenDraw(seed) = Entry::decode("DRAW r-0 gold").unwrap() else {
        panic!("not a seed draw")
    };
    assert_eq!(
        seed.item.map(|item| item.to_string()),
        Some("gold".to_owned())
    );
}

#[test]
fn line_level_errors() {
    assert_eq!(error(""), at(0, CodecReason::Empty));
    assert_eq!(error(" CLOSE/1"), at(0, CodecReason::Empty));
    assert_eq!(error("OPEN/1"), at(0, CodecReason::UnknownVerb));
    assert_eq!(error("CLOSE"), at(0, CodecReason::UnknownVerb));
    assert_eq!(
        error("draw/1 r 1 0000000000000000 all"),
        at(0, CodecReason::UnknownVerb)
    );
    assert_eq!(error("CLOSE/2"), at(6, CodecReason::UnsupportedVersion(2)));
    assert_eq!(
        error("CLOSE/01"),
        invalid(6, Field::Version, FieldProblem::LeadingZero)
    );
    assert_eq!(
        error("CLOSE/"),
        invalid(6, Field::Version, FieldProblem::Empty)
    );
    assert_eq!(
        error("CLOSE/x"),
        invalid(6, Field::Version, FieldProblem::NotDecimal)
    );
    assert_eq!(
        error("CLOSE/4294967296"),
        invalid(
            6,
            Field::Version,
            FieldProblem::OutOfRange {
                min: 0,
                max: u64::from(u32::MAX)
            }
        )
    );
    assert_eq!(error("CLOSE/1 "), at(8, CodecReason::Trailing));
    assert_eq!(error("CLOSE/1 now"), at(8, CodecReason::Trailing));
    assert_eq!(
        error("RESTOCK/1 gold 5 more"),
        at(17, CodecReason::Trailing)
    );
    assert_eq!(
        error("DRAW/1 r 1 0000000000000000 all\n"),
        invalid(28, Field::Fill, FieldProblem::UnknownWord)
    );
    assert_eq!(
        Entry::decode_bytes(b"DRAW r \xff"),
        Err(at(7, CodecReason::NotUtf8))
    );
}

#[test]
fn draw_errors() {
    assert_eq!(
        error("DRAW/1"),
        at(6, CodecReason::Missing(Field::RequestId))
    );
    assert_eq!(error("DRAW/1 r"), at(8, CodecReason::Missing(Field::Count)));
    assert_eq!(
        error("DRAW/1 r 1"),
        at(10, CodecReason::Missing(Field::Seed))
    );
    assert_eq!(
        error("DRAW/1 r 1 0000000000000000"),
        at(27, CodecReason::Missing(Field::Fill))
    );
    assert_eq!(
        error("DRAW/1  1 0000000000000000 all"),
        invalid(7, Field::RequestId, FieldProblem::Empty)
    );
    assert_eq!(
        error("DRAW/1 a:b 1 0000000000000000 all"),
        invalid(
            7,
            Field::RequestId,
            FieldProblem::Id(IdError::InvalidChar { at: 1, found: ':' })
        )
    );
    let count_range = FieldProblem::OutOfRange { min: 1, max: 1000 };
    assert_eq!(
        error("DRAW/1 r 0 0000000000000000 all"),
        invalid(9, Field::Count, count_range)
    );
    assert_eq!(
        error("DRAW/1 r 1001 0000000000000000 all"),
        invalid(9, Field::Count, count_range)
    );
    assert_eq!(
        error("DRAW/1 r 01 0000000000000000 all"),
        invalid(9, Field::Count, FieldProblem::LeadingZero)
    );
    assert_eq!(
        error("DRAW/1 r +1 0000000000000000 all"),
        invalid(9, Field::Count, FieldProblem::NotDecimal)
    );
    assert_eq!(
        error("DRAW/1 r 1 000000000000000 all"),
        invalid(11, Field::Seed, FieldProblem::NotSeed)
    );
    assert_eq!(
        error("DRAW/1 r 1 00000000000000000 all"),
        invalid(11, Field::Seed, FieldProblem::NotSeed)
    );
    assert_eq!(
        error("DRAW/1 r 1 000000000000000F all"),
        invalid(11, Field::Seed, FieldProblem::NotSeed)
    );
    assert_eq!(
        error("DRAW/1 r 1 0000000000000000 some"),
        invalid(28, Field::Fill, FieldProblem::UnknownWord)
    );
    assert_eq!(
        error("DRAW/1 r 1 0000000000000000 "),
        invalid(28, Field::Fill, FieldProblem::Empty)
    );
}

#[test]
fn return_restock_and_seed_draw_errors() {
    assert_eq!(
        error("RETURN/1"),
        at(8, CodecReason::Missing(Field::Operation))
    );
    assert_eq!(
        error("RETURN/1 op#1 a:1"),
        invalid(
            9,
            Field::Operation,
            FieldProblem::Id(IdError::InvalidChar { at: 2, found: '#' })
        )
    );
    assert_eq!(
        error("RETURN/1 op gold"),
        at(16, CodecReason::Missing(Field::Quantity))
    );
    assert_eq!(
        error("RETURN/1 op gold:0"),
        invalid(
            17,
            Field::Quantity,
            FieldProblem::OutOfRange {
                min: 1,
                max: u64::MAX
            }
        )
    );
    assert_eq!(
        error("RETURN/1 op gold:18446744073709551616"),
        invalid(
            17,
            Field::Quantity,
            FieldProblem::OutOfRange {
                min: 1,
                max: u64::MAX
            }
        )
    );
    assert_eq!(
        error("RETURN/1 op :1"),
        invalid(12, Field::Item, FieldProblem::Empty)
    );
    assert_eq!(
        error("RETURN/1 op FAILED:1"),
        invalid(12, Field::Item, FieldProblem::Id(IdError::Reserved))
    );
    assert_eq!(
        error("RETURN/1 op a:1:2"),
        invalid(14, Field::Quantity, FieldProblem::NotDecimal)
    );

    assert_eq!(error("RESTOCK/1"), at(9, CodecReason::Missing(Field::Item)));
    assert_eq!(
        error("RESTOCK/1 gold"),
        at(14, CodecReason::Missing(Field::Quantity))
    );
    assert_eq!(
        error("RESTOCK/1 gold 0"),
        invalid(
            15,
            Field::Quantity,
            FieldProblem::OutOfRange {
                min: 1,
                max: u64::MAX
            }
        )
    );
    assert_eq!(
        error("RESTOCK/1 gold -1"),
        invalid(15, Field::Quantity, FieldProblem::NotDecimal)
    );

    assert_eq!(error("DRAW"), at(4, CodecReason::Missing(Field::RequestId)));
    assert_eq!(error("DRAW r"), at(6, CodecReason::Missing(Field::Item)));
    assert_eq!(error("DRAW r gold extra"), at(12, CodecReason::Trailing));
    assert_eq!(
        error("DRAW r g%ld"),
        invalid(
            7,
            Field::Item,
            FieldProblem::Id(IdError::InvalidChar { at: 1, found: '%' })
        )
    );
}

#[test]
fn create_errors_point_at_the_field() {
    assert_eq!(error("CREATE/1"), at(8, CodecReason::Missing(Field::Pool)));
    assert_eq!(
        error("CREATE/1 p"),
        at(10, CodecReason::Missing(Field::Rules))
    );
    assert_eq!(
        error("CREATE/1 p 1"),
        at(12, CodecReason::Missing(Field::Mode))
    );
    assert_eq!(
        error("CREATE/1 p 1 stock"),
        at(18, CodecReason::Missing(Field::SnapshotEvery))
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32"),
        at(21, CodecReason::Missing(Field::Name))
    );
    assert_eq!(
        error("CREATE/1 p 1 drum 32 P a:1:1"),
        invalid(13, Field::Mode, FieldProblem::UnknownWord)
    );
    assert_eq!(
        error("CREATE/1 p 1  32 P a:1:1"),
        invalid(13, Field::Mode, FieldProblem::Empty)
    );
    assert_eq!(
        error("CREATE/1 p x stock 32 P a:1:1"),
        invalid(11, Field::Rules, FieldProblem::NotDecimal)
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 032 P a:1:1"),
        invalid(19, Field::SnapshotEvery, FieldProblem::LeadingZero)
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32  a:1:1"),
        invalid(22, Field::Name, FieldProblem::Empty)
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32 P a"),
        at(25, CodecReason::Missing(Field::Weight))
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32 P a:1"),
        at(27, CodecReason::Missing(Field::Stock))
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32 P a:x:1"),
        invalid(26, Field::Weight, FieldProblem::NotDecimal)
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32 P a:1:-"),
        invalid(28, Field::Stock, FieldProblem::NotDecimal)
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32 P a:1:**"),
        invalid(28, Field::Stock, FieldProblem::NotDecimal)
    );
}

#[test]
fn create_config_errors_carry_the_config_field() {
    let config =
        |offset, field, problem| at(offset, CodecReason::Config(ConfigError { field, problem }));
    assert_eq!(
        error("CREATE/1 p! 1 stock 32 P a:1:1"),
        config(
            9,
            ConfigField::Id,
            ConfigProblem::Id(IdError::InvalidChar { at: 1, found: '!' })
        )
    );
    assert_eq!(
        error("CREATE/1 p 3 stock 32 P a:1:1"),
        config(11, ConfigField::Rules, ConfigProblem::UnknownRules(3))
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 0 P a:1:1"),
        config(
            19,
            ConfigField::SnapshotEvery,
            ConfigProblem::SnapshotEveryOutOfRange
        )
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32 %0A a:1:1"),
        config(22, ConfigField::Name, ConfigProblem::ControlChar { at: 0 })
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32 P"),
        config(23, ConfigField::Items, ConfigProblem::NoItems)
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32 P a:1:1 b:1:1 a:2:2"),
        config(
            36,
            ConfigField::ItemId(2),
            ConfigProblem::DuplicateId { first: 0 }
        )
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32 P a:1:1 b:0:1"),
        config(32, ConfigField::ItemWeight(1), ConfigProblem::ZeroWeight)
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32 P a:2:9223372036854775808"),
        config(28, ConfigField::ItemStock(0), ConfigProblem::TotalOverflow)
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32 P FAILED:1:1"),
        config(
            24,
            ConfigField::ItemId(0),
            ConfigProblem::Id(IdError::Reserved)
        )
    );
    assert_eq!(
        error("CREATE/1 p 1 stock 32 P :1:1"),
        config(
            24,
            ConfigField::ItemId(0),
            ConfigProblem::Id(IdError::Empty { at: 0 })
        )
    );
}

#[test]
fn names_have_exactly_one_spelling() {
    let name = |field: &str| error(&format!("CREATE/1 p 1 stock 32 {field} a:1:1"));
    let bad_escape = |at| invalid(22, Field::Name, FieldProblem::BadEscape { at });
    // Lowercase hex, a short escape, an escape of a byte written as itself.
    assert_eq!(name("%c3%a9"), bad_escape(0));
    assert_eq!(name("ab%2"), bad_escape(2));
    assert_eq!(name("%41"), bad_escape(0));
    assert_eq!(name("%"), bad_escape(0));
    // A raw byte that must be escaped.
    assert_eq!(
        name("caf\u{e9}"),
        invalid(22, Field::Name, FieldProblem::Unescaped { at: 3 })
    );
    // Escapes of bytes that are not UTF-8 together.
    assert_eq!(name("%C3"), invalid(22, Field::Name, FieldProblem::NotUtf8));
    // Every byte that needs escaping, escaped, round-trips.
    let line = "CREATE/1 p 1 stock 32 %25%20%C3%A9!~ a:1:1";
    let entry = Entry::decode(line).unwrap();
    assert_eq!(entry.encode(), line);
    let Entry::Create(config) = entry else {
        panic!("not a create")
    };
    assert_eq!(config.name(), "% é!~");
}

#[test]
fn request_ids_accept_one_hash() {
    assert!(Entry::decode("DRAW/1 op#chunk 1 0000000000000000 all").is_ok());
    assert_eq!(
        error("DRAW/1 op# 1 0000000000000000 all"),
        invalid(
            7,
            Field::RequestId,
            FieldProblem::Id(IdError::Empty { at: 3 })
        )
    );
    assert_eq!(
        error("DRAW/1 a#b#c 1 0000000000000000 all"),
        invalid(
            7,
            Field::RequestId,
            FieldProblem::Id(IdError::InvalidChar { at: 3, found: '#' })
        )
    );
}

// Replace each byte of every valid line with each of a few bytes; whatever
// decodes must re-encode to the damaged line itself (a damaged line is never
// silently read as another one), and what does not must report an offset
// inside the line.
#[test]
fn byte_flips_never_decode_as_a_different_line() {
    for line in LINES {
        for position in 0..line.len() {
            for replacement in [b' ', b'0', b'9', b'a', b'#', b':', b'*', b'%', b'\n', 0xFF] {
                let mut bytes = line.as_bytes().to_vec();
                if bytes[position] == replacement {
                    continue;
                }
                bytes[position] = replacement;
                match Entry::decode_bytes(&bytes) {
                    Ok(entry) => assert_eq!(
                        entry.encode().as_bytes(),
                        &bytes[..],
                        "{line:?} at {position}"
                    ),
                    Err(error) => assert!(
                        error.offset <= bytes.len(),
                        "{line:?} at {position}: {error}"
                    ),
                }
            }
        }
    }
}

#[test]
fn byte_flips_report_the_exact_error() {
    let line = "DRAW/1 r-1 12 00000000deadbeef partial";
    let flip = |position: usize, byte: u8| {
        let mut bytes = line.as_bytes().to_vec();
        bytes[position] = byte;
        Entry::decode_bytes(&bytes).unwrap_err()
    };
    assert_eq!(flip(0, b'X'), at(0, CodecReason::UnknownVerb));
    assert_eq!(flip(5, b'3'), at(5, CodecReason::UnsupportedVersion(3)));
    // A separator lost: the version runs into the request id.
    assert_eq!(
        flip(6, b'_'),
        invalid(5, Field::Version, FieldProblem::NotDecimal)
    );
    assert_eq!(
        flip(8, b'!'),
        invalid(
            7,
            Field::RequestId,
            FieldProblem::Id(IdError::InvalidChar { at: 1, found: '!' })
        )
    );
    assert_eq!(
        flip(11, b'0'),
        invalid(11, Field::Count, FieldProblem::LeadingZero)
    );
    assert_eq!(
        flip(12, b'x'),
        invalid(11, Field::Count, FieldProblem::NotDecimal)
    );
    assert_eq!(
        flip(20, b'G'),
        invalid(14, Field::Seed, FieldProblem::NotSeed)
    );
    assert_eq!(
        flip(31, b'P'),
        invalid(31, Field::Fill, FieldProblem::UnknownWord)
    );
    assert_eq!(flip(13, 0xC3), at(13, CodecReason::NotUtf8));
}

#[test]
fn log_tails_name_the_sequence_number_of_a_bad_line() {
    let lines = ["CLOSE/1", "DRAW r FAILED", "CLOSE/9", "CLOSE/1"];
    assert_eq!(
        decode_tail(41, lines),
        Err(LogError {
            seq: 43,
            source: at(6, CodecReason::UnsupportedVersion(9))
        })
    );
    let good = decode_tail(41, &lines[..2]).unwrap();
    assert_eq!(
        good.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        [41, 42]
    );
    assert_eq!(good[0].1, Entry::Close);
    let message = decode_tail(7, [b"\xff".as_slice()])
        .unwrap_err()
        .to_string();
    assert_eq!(message, "log entry 7: at byte 0: not UTF-8");
}
