//! The sync with the lottery cloud: push the outbox in order, then pull
//! the games and bins changed since each cookie.
//!
//! The rules are the core's: which rows go next and when
//! ([`next_batch`]), the ids they go with ([`assign_ids`]), what an answer
//! does to each ([`settle_rows`], with backoff and jitter from
//! [`tombola_core::lottery::retry_delay`] and `Retry-After` honoured), and
//! how a pull lands on the store's copy ([`apply_pull`]: the cloud wins).
//! This module moves rows and HTTP. It runs on `POST
//! /api/v1/lottery/sync`, after each local write (once the write is
//! answered: [`AfterWrite`]), and from a timer outside Spin (see the
//! README).
//!
//! Settings: `cloud_url` (`http://host:port`, also the manifest's
//! `allowed_outbound_hosts`), `store_id` and the secret `cloud_api_key`; an
//! empty id or key leaves the sync off.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use spin_sdk::sqlite3::{RowResult, Value as Sql};
use tombola_core::lottery::{
    BinNumber, CloudBin, Cookie, Game, GameCode, MAX_PUSH_MUTATIONS, MutationId, OutboxPlan,
    OutboxRow, PullPage, PushAnswer, PushOutcome, PushReply, RowStatus, RowUpdate, apply_pull,
    assign_ids, next_batch, parse_retry_after, settle_rows,
};
use tombola_edge::error::ApiError;
use tombola_edge::host::{now_millis, seed};
use tombola_edge::settings;
use wasi::http::types::Method;

use crate::cloud::{Cloud, NoAnswer};
use crate::db::{self, Db, i, t};
use crate::store;

/// The most mutations one push carries.
pub const BATCH: usize = 200;

/// The most pushes (or pull pages) one sync makes, so one call stays short.
const ROUNDS: usize = 20;

/// The cloud, as the settings give it; `None` while the sync is off.
///
/// # Errors
///
/// 500 when `cloud_url` is not an `http://host:port` URL.
pub fn cloud(timeout: Duration) -> Result<Option<Cloud>, ApiError> {
    let url = settings::text("cloud_url", "http://127.0.0.1:3000");
    let store = settings::text("store_id", "");
    let Some(key) = settings::secret("cloud_api_key") else {
        return Ok(None);
    };
    if store.is_empty() {
        return Ok(None);
    }
    let (https, authority) = Cloud::parse_url(&url).ok_or_else(|| {
        ApiError::not_configured(format!("cloud_url {url:?} is not http(s)://host:port"))
    })?;
    Ok(Some(Cloud {
        https,
        authority,
        store,
        key,
        timeout,
    }))
}

/// One queued row as the sync reads it.
struct Queued {
    row: OutboxRow,
    held: Option<MutationId>,
    name: String,
    args: Value,
}

fn queued(db: &Db) -> Result<Vec<Queued>, ApiError> {
    db.rows(
        "SELECT q.id, q.attempts, q.next_attempt_at, q.name, q.args, s.mutation_id \
         FROM sync_queue q LEFT JOIN sync_ids s ON s.row = q.id \
         WHERE q.status = 'pending' ORDER BY q.id",
        &[],
    )?
    .iter()
    .map(|r| {
        let whole = |index, what| {
            u64::try_from(db::int(r, index, what)?)
                .map_err(|_| db::bad_row("sync_queue", format!("negative {what}")))
        };
        Ok(Queued {
            row: OutboxRow {
                id: whole(0, "id")?,
                attempts: u32::try_from(whole(1, "attempts")?).unwrap_or(u32::MAX),
                next_attempt_at: whole(2, "next_attempt_at")?,
                status: RowStatus::Pending,
            },
            name: db::text(r, 3, "name")?.to_owned(),
            args: db::json(r, 4, "args")?,
            held: db::opt_int(r, 5, "mutation_id")?.and_then(|id| u64::try_from(id).ok()),
        })
    })
    .collect()
}

fn client_id(db: &Db) -> Result<String, ApiError> {
    let rows = db.rows("SELECT client_id FROM store_identity WHERE id = 1", &[])?;
    let row = rows
        .first()
        .ok_or_else(|| db::bad_row("store_identity", "no row"))?;
    Ok(db::text(row, 0, "client_id")?.to_owned())
}

