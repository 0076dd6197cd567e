//! Any bytes given to the log line decoder: a typed error or an entry, never
//! a panic; and a line that decodes has exactly one spelling, so encoding
//! the entry gives the same bytes back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tombola_core::Entry;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = Entry::decode_bytes(data) {
        let line = entry.encode();
        assert_eq!(line.as_bytes(), data, "a decoded line re-encodes to itself");
        assert_eq!(Entry::decode(&line).as_ref(), Ok(&entry));
    }
});
