//! Metrics in the Prometheus text exposition format (version 0.0.4), as
//! `GET /api/v1/state/metrics` and `GET /v1/metrics` serve them.
//!
//! A family is written whole: `# HELP`, `# TYPE`, then its samples, one
//! line each. Names are checked against the format's grammar when the
//! family is added (a bad name is a bug here, never a client's fault), and
//! label values and help text are escaped as the format says.
//!
//! ```
//! use tombola_edge::metrics::{Exposition, Kind};
//!
//! let mut text = Exposition::default();
//! text.family("tombola_state_keys", Kind::Gauge, "Live keys.")
//!     .sample(&[], 3.0);
//! text.family("tombola_pool_stock", Kind::Gauge, "Remaining stock.")
//!     .sample(&[("pool", "spring \"26\"")], 12.0);
//! let lines = [
//!     "# HELP tombola_state_keys Live keys.",
//!     "# TYPE tombola_state_keys gauge",
//!     "tombola_state_keys 3",
//!     "# HELP tombola_pool_stock Remaining stock.",
//!     "# TYPE tombola_pool_stock gauge",
//!     r#"tombola_pool_stock{pool="spring \"26\""} 12"#,
//! ];
//! assert_eq!(text.finish(), lines.map(|l| format!("{l}\n")).concat());
//! ```

use std::fmt::Write as _;

use spin_sdk::http::Response;

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a family measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A count that only goes up (its name ends in `_total`).
    Counter,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// A page of metrics being written.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
}

/// One family's samples, written as they are added.
pub struct Family<'a> {
    text: &'a mut String,
    name: &'a str,
}

/// Whether `name` is a metric or label name: `[a-zA-Z_][a-zA-Z0-9_]*`,
/// and, for a metric, also `:`.
fn valid_name(name: &str, colons: bool) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':');
    name.chars().next().is_some_and(|c| !c.is_ascii_digit()) && name.chars().all(allowed)
}

fn escape(text: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quotes => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

/// A sample's value as the format spells it: `NaN`, `+Inf`, `-Inf`, or
/// the shortest decimal that reads back as the same number.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        value.to_string()
    }
}

impl Exposition {
    /// Starts a family: its help line and its type.
    ///
    /// # Panics
    ///
    /// When `name` is not a metric name, or a counter's does not end in
    /// `_total`: the names are the code's own.
    pub fn family<'a>(&'a mut self, name: &'a str, kind: Kind, help: &str) -> Family<'a> {
        assert!(valid_name(name, true), "{name:?} is not a metric name");
        assert!(
            kind != Kind::Counter || name.ends_with("_total"),
            "counter {name:?} does not end in _total"
        );
        let help = escape(help, false);
        let _ = writeln!(
            self.text,
            "# HELP {name} {help}\n# TYPE {name} {}",
            kind.name()
        );
        Family {
            text: &mut self.text,
            name,
        }
    }

    /// The page.
    pub fn finish(self) -> String {
        self.text
    }

    /// The page as a 200 answer.
    pub fn response(self) -> Response {
        crate::answer::bytes(200, CONTENT_TYPE, &[], self.finish().into_bytes())
    }
}

impl Family<'_> {
    /// Adds a sample with `labels` (name, value).
    ///
    /// # Panics
    ///
    /// When a label name is not one (the names are the code's own).
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.text.push_str(self.name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (name, value)) in labels.iter().enumerate() {
                assert!(valid_name(name, false), "{name:?} is not a label name");
                let sep = if i == 0 { "" } else { "," };
                let _ = write!(self.text, "{sep}{name}=\"{}\"", escape(value, true));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", number(value));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_written_whole_with_escaped_labels_and_help() {
        let mut page = Exposition::default();
        page.family(
            "tombola_writes_total",
            Kind::Counter,
            "Writes, by kind.\nA back\\slash.",
        )
        .sample(&[("kind", "put")], 7.0)
        .sample(&[("kind", "a\\b\n\"c\""), ("pool", "p")], 0.0);
        page.family("tombola:age_seconds", Kind::Gauge, "Age.")
            .sample(&[], 1.5)
            .sample(&[("x", "")], f64::NAN)
            .sample(&[("x", "up")], f64::INFINITY)
            .sample(&[("x", "down")], f64::NEG_INFINITY)
            .sample(&[("x", "big")], 9_007_199_254_740_992.0);
        assert_eq!(
            page.finish(),
            "# HELP tombola_writes_total Writes, by kind.\\nA back\\\\slash.\n\
             # TYPE tombola_writes_total counter\n\
             tombola_writes_total{kind=\"put\"} 7\n\
             tombola_writes_total{kind=\"a\\\\b\\n\\\"c\\\"\",pool=\"p\"} 0\n\
             # HELP tombola:age_seconds Age.\n\
             # TYPE tombola:age_seconds gauge\n\
             tombola:age_seconds 1.5\n\
             tombola:age_seconds{x=\"\"} NaN\n\
             tombola:age_seconds{x=\"up\"} +Inf\n\
             tombola:age_seconds{x=\"down\"} -Inf\n\
             tombola:age_seconds{x=\"big\"} 9007199254740992\n"
        );
        assert_eq!(Exposition::default().finish(), "");
    }

    #[test]
    fn names_follow_the_grammar() {
        for good in ["a", "_a1", "tombola_state_keys", "a:b"] {
            assert!(valid_name(good, true), "{good}");
        }
        for bad in ["", "1a", "a-b", "a b", "é"] {
            assert!(!valid_name(bad, true), "{bad}");
        }
        assert!(!valid_name("a:b", false));
    }

    #[test]
    #[should_panic(expected = "does not end in _total")]
    fn a_counter_ends_in_total() {
        Exposition::default().family("tombola_writes", Kind::Counter, "Writes.");
    }

    #[test]
    #[should_panic(expected = "is not a label name")]
    fn label_names_are_checked() {
        Exposition::default()
            .family("tombola_x", Kind::Gauge, "X.")
            .sample(&[("bad-label", "v")], 1.0);
    }
}