fn cookie(db: &Db, entity: &str) -> Result<u64, ApiError> {
    let rows = db.rows(
        "SELECT cookie FROM sync_state WHERE entity = ?",
        &[t(entity)],
    )?;
    let text = rows
        .first()
        .map(|row| db::opt_text(row, 0, "cookie"))
        .transpose()?
        .flatten();
    match text {
        None => Ok(0),
        Some(text) => text
            .parse::<Cookie>()
            .map(Cookie::revision)
            .map_err(|e| db::bad_row("sync_state cookie", e)),
    }
}

/// Records how a sync of `entity` went.
fn record(
    db: &Db,
    entity: &str,
    cookie: Option<u64>,
    outcome: Result<u64, &str>,
) -> Result<(), ApiError> {
    match outcome {
        Ok(records) => db.run(
            "UPDATE sync_state SET cookie = coalesce(?, cookie), last_synced_at = ?, \
             status = 'ok', records_synced = records_synced + ?, last_error = NULL \
             WHERE entity = ?",
            &[
                cookie.map_or(Sql::Null, |c| t(c.to_string())),
                db::now(),
                i(i64::try_from(records).unwrap_or(i64::MAX)),
                t(entity),
            ],
        )?,
        Err(error) => db.run(
            "UPDATE sync_state SET status = 'error', last_error = ? WHERE entity = ?",
            &[t(error), t(entity)],
        )?,
    };
    Ok(())
}

/// How one sync went, per entity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Mutations the cloud took (applied or already had).
    pub pushed: u64,
    /// Mutations dead-lettered in this sync.
    pub dead: u64,
    /// Games pulled.
    pub games: u64,
    /// Bins pulled.
    pub bins: u64,
    /// Why the sync stopped early, if it did (the cloud unreachable or
    /// refusing); the rest waits for the next sync.
    pub error: Option<String>,
}

/// Why a sync did nothing: another holds the lease.
pub const BUSY: &str = "another sync is running";

/// Pushes what is due, then pulls, with `cloud`, holding the sync lease
/// throughout (one sync at a time; see `migrations/0003_sync_lease.sql`).
/// With the lease held by another sync, does nothing and says so.
///
/// # Errors
///
/// The database's errors; the cloud's are in the report.
pub fn run(db: &Db, cloud: &Cloud) -> Result<Report, ApiError> {
    let lease = Lease::for_cloud(cloud);
    if !lease.renew(db)? {
        tracing::debug!(store = %cloud.store, "another sync holds the lease");
        return Ok(Report {
            error: Some(BUSY.to_owned()),
            ..Report::default()
        });
    }
    run_held(db, cloud, &lease)
}

/// Pushes and pulls under `lease`, already taken, and gives it up. A
/// write whose own sync found the lease held leaves its row to this one:
/// so once the lease is given up, a row that became due meanwhile makes
/// this sync take the lease again and go on (a few times at most). A write
/// committed after the lease was given up takes it itself.
fn run_held(db: &Db, cloud: &Cloud, lease: &Lease) -> Result<Report, ApiError> {
    let span = tracing::info_span!("sync", store = %cloud.store);
    let _entered = span.enter();
    let mut report = Report::default();
    for _ in 0..AGAIN {
        let result = sync_held(db, cloud, lease, &mut report);
        lease.release(db)?;
        result?;
        if report.error.is_some() || !due(db)? || !lease.renew(db)? {
            break;
        }
    }
    Ok(report)
}

/// How many times one sync goes on for rows that became due while it ran.
const AGAIN: usize = 3;

/// Whether a queued row is due to be pushed now.
fn due(db: &Db) -> Result<bool, ApiError> {
    let outbox: Vec<OutboxRow> = queued(db)?.into_iter().map(|q| q.row).collect();
    Ok(matches!(
        next_batch(&outbox, now_millis(), 1),
        OutboxPlan::Send(_)
    ))
}

