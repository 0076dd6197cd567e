//! Snapshots: the documented format, byte flips and truncations reported
//! exactly, and payloads that are well-checksummed but wrong refused with
//! the reason.

use tombola_core::pool::snapshot::{
    COLUMNS_FROM, FORMAT_VERSION, FORMAT_VERSION_COLUMNS, FORMAT_VERSION_OPERATIONS, MAGIC,
    Malformed,
};
use tombola_core::pool::{
    ConfigError, ConfigField, ConfigProblem, IdError, PoolState, Snapshot, SnapshotError, Stock,
    replay_tail,
};

// CRC-32C, bit by bit: an independent check of the crate's table version.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn text(out: &mut Vec<u8>, text: &[u8]) {
    varint(out, text.len() as u64);
    out.extend_from_slice(text);
}

// Frames a payload as the module docs describe.
fn frame(payload: &[u8]) -> Vec<u8> {
    frame_version(FORMAT_VERSION, payload)
}

fn frame_version(version: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.push(version);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    let checksum = crc32c(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    out
}

// The header of a payload: seq 7, open, rules 1, stock mode, every 32,
// pool "p", name "P".
fn header(closed: u8, mode: u8) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, 7);
    out.push(closed);
    varint(&mut out, 1);
    out.push(mode);
    varint(&mut out, 32);
    text(&mut out, b"p");
    text(&mut out, b"P");
    out
}

fn item(out: &mut Vec<u8>, id: &[u8], weight: u64, stock: Option<(u64, u64)>) {
    text(out, id);
    varint(out, weight);
    match stock {
        None => out.push(0),
        Some((initial, remaining)) => {
            out.push(1);
            varint(out, initial);
            varint(out, remaining);
        }
    }
}

fn pool() -> PoolState {
    let log = [
        "CREATE/1 summer 1 stock 16 Summer%20fair gold:1:5 silver:2:10 none:10:*",
        "DRAW/1 r-1 4 000000000000002a partial",
        "RESTOCK/1 gold 2",
    ];
    replay_tail(None, log)
        .expect("the log replays")
        .state
        .expect("created")
}

fn sample() -> Vec<u8> {
    Snapshot {
        seq: 3,
        state: pool(),
    }
    .encode()
}

#[test]
fn the_encoding_is_the_documented_one() {
    let state = pool();
    let stocks: Vec<Stock> = state.stocks().map(|(_, stock)| stock).collect();
    let Stock::Limited(gold) = stocks[0] else {
        panic!("gold is limited")
    };
    let Stock::Limited(silver) = stocks[1] else {
        panic!("silver is limited")
    };
    let mut payload = Vec::new();
    varint(&mut payload, 3);
    payload.push(0);
    varint(&mut payload, 1);
    payload.push(0);
    varint(&mut payload, 16);
    text(&mut payload, b"summer");
    text(&mut payload, b"Summer fair");
    varint(&mut payload, 3);
    item(&mut payload, b"gold", 1, Some((5, gold)));
    item(&mut payload, b"silver", 2, Some((10, silver)));
    item(&mut payload, b"none", 10, None);
    assert_eq!(Snapshot { seq: 3, state }.encode(), frame(&payload));
}

#[test]
fn snapshots_round_trip() {
    let bytes = sample();
    let snapshot = Snapshot::decode(&bytes).expect("decodes");
    assert_eq!(snapshot.seq, 3);
    assert_eq!(snapshot.state, pool());
    assert_eq!(snapshot.encode(), bytes);
    let mut closed = pool();
    closed.apply(&tombola_core::pool::Entry::Close);
    let snapshot = Snapshot {
        seq: u64::MAX,
        state: closed,
    };
    assert_eq!(Snapshot::decode(&snapshot.encode()), Ok(snapshot));
}

