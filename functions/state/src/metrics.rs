//! `GET /api/v1/state/metrics`: the state in the Prometheus text format.
//!
//! One reading script gathers everything ([`Store::metrics`]); the
//! counters are kept by the scripts that already run (`count` in
//! `scripts/prelude.lua`), so the hot path makes no extra round trip.

use spin_sdk::http::Response;
use tombola_edge::error::ApiError;
use tombola_edge::metrics::{Exposition, Kind};

use crate::store::{Measured, Store};

/// The counted families: name, help, label, and the label's values, each
/// counted by the scripts as `<prefix>:<value>`.
const COUNTED: [(&str, &str, &str, &str, &[&str]); 4] = [
    (
        "tombola_state_changes_total",
        "Changes recorded in the feed, by type.",
        "type",
        "change",
        &["put", "delete", "expire"],
    ),
    (
        "tombola_state_transactions_total",
        "Transactions run, by the branch their compares chose.",
        "branch",
        "txn",
        &["success", "failure"],
    ),
    (
        "tombola_state_snapshots_taken_total",
        "Snapshots taken, by what took them.",
        "trigger",
        "snapshot",
        &["request", "timed"],
    ),
    (
        "tombola_state_write_races_total",
        "Conditional writes that found their key moved and were decided again.",
        "route",
        "moved",
        &["cas", "txn"],
    ),
];

/// The page for what was measured.
pub fn render(measured: &Measured) -> Exposition {
    let mut page = Exposition::default();
    let stats = &measured.stats;
    let gauges = [
        ("tombola_state_keys", "Live keys.", stats.keys),
        (
            "tombola_state_bytes",
            "Bytes of the live keys' values (compact JSON).",
            stats.bytes,
        ),
        (
            "tombola_state_metadata_keys",
            "Live keys that carry metadata.",
            stats.metadata_keys,
        ),
        (
            "tombola_state_revision",
            "The global revision.",
            stats.revision,
        ),
        (
            "tombola_state_feed_revisions",
            "Revisions the change feed holds.",
            measured.feed_len,
        ),
        (
            "tombola_state_feed_compacted_revision",
            "The last revision dropped from the feed; following from before it answers 410.",
            measured.compacted,
        ),
        (
            "tombola_state_snapshots",
            "Snapshots kept.",
            measured.snapshots,
        ),
    ];
    for (name, help, value) in gauges {
        page.family(name, Kind::Gauge, help)
            .sample(&[], value as f64);
    }
    if measured.feed_len > 0 {
        page.family(
            "tombola_state_feed_oldest_revision",
            Kind::Gauge,
            "The oldest revision the feed holds.",
        )
        .sample(&[], (measured.compacted + 1) as f64);
    }
    if let Some(newest) = &measured.newest_snapshot {
        page.family(
            "tombola_state_snapshot_age_seconds",
            Kind::Gauge,
            "How long ago the newest snapshot was taken.",
        )
        .sample(
            &[],
            measured.now.saturating_sub(newest.created_at) as f64 / 1000.0,
        );
    }
    let counted = |name: &str| {
        measured
            .counters
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, count)| *count)
    };
    for (name, help, label, prefix, values) in COUNTED {
        let mut family = page.family(name, Kind::Counter, help);
        for value in values {
            let count = counted(&format!("{prefix}:{value}"));
            family.sample(&[(label, value)], count as f64);
        }
    }
    page.family(
        "tombola_state_idempotent_replays_total",
        Kind::Counter,
        "Writes answered again from their Idempotency-Key's record.",
    )
    .sample(&[], counted("replayed") as f64);
    page
}

/// Serves the metrics.
pub fn metrics(store: &Store) -> Result<Response, ApiError> {
    Ok(render(&store.metrics()?).response())
}

#[cfg(test)]
mod tests {
    use tombola_core::state::SnapshotInfo;

    use super::*;
    use crate::store::Stats;

    fn measured(feed_len: u64, newest: Option<u64>) -> Measured {
        Measured {
            stats: Stats {
                revision: 12,
                keys: 3,
                bytes: 40,
                metadata_keys: 1,
            },
            feed_len,
            compacted: 2,
            snapshots: u64::from(newest.is_some()),
            newest_snapshot: newest.map(|created_at| SnapshotInfo {
                revision: 0,
                created_at,
                keys: 3,
            }),
            now: 10_000,
            counters: vec![
                ("change:put".into(), 11),
                ("change:expire".into(), 1),
                ("txn:failure".into(), 2),
                ("replayed".into(), 4),
            ],
        }
    }

    fn sample<'t>(text: &'t str, series: &str) -> Option<&'t str> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
    }

    #[test]
    fn every_family_is_reported_with_its_counts() {
        let text = render(&measured(10, Some(7_500))).finish();
        for (series, value) in [
            ("tombola_state_keys", "3"),
            ("tombola_state_bytes", "40"),
            ("tombola_state_metadata_keys", "1"),
            ("tombola_state_revision", "12"),
            ("tombola_state_feed_revisions", "10"),
            ("tombola_state_feed_compacted_revision", "2"),
            ("tombola_state_feed_oldest_revision", "3"),
            ("tombola_state_snapshots", "1"),
            ("tombola_state_snapshot_age_seconds", "2.5"),
            ("tombola_state_changes_total{type=\"put\"}", "11"),
            ("tombola_state_changes_total{type=\"delete\"}", "0"),
            ("tombola_state_changes_total{type=\"expire\"}", "1"),
            ("tombola_state_transactions_total{branch=\"success\"}", "0"),
            ("tombola_state_transactions_total{branch=\"failure\"}", "2"),
            (
                "tombola_state_snapshots_taken_total{trigger=\"timed\"}",
                "0",
            ),
            ("tombola_state_write_races_total{route=\"txn\"}", "0"),
            ("tombola_state_idempotent_replays_total", "4"),
        ] {
            assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
        }
        assert!(text.contains("# TYPE tombola_state_changes_total counter\n"));
        assert!(text.contains("# TYPE tombola_state_keys gauge\n"));
    }

    #[test]
    fn an_empty_feed_and_no_snapshot_have_no_oldest_revision_nor_age() {
        let text = render(&measured(0, None)).finish();
        assert_eq!(sample(&text, "tombola_state_feed_oldest_revision"), None);
        assert_eq!(sample(&text, "tombola_state_snapshot_age_seconds"), None);
        assert_eq!(sample(&text, "tombola_state_snapshots"), Some("0"));
    }
}
