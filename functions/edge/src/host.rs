//! What a component asks of its host besides storage and settings: the
//! clock, randomness, and a place for its logs.

use spin_sdk::http::Method;

/// Milliseconds since the Unix epoch, from the host's clock.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A 64-bit seed from the host's CSPRNG.
pub fn seed() -> u64 {
    wasi::random::random::get_random_u64()
}

/// An HTTP method's name, upper case.
pub fn method_name(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Patch => "PATCH".into(),
        Method::Head => "HEAD".into(),
        Method::Options => "OPTIONS".into(),
        Method::Connect => "CONNECT".into(),
        Method::Trace => "TRACE".into(),
        Method::Other(other) => other.to_ascii_uppercase(),
    }
}

/// Sends `tracing` events to stderr, which Spin keeps as the component's
/// log, at the level the `log_level` variable names (default `info`).
/// Runs once per instance.
pub fn init_tracing() {
    use std::sync::Once;
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let filter = spin_sdk::variables::get("log_level").unwrap_or_else(|_| "info".into());
        let level = filter.parse().unwrap_or(tracing::Level::INFO);
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .without_time()
            .init();
    });
}