#[test]
fn every_byte_flip_is_reported_exactly() {
    flips_are_reported_exactly(&sample(), 1);
    // Every thirteenth byte of the larger one, to keep the test quick.
    flips_are_reported_exactly(&large_sample(), 13);
}

fn flips_are_reported_exactly(bytes: &[u8], stride: usize) {
    let payload = bytes.len() - 13;
    for position in (0..bytes.len()).step_by(stride) {
        for mask in [0x01u8, 0x80, 0xFF, 0x5A] {
            let mut flipped = bytes.to_vec();
            flipped[position] ^= mask;
            let error = Snapshot::decode(&flipped).unwrap_err();
            let expected = match position {
                0..4 => SnapshotError::BadMagic,
                4 => SnapshotError::UnsupportedVersion(bytes[4] ^ mask),
                5..9 => {
                    let declared =
                        u32::from_le_bytes([flipped[5], flipped[6], flipped[7], flipped[8]]);
                    SnapshotError::LengthMismatch {
                        declared,
                        actual: payload,
                    }
                }
                _ => {
                    let (body, trailer) = flipped.split_at(flipped.len() - 4);
                    SnapshotError::ChecksumMismatch {
                        stored: u32::from_le_bytes([
                            trailer[0], trailer[1], trailer[2], trailer[3],
                        ]),
                        computed: crc32c(body),
                    }
                }
            };
            assert_eq!(error, expected, "byte {position} ^ {mask:#04x}");
        }
    }
}

#[test]
fn every_truncation_is_reported_exactly() {
    for bytes in [sample(), large_sample()] {
        truncations_are_reported_exactly(&bytes);
    }
}

fn truncations_are_reported_exactly(bytes: &[u8]) {
    for length in 0..bytes.len() {
        let error = Snapshot::decode(&bytes[..length]).unwrap_err();
        let expected = if length < 13 {
            SnapshotError::TooShort(length)
        } else {
            SnapshotError::LengthMismatch {
                declared: (bytes.len() - 13) as u32,
                actual: length - 13,
            }
        };
        assert_eq!(error, expected, "length {length}");
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert_eq!(
        Snapshot::decode(&longer),
        Err(SnapshotError::LengthMismatch {
            declared: (bytes.len() - 13) as u32,
            actual: bytes.len() - 12
        })
    );
}

fn malformed(offset: usize, reason: Malformed) -> Result<Snapshot, SnapshotError> {
    Err(SnapshotError::Malformed {
        offset: offset + 9,
        reason,
    })
}

#[test]
fn well_checksummed_but_malformed_payloads_are_refused() {
    // A flag outside 0 and 1.
    let mut payload = header(2, 0);
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        malformed(1, Malformed::BadByte(2))
    );
    // An unknown mode.
    payload = header(0, 7);
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        malformed(3, Malformed::BadByte(7))
    );
    // A varint in a longer form than needed: 5 written as 0x85 0x00.
    payload = vec![0x85, 0x00];
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        malformed(0, Malformed::OverlongVarint)
    );
    // A varint past u64::MAX.
    payload = vec![0xFF; 9];
    payload.push(0x02);
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        malformed(0, Malformed::OutOfRange)
    );
    payload = vec![0xFF; 11];
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        malformed(0, Malformed::OutOfRange)
    );
    // A rules version past u32.
    payload = vec![7, 0];
    varint(&mut payload, 1 << 32);
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        malformed(2, Malformed::OutOfRange)
    );
    // A name that is not UTF-8.
    payload = header(0, 0);
    payload.truncate(payload.len() - 2);
    text(&mut payload, b"\xFF");
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        malformed(payload.len() - 2, Malformed::NotUtf8)
    );
    // An item count the bytes cannot hold.
    payload = header(0, 0);
    let count_at = payload.len();
    varint(&mut payload, 1000);
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        malformed(count_at, Malformed::Truncated)
    );
    // A payload that ends inside an item.
    payload = header(0, 0);
    varint(&mut payload, 1);
    text(&mut payload, b"gold");
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        malformed(payload.len(), Malformed::Truncated)
    );
    // An unknown stock tag.
    payload = header(0, 0);
    varint(&mut payload, 1);
    text(&mut payload, b"gold");
    varint(&mut payload, 1);
    payload.push(3);
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        malformed(payload.len() - 1, Malformed::BadByte(3))
    );
    // Bytes after the last item.
    payload = header(0, 0);
    varint(&mut payload, 1);
    item(&mut payload, b"gold", 1, None);
    payload.push(0);
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        malformed(payload.len() - 1, Malformed::Trailing)
    );
}

