//! Fuzzes what `checks::draw_state` asserts.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::draw_state(data));
