//! `GET /v1/metrics`: every listed pool in the Prometheus text format.
//!
//! Per pool: the live log's length, the newest sequence number, the
//! entries since the snapshot replay starts from, the remaining stock of
//! its limited items, and its request records (retries are answered from
//! them until they expire). The state is computed as `GET
//! /v1/pools/{pool}` computes it: the snapshot and the tail, replayed by
//! tombola-core. Request records are counted by following a SCAN cursor,
//! one short script call per step; a scrape costs a few calls per pool,
//! and the draw path none.

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::redis::Connection;
use tombola_core::pool::{PoolId, PoolState, RequestId, Stock, keys};
use tombola_edge::error::ApiError;
use tombola_edge::metrics::{Exposition, Kind};
use tombola_edge::redis::StoreError;
use tombola_edge::{settings, token};

use crate::commit::{self, state_of};
use crate::scripts::{PRELUDE, Script};
use crate::{catalog, store};

/// `scripts/metrics.lua`.
const METRICS: Script =
    Script::reading("metrics.lua", PRELUDE, include_str!("scripts/metrics.lua"));

/// How many keys one SCAN step looks at.
const SCAN_COUNT: &str = "1000";

/// What the page reports of one pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolMetrics {
    /// The pool.
    pub pool: String,
    /// Entries in the live log (archived segments not counted).
    pub log_len: u64,
    /// The newest entry's sequence number.
    pub seq: u64,
    /// Entries after the snapshot replay starts from.
    pub since_snapshot: u64,
    /// Units left of its limited items.
    pub remaining: u64,
    /// Request records kept.
    pub request_records: u64,
}

/// A per-pool gauge: its name, its help, and its value of a pool.
type Gauge = (&'static str, &'static str, fn(&PoolMetrics) -> u64);

/// Units left of `state`'s limited items.
pub fn remaining(state: &PoolState) -> u64 {
    state
        .stocks()
        .filter_map(|(_, stock)| match stock {
            Stock::Limited(left) => Some(left),
            Stock::Unlimited => None,
        })
        .sum()
}

/// The page for `pools`.
pub fn render(pools: &[PoolMetrics]) -> Exposition {
    let mut page = Exposition::default();
    page.family("tombola_pools", Kind::Gauge, "Pools listed.")
        .sample(&[], pools.len() as f64);
    let families: [Gauge; 5] = [
        (
            "tombola_pool_log_entries",
            "Entries in the pool's live log (archived segments not counted).",
            |p| p.log_len,
        ),
        (
            "tombola_pool_seq",
            "The sequence number of the pool's newest entry.",
            |p| p.seq,
        ),
        (
            "tombola_pool_entries_since_snapshot",
            "Entries a read replays after the pool's newest usable snapshot.",
            |p| p.since_snapshot,
        ),
        (
            "tombola_pool_remaining_stock",
            "Units left of the pool's limited items.",
            |p| p.remaining,
        ),
        (
            "tombola_pool_request_records",
            "Request records kept for the pool's retries.",
            |p| p.request_records,
        ),
    ];
    for (name, help, value) in families {
        let mut family = page.family(name, Kind::Gauge, help);
        for pool in pools {
            family.sample(&[("pool", &pool.pool)], value(pool) as f64);
        }
    }
    page
}

/// The reader token (`reader_token`, when set) or the admin token.
///
/// 401 without a bearer token, 403 with another one, 500 when
/// `admin_token` is not set.
pub fn require_reader(request: &IncomingRequest) -> Result<(), ApiError> {
    let header = token::authorization(request);
    if let (Some(given), Some(reader)) = (
        token::bearer(header.as_deref()),
        settings::secret("reader_token"),
    ) && token::matches(given, &reader)
    {
        return Ok(());
    }
    token::check(
        header.as_deref(),
        settings::secret("admin_token").as_deref(),
        "admin_token",
        "reader or admin",
    )
}

/// The pool's log length and its request records.
fn counted(conn: &Connection, pool: &PoolId) -> Result<(u64, u64), StoreError> {
    // The records' pattern from the core's own key layout: a record's key
    // with the id left open. Pool ids hold no glob characters.
    let probe = RequestId::new("x").expect("a plain id");
    let record = keys::request(pool, &probe);
    let pattern = format!("{}*", record.strip_suffix('x').unwrap_or(&record));
    let log = keys::log(pool);
    let (mut cursor, mut records) = ("0".to_owned(), 0);
    loop {
        let mut reply = METRICS.call(
            conn,
            &[&log],
            &[cursor.as_bytes(), pattern.as_bytes(), SCAN_COUNT.as_bytes()],
        )?;
        match reply.text()?.as_str() {
            "OK" => {}
            other => return Err(reply.unexpected(other)),
        }
        let log_len = reply.uint()?;
        cursor = reply.text()?;
        records += reply.uint()?;
        if cursor == "0" {
            return Ok((log_len, records));
        }
    }
}

/// Serves the metrics, to a caller [`require_reader`] let in.
pub fn get() -> Result<Response, ApiError> {
    let conn = store::connect()?;
    let mut pools = Vec::new();
    for listing in catalog::list(&conn)? {
        let pool = PoolId::new(&listing.id)
            .map_err(|e| StoreError::Data(format!("the catalog lists {:?}: {e}", listing.id)))?;
        let computed = commit::load(&conn, &pool)?;
        let state = state_of(&computed, &pool)?;
        let (log_len, request_records) = counted(&conn, &pool)?;
        pools.push(PoolMetrics {
            pool: listing.id.clone(),
            log_len,
            seq: computed.seq(),
            since_snapshot: computed.seq().saturating_sub(computed.start.seq()),
            remaining: remaining(state),
            request_records,
        });
    }
    Ok(render(&pools).response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pool_is_a_sample_of_each_family() {
        let pool = |name: &str, seq| PoolMetrics {
            pool: name.into(),
            log_len: seq,
            seq,
            since_snapshot: 2,
            remaining: 40,
            request_records: 5,
        };
        let text = render(&[pool("spring", 9), pool("autumn", 3)]).finish();
        for line in [
            "tombola_pools 2",
            "tombola_pool_log_entries{pool=\"spring\"} 9",
            "tombola_pool_log_entries{pool=\"autumn\"} 3",
            "tombola_pool_seq{pool=\"autumn\"} 3",
            "tombola_pool_entries_since_snapshot{pool=\"spring\"} 2",
            "tombola_pool_remaining_stock{pool=\"spring\"} 40",
            "tombola_pool_request_records{pool=\"autumn\"} 5",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert_eq!(
            text.matches("# TYPE tombola_pool_seq gauge").count(),
            1,
            "one family, every pool in it"
        );
        let empty = render(&[]).finish();
        assert!(empty.contains("tombola_pools 0\n"), "{empty}");
    }
}