#[test]
fn well_checksummed_but_invalid_states_are_refused() {
    let config = |field, problem| Err(SnapshotError::Config(ConfigError { field, problem }));
    let mut payload = header(0, 0);
    varint(&mut payload, 2);
    item(&mut payload, b"gold", 1, Some((1, 1)));
    item(&mut payload, b"gold", 1, None);
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        config(
            ConfigField::ItemId(1),
            ConfigProblem::DuplicateId { first: 0 }
        )
    );

    payload = header(0, 0);
    varint(&mut payload, 1);
    item(&mut payload, b"go ld", 1, None);
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        config(
            ConfigField::ItemId(0),
            ConfigProblem::Id(IdError::InvalidChar { at: 2, found: ' ' })
        )
    );

    payload = header(0, 0);
    varint(&mut payload, 1);
    item(&mut payload, b"gold", 0, None);
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        config(ConfigField::ItemWeight(0), ConfigProblem::ZeroWeight)
    );

    payload = header(0, 0);
    varint(&mut payload, 0);
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        config(ConfigField::Items, ConfigProblem::NoItems)
    );

    // The initial stock fits; the remaining stock, restocked, does not.
    payload = header(0, 0);
    varint(&mut payload, 2);
    item(&mut payload, b"gold", 2, Some((1, u64::MAX / 2)));
    item(&mut payload, b"none", 2, None);
    assert_eq!(
        Snapshot::decode(&frame(&payload)),
        Err(SnapshotError::TotalOverflow)
    );
}

#[test]
fn errors_read_well() {
    assert_eq!(
        Snapshot::decode(b"").unwrap_err().to_string(),
        "0 bytes is too short for a snapshot"
    );
    let mut bytes = sample();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(
        Snapshot::decode(&bytes)
            .unwrap_err()
            .to_string()
            .starts_with("checksum mismatch: stored 0x")
    );
}

// A version 2 payload: one limited item `a` (50, 48 left), then `ops`.
fn with_operations(ops: &[u8]) -> (Vec<u8>, usize) {
    let mut payload = header(0, 0);
    varint(&mut payload, 1);
    item(&mut payload, b"a", 1, Some((50, 48)));
    let at = 9 + payload.len();
    payload.extend_from_slice(ops);
    (frame_version(FORMAT_VERSION_OPERATIONS, &payload), at)
}

#[test]
fn holdings_have_one_spelling() {
    let mut good = Vec::new();
    varint(&mut good, 1);
    text(&mut good, b"op");
    varint(&mut good, 5_000);
    good.push(0);
    varint(&mut good, 1);
    varint(&mut good, 0);
    varint(&mut good, 2);
    let (bytes, _) = with_operations(&good);
    let snapshot = Snapshot::decode(&bytes).unwrap();
    let holding = snapshot.state.holding("op").unwrap();
    assert_eq!((holding.units(), holding.until()), (&[(0, 2)][..], 5_000));
    assert_eq!(snapshot.encode(), bytes);

    let bad = |ops: &[u8], offset: usize| {
        let (bytes, at) = with_operations(ops);
        assert_eq!(
            Snapshot::decode(&bytes),
            Err(SnapshotError::Malformed {
                offset: at + offset,
                reason: Malformed::BadHolding
            }),
            "{ops:?}"
        );
    };
    // No operation at all in a version 2 snapshot.
    bad(&[0], 0);
    // A held position past the items: count, id, until, flag, held, then it.
    bad(&[1, 2, b'o', b'p', 1, 0, 1, 1, 2], 7);
    // Zero units.
    bad(&[1, 2, b'o', b'p', 1, 0, 1, 0, 0], 7);
    // Units held by a rolled-back operation.
    bad(&[1, 2, b'o', b'p', 1, 1, 1, 0, 2], 6);
    // Operations out of id order.
    bad(&[2, 1, b'b', 1, 0, 0, 1, b'a', 1, 0, 0], 6);
    // An id that is not an operation id.
    bad(&[1, 2, b'o', b'#', 1, 0, 0], 1);
}

