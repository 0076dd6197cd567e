//! Any bytes given to the snapshot decoder: a typed error or a snapshot,
//! never a panic; and a snapshot that decodes survives a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tombola_core::Snapshot;

fuzz_target!(|data: &[u8]| {
    if let Ok(snapshot) = Snapshot::decode(data) {
        let again = Snapshot::decode(&snapshot.encode()).expect("an encoded snapshot decodes");
        assert_eq!(again, snapshot);
    }
});
