//! Snapshots: the documented format, byte flips and truncations reported
//! exactly, and payloads that are well-checksummed but wrong refused with
//! the reason.

use tombola_core::pool::snapshot::{FORMAT_VERSION, FORMAT_VERSION_OPERATIONS, MAGIC, Malformed};
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
    let bytes = sample();
    let payload = bytes.len() - 13;
    for position in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xFF, 0x5A] {
            let mut flipped = bytes.clone();
            flipped[position] ^= mask;
            let error = Snapshot::decode(&flipped).unwrap_err();
            let expected = match position {
                0..4 => SnapshotError::BadMagic,
                4 => SnapshotError::UnsupportedVersion(FORMAT_VERSION ^ mask),
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
    let bytes = sample();
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
    let mut longer = bytes.clone();
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