// A pool of COLUMNS_FROM items, `i0` to `i255`: weights 1 to 7, every third
// unlimited, stocks up to 69 615 (four bytes wide); then a draw of 40 and a
// restock.
fn large_log() -> Vec<String> {
    let items: Vec<String> = (0..COLUMNS_FROM)
        .map(|i| {
            let stock = match i % 3 {
                0 => "*".to_owned(),
                _ => (i * 273).to_string(),
            };
            format!("i{i}:{}:{stock}", 1 + i % 7)
        })
        .collect();
    vec![
        format!("CREATE/1 big 1 stock 16 Big {}", items.join(" ")),
        "DRAW/1 r-1 40 000000000000002a partial".to_owned(),
        "RESTOCK/1 i1 2".to_owned(),
    ]
}

fn large_pool() -> PoolState {
    replay_tail(None, large_log())
        .expect("the log replays")
        .state
        .expect("created")
}

fn large_sample() -> Vec<u8> {
    Snapshot {
        seq: 3,
        state: large_pool(),
    }
    .encode()
}

// An item of a version 4 payload: id, weight, initial and remaining stock
// (`None` for unlimited).
type Row = (String, u64, Option<u64>, Option<u64>);

fn rows(state: &PoolState) -> Vec<Row> {
    state
        .config()
        .items()
        .zip(state.stocks())
        .map(|(item, (_, remaining))| {
            let units = |stock| match stock {
                Stock::Limited(units) => Some(units),
                Stock::Unlimited => None,
            };
            (
                item.id.to_string(),
                item.weight,
                units(item.stock),
                units(remaining),
            )
        })
        .collect()
}

fn ones(width: u8) -> u64 {
    u64::MAX >> (64 - 8 * u32::from(width))
}

fn put(out: &mut Vec<u8>, value: u64, width: u8) {
    out.extend_from_slice(&value.to_le_bytes()[..usize::from(width)]);
}

// A version 4 payload as the module docs describe, after `fields` (the
// header's fields up to the name): the items' count, the widths, the ids
// (with `extra` after the last), the four columns, no operation and no
// commitment.
fn columns_payload(mut out: Vec<u8>, rows: &[Row], widths: [u8; 4], extra: &[u8]) -> Vec<u8> {
    varint(&mut out, rows.len() as u64);
    out.extend_from_slice(&widths);
    let mut ids: Vec<u8> = rows.iter().flat_map(|row| row.0.bytes()).collect();
    ids.extend_from_slice(extra);
    text(&mut out, &ids);
    let mut end = 0;
    for row in rows {
        end += row.0.len() as u64;
        put(&mut out, end, widths[0]);
    }
    for row in rows {
        put(&mut out, row.1, widths[1]);
    }
    for row in rows {
        put(&mut out, row.2.unwrap_or(ones(widths[2])), widths[2]);
    }
    for row in rows {
        put(&mut out, row.3.unwrap_or(ones(widths[3])), widths[3]);
    }
    varint(&mut out, 0);
    out.push(0);
    out
}