fn sync_held(db: &Db, cloud: &Cloud, lease: &Lease, report: &mut Report) -> Result<(), ApiError> {
    if let Err(error) = push(db, cloud, lease, report)? {
        tracing::warn!(%error, "push stopped");
        report.error = Some(error);
        return Ok(());
    }
    for entity in ["games", "bins"] {
        if let Err(error) = pull(db, cloud, lease, entity, report)? {
            tracing::warn!(entity, %error, "pull stopped");
            record(db, entity, None, Err(&error))?;
            report.error = Some(error);
            break;
        }
    }
    Ok(())
}

/// The sync lease as one sync holds it.
struct Lease {
    holder: i64,
    hold_millis: i64,
}

impl Lease {
    /// A lease for a sync with `cloud`: each request to it waits at most
    /// its connect, first-byte and between-bytes timeouts, and the lease is
    /// renewed before each.
    fn for_cloud(cloud: &Cloud) -> Self {
        Self {
            holder: i64::try_from(seed() >> 1).unwrap_or(0),
            hold_millis: i64::try_from(cloud.timeout.as_millis().saturating_mul(4))
                .unwrap_or(i64::MAX / 2),
        }
    }

    /// Takes the lease, or renews it, until `hold_millis` from now: false
    /// when another sync holds it and its deadline has not passed.
    fn renew(&self, db: &Db) -> Result<bool, ApiError> {
        let now = i64::try_from(now_millis()).unwrap_or(i64::MAX / 2);
        db.write("take the sync lease", |db| {
            db.run(
                "INSERT INTO sync_lease (id, holder, until) VALUES (1, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, until = excluded.until \
                 WHERE sync_lease.holder = excluded.holder OR sync_lease.until <= ?",
                &[
                    i(self.holder),
                    i(now.saturating_add(self.hold_millis)),
                    i(now),
                ],
            )?;
            Ok(db.changes() == 1)
        })
    }

    /// Gives the lease up, if this sync still holds it.
    fn release(&self, db: &Db) -> Result<(), ApiError> {
        db.write("release the sync lease", |db| {
            db.run("DELETE FROM sync_lease WHERE holder = ?", &[i(self.holder)])
                .map(|_| ())
        })
    }
}

/// Why a sync stopped when its lease passed to another.
const LEASE_LOST: &str = "the sync lease passed to another sync";

