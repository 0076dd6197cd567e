//! Any text given as a saved DrawState: `DrawStateCorrupted` or a state
//! that validates, never a panic; and an accepted state round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tombola_core::DrawState;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(state) = DrawState::from_json(text) {
        assert_eq!(state.validate(), Ok(()), "an accepted state validates");
        assert_eq!(DrawState::from_json(&state.to_json()), Ok(state));
    }
});
