//! A component's settings: Spin variables, read where they are used, with
//! their defaults stated there.
//!
//! Spin resolves a variable per call and a component lives for one
//! request, so reading a setting when it is needed costs one host call and
//! keeps its default next to its use. A value that does not parse is
//! logged and the default used: a typo in a deployment must not take every
//! route down.

/// A whole-number variable, or `default` when it is unset or not a number.
pub fn number(name: &str, default: u64) -> u64 {
    match spin_sdk::variables::get(name) {
        Ok(text) => text.trim().parse().unwrap_or_else(|_| {
            tracing::warn!(variable = name, value = %text, default, "not a number; using the default");
            default
        }),
        Err(_) => default,
    }
}

/// A text variable, or `default` when it is unset.
pub fn text(name: &str, default: &str) -> String {
    spin_sdk::variables::get(name).unwrap_or_else(|_| default.to_owned())
}

/// A secret variable; `None` when it is unset or empty (an empty secret
/// would let anyone in).
pub fn secret(name: &str) -> Option<String> {
    spin_sdk::variables::get(name)
        .ok()
        .filter(|value| !value.is_empty())
}