// Header fields of the large pool: seq 3, open, rules 1, stock mode, every
// 16, pool "big", name "Big".
fn large_fields() -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, 3);
    out.push(0);
    varint(&mut out, 1);
    out.push(0);
    varint(&mut out, 16);
    text(&mut out, b"big");
    text(&mut out, b"Big");
    out
}

fn columns_of(rows: &[Row], widths: [u8; 4], extra: &[u8]) -> Vec<u8> {
    frame_version(
        FORMAT_VERSION_COLUMNS,
        &columns_payload(large_fields(), rows, widths, extra),
    )
}

#[test]
fn a_large_pool_is_written_in_columns_as_documented() {
    let state = large_pool();
    // 914 bytes of ids: two-byte ends; weights up to 7: one byte; stocks up
    // to 69 615: four bytes.
    let expected = columns_of(&rows(&state), [2, 1, 4, 4], b"");
    let snapshot = Snapshot { seq: 3, state };
    assert_eq!(snapshot.encode(), expected);
    let decoded = Snapshot::decode(&expected).expect("decodes");
    assert_eq!(decoded, snapshot);
    assert_eq!(decoded.encode(), expected);
    // One item fewer, and the pool is written in version 1 again.
    let small = replay_tail(None, &[large_log()[0].replace(" i255:4:*", "")])
        .expect("the log replays")
        .snapshot()
        .expect("created")
        .encode();
    assert_eq!(small[4], FORMAT_VERSION);
}

#[test]
fn a_pool_read_from_columns_goes_on_as_the_one_written() {
    let state = large_pool();
    let decoded = Snapshot::decode(&large_sample()).expect("decodes").state;
    // Looked up by id (the index is built on the first lookup).
    assert_eq!(decoded.stock("i4"), state.stock("i4"));
    assert_eq!(decoded.stock("i255"), Some(Stock::Unlimited));
    assert!(matches!(
        decoded.stock("i254"),
        Some(Stock::Limited(69_000..=69_342))
    ));
    assert_eq!(decoded.stock("nope"), None);
    let tail = [
        "DRAW/1 r-2 300 0000000000000007 partial",
        "RESTOCK/1 i4 3",
        "RETURN/1 op-1 i5:2 i6:1",
        "CLOSE/1",
    ];
    let written = Snapshot { seq: 3, state };
    let read = replay_tail(
        Some(Snapshot {
            seq: 3,
            state: decoded,
        }),
        &tail,
    )
    .expect("replays");
    let kept = replay_tail(Some(written), &tail).expect("replays");
    assert_eq!(read.outcomes, kept.outcomes);
    assert_eq!(read.state, kept.state);
    let again = read.snapshot().expect("the pool exists").encode();
    assert_eq!(again, kept.snapshot().expect("the pool exists").encode());
    assert_eq!(again[4], FORMAT_VERSION_COLUMNS);
}