fn push(
    db: &Db,
    cloud: &Cloud,
    lease: &Lease,
    report: &mut Report,
) -> Result<Result<(), String>, ApiError> {
    let client = client_id(db)?;
    for _ in 0..ROUNDS {
        if !lease.renew(db)? {
            return Ok(Err(LEASE_LOST.to_owned()));
        }
        let now = now_millis();
        let rows = queued(db)?;
        let outbox: Vec<OutboxRow> = rows.iter().map(|q| q.row.clone()).collect();
        let queue_ids = match next_batch(&outbox, now, BATCH.min(MAX_PUSH_MUTATIONS)) {
            OutboxPlan::Idle | OutboxPlan::Wait { .. } => return Ok(Ok(())),
            OutboxPlan::Send(ids) => ids,
        };
        let batch: Vec<&Queued> = queue_ids
            .iter()
            .filter_map(|id| rows.iter().find(|q| q.row.id == *id))
            .collect();
        let held: Vec<Option<MutationId>> = batch.iter().map(|q| q.held).collect();
        let ids = assign_ids(&held, cookie(db, "push")?);
        // The ids are written before the push goes, so a crash after it is
        // sent keeps them: a later send is then a duplicate, never a new
        // mutation under an id the cloud already used.
        db.write("assign mutation ids", |db| {
            for (queued, id) in batch.iter().zip(&ids) {
                db.run(
                    "INSERT OR REPLACE INTO sync_ids (row, mutation_id) VALUES (?, ?)",
                    &[whole(queued.row.id), whole(*id)],
                )?;
            }
            Ok(())
        })?;
        let mutations: Vec<Value> = batch
            .iter()
            .zip(&ids)
            .map(|(q, id)| json!({"id": id, "name": q.name, "args": q.args}))
            .collect();
        let body = serde_json::to_vec(&json!({"client_id": client, "mutations": mutations}))
            .expect("a push serializes");
        let path = format!("/v1/lottery/stores/{}/push", cloud.store);
        let outcome = match cloud.request(&Method::Post, &path, &body) {
            Ok(answer) => match serde_json::from_slice::<PushReply>(&answer.body) {
                Ok(reply) if answer.status == 200 => PushOutcome::Reply(reply),
                _ => PushOutcome::Failed {
                    answer: PushAnswer::Status(answer.status),
                    retry_after: answer
                        .retry_after
                        .as_deref()
                        .and_then(|value| parse_retry_after(value, now)),
                },
            },
            Err(NoAnswer(error)) => {
                tracing::debug!(%error, "no answer to the push");
                PushOutcome::Failed {
                    answer: PushAnswer::NetworkError,
                    retry_after: None,
                }
            }
        };
        let sent: Vec<OutboxRow> = batch
            .iter()
            .zip(&ids)
            .map(|(q, id)| OutboxRow {
                id: *id,
                ..q.row.clone()
            })
            .collect();
        let updates = settle_rows(&sent, &outcome, now, seed());
        let failure = match &outcome {
            PushOutcome::Reply(_) => None,
            PushOutcome::Failed {
                answer: PushAnswer::Status(status),
                ..
            } => Some(format!("the cloud answered {status}")),
            PushOutcome::Failed { .. } => Some("the cloud did not answer".to_owned()),
        };
        db.write("settle pushed rows", |db| {
            for (queued, update) in batch.iter().zip(&updates) {
                settle(db, queued.row.id, update, failure.as_deref(), report)?;
            }
            match &outcome {
                PushOutcome::Reply(reply) => {
                    let took = updates
                        .iter()
                        .filter(|u| **u == RowUpdate::Done)
                        .count() as u64;
                    record(db, "push", Some(reply.last_mutation_id), Ok(took))?;
                    for conflict in &reply.conflicts {
                        tracing::info!(id = conflict.id, detail = %conflict.detail, "the cloud won a conflict");
                    }
                }
                PushOutcome::Failed { .. } => {
                    record(db, "push", None, Err(failure.as_deref().unwrap_or("")))?;
                }
            }
            Ok(())
        })?;
        tracing::info!(
            rows = batch.len(),
            first = ids.first(),
            last = ids.last(),
            ok = failure.is_none(),
            "pushed"
        );
        if let Some(failure) = failure {
            return Ok(Err(failure));
        }
    }
    Ok(Ok(()))
}

fn whole(value: u64) -> Sql {
    i(i64::try_from(value).unwrap_or(i64::MAX))
}

fn settle(
    db: &Db,
    row: u64,
    update: &RowUpdate,
    failure: Option<&str>,
    report: &mut Report,
) -> Result<(), ApiError> {
    let release = || db.run("DELETE FROM sync_ids WHERE row = ?", &[whole(row)]);
    match update {
        RowUpdate::Done => {
            db.run("DELETE FROM sync_queue WHERE id = ?", &[whole(row)])?;
            release()?;
            report.pushed += 1;
        }
        RowUpdate::Renumber => {
            release()?;
            db.run(
                "UPDATE sync_queue SET next_attempt_at = 0 WHERE id = ?",
                &[whole(row)],
            )?;
        }
        RowUpdate::Retry {
            attempts,
            next_attempt_at,
        } => {
            db.run(
                "UPDATE sync_queue SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                &[
                    i(*attempts),
                    whole(*next_attempt_at),
                    failure.map_or(Sql::Null, t),
                    whole(row),
                ],
            )?;
        }
        RowUpdate::Dead { reason } => {
            db.run(
                "UPDATE sync_queue SET status = 'dead', last_error = ? WHERE id = ?",
                &[t(reason.as_str()), whole(row)],
            )?;
            release()?;
            tracing::warn!(row, %reason, "mutation dead-lettered");
            report.dead += 1;
        }
    }
    Ok(())
}

