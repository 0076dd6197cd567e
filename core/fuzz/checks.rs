//! What every fuzz target asserts about one input, shared by the targets
//! and by `core/tests/fuzz_regressions.rs`, which runs the inputs kept
//! under `regressions/` on every `cargo test`.
#![allow(dead_code, reason = "each fuzz target uses one check of the three")]

use tombola_core::pool::{DrawState, Entry, Snapshot};

/// Any bytes given to the log line decoder: a typed error or an entry,
/// never a panic; and a line that decodes has exactly one spelling, so
/// encoding the entry gives the same bytes back.
pub fn log_line(data: &[u8]) {
    if let Ok(entry) = Entry::decode_bytes(data) {
        let line = entry.encode();
        assert_eq!(line.as_bytes(), data, "a decoded line re-encodes to itself");
        assert_eq!(Entry::decode(&line).as_ref(), Ok(&entry));
    }
}

/// Any bytes given to the snapshot decoder: a typed error or a snapshot,
/// never a panic; and a snapshot that decodes survives a round trip.
pub fn snapshot(data: &[u8]) {
    if let Ok(snapshot) = Snapshot::decode(data) {
        let again = Snapshot::decode(&snapshot.encode()).expect("an encoded snapshot decodes");
        assert_eq!(again, snapshot);
    }
}

/// Any text given as a saved DrawState: `DrawStateCorrupted` or a state
/// that validates, never a panic; and an accepted state round-trips.
pub fn draw_state(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(state) = DrawState::from_json(text) {
        assert_eq!(state.validate(), Ok(()), "an accepted state validates");
        assert_eq!(DrawState::from_json(&state.to_json()), Ok(state));
    }
}

/// What a target asserts about one input.
pub type Check = fn(&[u8]);

/// Every target, by the name of its folder under `regressions/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("log_line", log_line),
    ("snapshot", snapshot),
    ("draw_state", draw_state),
];