#[test]
fn columns_that_break_the_format_are_refused() {
    let rows = rows(&large_pool());
    let widths_at = 9 + large_fields().len() + 2;
    let columns = |reason| {
        Err(SnapshotError::Malformed {
            offset: widths_at,
            reason,
        })
    };
    // Fewer items than COLUMNS_FROM: the count is refused.
    assert_eq!(
        Snapshot::decode(&columns_of(&rows[1..], [2, 1, 4, 4], b"")),
        Err(SnapshotError::Malformed {
            offset: widths_at - 2,
            reason: Malformed::BadColumns
        })
    );
    // A width that is not 1, 2, 4 or 8.
    assert_eq!(
        Snapshot::decode(&columns_of(&rows, [2, 1, 3, 4], b"")),
        Err(SnapshotError::Malformed {
            offset: widths_at + 2,
            reason: Malformed::BadByte(3)
        })
    );
    // Ids past where the last one ends.
    assert_eq!(
        Snapshot::decode(&columns_of(&rows, [2, 1, 4, 4], b"x")),
        columns(Malformed::BadColumns)
    );
    // Remaining stock unlimited where the initial stock is not.
    let mut mismatched = rows.clone();
    mismatched[1].3 = None;
    assert_eq!(
        Snapshot::decode(&columns_of(&mismatched, [2, 1, 4, 4], b"")),
        columns(Malformed::UnlimitedMismatch)
    );
    // Remaining stocks whose total weight does not fit in a u64.
    let mut overflowing = rows.clone();
    overflowing[1].3 = Some(u64::MAX / 2);
    assert_eq!(
        Snapshot::decode(&columns_of(&overflowing, [2, 1, 4, 8], b"")),
        Err(SnapshotError::TotalOverflow)
    );
    // Columns cut short.
    let payload = columns_payload(large_fields(), &rows, [2, 1, 4, 4], b"");
    let cut = &payload[..payload.len() - 2 - 4 * COLUMNS_FROM];
    assert_eq!(
        Snapshot::decode(&frame_version(FORMAT_VERSION_COLUMNS, cut)),
        Err(SnapshotError::Malformed {
            offset: 9 + cut.len(),
            reason: Malformed::Truncated
        })
    );
    // The fields before the items are checked as a creation checks them.
    let mut fields = Vec::new();
    varint(&mut fields, 3);
    fields.push(0);
    varint(&mut fields, 9);
    fields.push(0);
    varint(&mut fields, 16);
    text(&mut fields, b"big");
    text(&mut fields, b"Big");
    let bytes = frame_version(
        FORMAT_VERSION_COLUMNS,
        &columns_payload(fields, &rows, [2, 1, 4, 4], b""),
    );
    assert_eq!(
        Snapshot::decode(&bytes),
        Err(SnapshotError::Config(ConfigError {
            field: ConfigField::Rules,
            problem: ConfigProblem::UnknownRules(9)
        }))
    );
}

// Version 4 leaves each item's rules to its writer (see the module docs):
// a snapshot that breaks them decodes, draws, and goes through a round trip
// without a panic, with a repeated id found at its first position.
#[test]
fn columns_that_break_an_items_rule_still_read_without_a_panic() {
    let mut rows = rows(&large_pool());
    rows[2].0 = "i0".to_owned();
    rows[3].0 = "a b".to_owned();
    rows[4].1 = 0;
    rows[5].0 = String::new();
    let bytes = columns_of(&rows, [2, 1, 4, 4], b"");
    let snapshot = Snapshot::decode(&bytes).expect("decodes");
    assert_eq!(snapshot.state.stock("i0"), Some(Stock::Unlimited));
    assert_eq!(snapshot.state.odds()[4].numerator, 0);
    let drawn = replay_tail(
        Some(snapshot.clone()),
        &["DRAW/1 r-2 500 0000000000000009 partial", "RESTOCK/1 i0 1"],
    )
    .expect("replays");
    assert_eq!(drawn.outcomes.len(), 2);
    let again = Snapshot::decode(&snapshot.encode()).expect("re-encodes");
    assert_eq!(again, snapshot);

    // Ends out of order: the ids they cut are read as empty, and the state
    // still goes through a round trip.
    let rows = self::rows(&large_pool());
    let mut payload = columns_payload(large_fields(), &rows, [2, 1, 4, 4], b"");
    let ids: usize = rows.iter().map(|row| row.0.len()).sum();
    let ends_at = large_fields().len() + 2 + 4 + 2 + ids;
    payload.swap(ends_at + 14, ends_at + 16);
    payload.swap(ends_at + 15, ends_at + 17);
    let snapshot =
        Snapshot::decode(&frame_version(FORMAT_VERSION_COLUMNS, &payload)).expect("decodes");
    let id = |position: u32| snapshot.state.config().id(position).unwrap().to_string();
    assert_eq!((id(7), id(8)), ("i7i8".to_owned(), String::new()));
    assert_eq!(Snapshot::decode(&snapshot.encode()), Ok(snapshot));
}