fn pull(
    db: &Db,
    cloud: &Cloud,
    lease: &Lease,
    entity: &str,
    report: &mut Report,
) -> Result<Result<(), String>, ApiError> {
    for _ in 0..ROUNDS {
        if !lease.renew(db)? {
            return Ok(Err(LEASE_LOST.to_owned()));
        }
        let since = cookie(db, entity)?;
        let path = format!(
            "/v1/lottery/stores/{}/pull?entity={entity}&cookie={since}",
            cloud.store
        );
        let answer = match cloud.request(&Method::Get, &path, b"") {
            Ok(answer) if answer.status == 200 => answer,
            Ok(answer) => {
                return Ok(Err(format!(
                    "the cloud answered {} to a pull",
                    answer.status
                )));
            }
            Err(NoAnswer(error)) => return Ok(Err(error)),
        };
        let more = if entity == "games" {
            let page: PullPage<Game> = page(&answer.body)?;
            apply_games(db, &page)?;
            report.games += page.changes.len() as u64;
            page.more
        } else {
            let page: PullPage<CloudBin> = page(&answer.body)?;
            apply_bins(db, &page)?;
            report.bins += page.changes.len() as u64;
            page.more
        };
        if !more {
            return Ok(Ok(()));
        }
    }
    Ok(Ok(()))
}

fn page<T: DeserializeOwned>(body: &[u8]) -> Result<PullPage<T>, ApiError> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(502, "bad-cloud-answer", "Bad gateway", e.to_string()))?;
    if let Some(object) = value.as_object_mut() {
        object.remove("entity");
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::new(502, "bad-cloud-answer", "Bad gateway", e.to_string()))
}

/// Lays a page of games over the store's, the cloud winning, with the new
/// cookie, in one transaction.
fn apply_games(db: &Db, page: &PullPage<Game>) -> Result<(), ApiError> {
    db.write("pull games", |db| {
        let mut local: BTreeMap<GameCode, Game> = store::games(db)?
            .into_iter()
            .map(|game| (game.code(), game))
            .collect();
        let before: Vec<GameCode> = local.keys().copied().collect();
        apply_pull(&mut local, page, Game::code);
        for code in before.iter().filter(|code| !local.contains_key(code)) {
            db.run("DELETE FROM games WHERE code = ?", &[t(code.to_string())])?;
        }
        for change in &page.changes {
            store::put_game(db, &change.record)?;
        }
        record(
            db,
            "games",
            Some(page.cookie.revision()),
            Ok(page.changes.len() as u64),
        )
    })
}

/// Lays a page of bins over the store's, the cloud winning (a removed bin
/// goes), with the new cookie, in one transaction.
fn apply_bins(db: &Db, page: &PullPage<CloudBin>) -> Result<(), ApiError> {
    db.write("pull bins", |db| {
        let mut local: BTreeMap<BinNumber, CloudBin> = store::bins(db)?
            .into_iter()
            .map(|number| {
                (
                    number,
                    CloudBin {
                        number,
                        removed: false,
                    },
                )
            })
            .collect();
        let before: Vec<BinNumber> = local.keys().copied().collect();
        apply_pull(&mut local, page, |bin| bin.number);
        for (number, bin) in &local {
            if bin.removed {
                db.run("DELETE FROM bins WHERE number = ?", &[i(number.get())])?;
            } else if !before.contains(number) {
                store::insert_bins(db, &[*number])?;
            }
        }
        for number in before.iter().filter(|n| !local.contains_key(n)) {
            db.run("DELETE FROM bins WHERE number = ?", &[i(number.get())])?;
        }
        record(
            db,
            "bins",
            Some(page.cookie.revision()),
            Ok(page.changes.len() as u64),
        )
    })
}

/// The sync's state: per entity its cookie, last sync, status and records
/// synced, the queue's pending and dead rows, and whether a sync holds the
/// lease now.
pub fn status(db: &Db) -> Result<Value, ApiError> {
    let entities: Vec<Value> = db
        .rows(
            "SELECT entity, cookie, last_synced_at, status, records_synced, last_error \
             FROM sync_state ORDER BY entity",
            &[],
        )?
        .iter()
        .map(|r: &RowResult| {
            Ok(json!({
                "entity": db::text(r, 0, "entity")?,
                "cookie": db::opt_text(r, 1, "cookie")?,
                "last_synced_at": db::opt_int(r, 2, "last_synced_at")?,
                "status": db::text(r, 3, "status")?,
                "records_synced": db::int(r, 4, "records_synced")?,
                "last_error": db::opt_text(r, 5, "last_error")?,
            }))
        })
        .collect::<Result<_, ApiError>>()?;
    let dead: Vec<Value> = db
        .rows(
            "SELECT id, name, last_error FROM sync_queue WHERE status = 'dead' ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(json!({
                "row": db::int(r, 0, "id")?,
                "name": db::text(r, 1, "name")?,
                "reason": db::opt_text(r, 2, "last_error")?,
            }))
        })
        .collect::<Result<_, ApiError>>()?;
    let pending = db.rows(
        "SELECT count(*) FROM sync_queue WHERE status = 'pending'",
        &[],
    )?;
    let pending = pending
        .first()
        .map(|r| db::int(r, 0, "count"))
        .transpose()?
        .unwrap_or(0);
    let now = i64::try_from(now_millis()).unwrap_or(i64::MAX / 2);
    let syncing = !db
        .rows("SELECT 1 FROM sync_lease WHERE until > ?", &[i(now)])?
        .is_empty();
    Ok(json!({"entities": entities, "pending": pending, "dead": dead, "syncing": syncing}))
}

/// `POST /api/v1/lottery/sync`: a sync now, with the `sync_timeout_ms`
/// timeout per request (default 5000); 409 `sync-off` when the store has
/// no cloud id or key. The report says what moved and why it stopped, if
/// it did; the status after it is [`status`]'s.
pub fn post(db: &Db) -> Result<spin_sdk::http::Response, ApiError> {
    let timeout = Duration::from_millis(settings::number("sync_timeout_ms", 5000));
    let cloud = cloud(timeout)?.ok_or_else(|| {
        ApiError::conflict(
            "sync-off",
            "the sync is off: set the store_id and cloud_api_key variables",
        )
    })?;
    let report = run(db, &cloud)?;
    Ok(tombola_edge::answer::json(
        200,
        &json!({"report": report, "status": status(db)?}),
    ))
}

/// `GET /api/v1/lottery/sync`: the sync's state.
pub fn get(db: &Db) -> Result<spin_sdk::http::Response, ApiError> {
    Ok(tombola_edge::answer::json(200, &status(db)?))
}

/// The sync owed after a local write, claimed before the write is
/// answered (so the status says `syncing` from the answer on) and run
/// after it, so a clerk never waits on the network. Best effort: the write
/// is committed whatever happens here, and each request to the cloud waits
/// at most `sync_after_write_ms` (default 1000).
pub struct AfterWrite {
    db: Db,
    cloud: Cloud,
    lease: Lease,
}

impl AfterWrite {
    /// Takes the sync lease for the sync after a write; `None` when the sync
    /// is off, another sync runs (it or the next one takes the write), or
    /// the lease could not be taken (logged).
    pub fn claim() -> Option<Self> {
        let timeout = Duration::from_millis(settings::number("sync_after_write_ms", 1000));
        let claimed = cloud(timeout).and_then(|cloud| {
            let Some(cloud) = cloud else {
                return Ok(None);
            };
            let db = Db::open()?;
            let lease = Lease::for_cloud(&cloud);
            if !lease.renew(&db)? {
                tracing::debug!(store = %cloud.store, "another sync holds the lease");
                return Ok(None);
            }
            Ok(Some(Self { db, cloud, lease }))
        });
        claimed.unwrap_or_else(|error| {
            tracing::warn!(detail = %error.detail, "the sync after a write could not start");
            None
        })
    }

    /// Pushes and pulls, then gives the lease up.
    pub fn run(self) {
        match run_held(&self.db, &self.cloud, &self.lease) {
            Ok(report) => tracing::debug!(?report, "synced after a write"),
            Err(error) => tracing::warn!(detail = %error.detail, "sync after a write failed"),
        }
    }
}
