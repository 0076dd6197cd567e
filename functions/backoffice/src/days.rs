//! `/api/v1/lottery/days`: the business day and its two-phase close.
//!
//! Open, then prepare (every active pack's closing count: sales per bin,
//! totals and variances, stored in the day's row, so a prepared close
//! survives a restart), then commit (the close is final, the next day
//! opens from it, and the close goes into the outbox) or cancel (open
//! again, as before).

use serde::Deserialize;
use spin_sdk::http::Response;
use tombola_core::lottery::{BusinessDate, Count, Day, DayStatus, Mutation, Pack, PackKey};
use tombola_edge::answer;
use tombola_edge::error::ApiError;
use tombola_edge::route;

use crate::db::Db;
use crate::store::{self, StoredDay};
use crate::{errors, request};

fn no_day(date: BusinessDate) -> ApiError {
    errors::not_found(
        "no-such-day",
        "No such day",
        "date",
        format!("the store has no day {date}"),
    )
}

fn stored(db: &Db, date: BusinessDate) -> Result<StoredDay, ApiError> {
    store::day(db, date)?.ok_or_else(|| no_day(date))
}

/// `GET /days?limit=`: the latest days, newest first.
pub fn list(db: &Db, query: &str) -> Result<Response, ApiError> {
    let limit = route::query_number(query, "limit", 30, 1..=1000)?;
    let days = db.read("list days", |db| store::days(db, limit))?;
    Ok(answer::json(200, &serde_json::json!({ "days": days })))
}

/// `GET /days/current`: the day that is open or pending close.
pub fn current(db: &Db) -> Result<Response, ApiError> {
    let day = db.read("current day", store::current_day)?.ok_or_else(|| {
        errors::not_found(
            "no-open-day",
            "No open day",
            "day",
            "no business day is open or pending close".into(),
        )
    })?;
    Ok(answer::json(200, &day))
}

/// `GET /days/{date}`: the day's report: openings, and its close once
/// prepared.
pub fn show(db: &Db, date: BusinessDate) -> Result<Response, ApiError> {
    let day = db.read("show day", |db| stored(db, date))?;
    Ok(answer::json(200, &day))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Open {
    date: BusinessDate,
}

/// `POST /days`: opens the day `date`, carrying the last close's serials.
pub fn open(db: &Db, body: &[u8]) -> Result<Response, ApiError> {
    let body: Open = request::json(body)?;
    let day = db.write("open day", |db| {
        let known: Vec<Day> = [store::current_day(db)?, store::latest_day(db)?]
            .into_iter()
            .flatten()
            .map(|stored| stored.day)
            .collect();
        let day = Day::open(body.date, &known).map_err(|e| errors::day(e, &[]))?;
        store::insert_day(db, &day)?;
        stored(db, body.date)
    })?;
    tracing::info!(date = %body.date, carried = day.day.openings().len(), "day opened");
    Ok(answer::json(201, &day))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Prepare {
    counts: Vec<Count>,
}

/// The packs a close needs: those the day opened with, and those on the
/// counter.
fn packs_of(db: &Db, day: &Day) -> Result<Vec<Pack>, ApiError> {
    let mut packs = store::active_packs(db)?;
    let on_counter: Vec<PackKey> = packs.iter().map(Pack::key).collect();
    for opening in day.openings() {
        if !on_counter.contains(&opening.pack)
            && let Some(stored) = store::pack(db, opening.pack)?
        {
            packs.push(stored.pack);
        }
    }
    Ok(packs)
}

/// `POST /days/{date}/prepare`: computes and stores the close from the
/// closing counts.
pub fn prepare(db: &Db, date: BusinessDate, body: &[u8]) -> Result<Response, ApiError> {
    let body: Prepare = request::json(body)?;
    let day = db.write("prepare close", |db| {
        let day = stored(db, date)?.day;
        let packs = packs_of(db, &day)?;
        let prepared = day
            .prepare(&packs, &body.counts)
            .map_err(|e| errors::day(e, &body.counts))?;
        store::update_day(db, &prepared)?;
        stored(db, date)
    })?;
    let close = day.day.prepared();
    tracing::info!(
        date = %date,
        tickets = close.map(|c| c.tickets()),
        amount = close.map(|c| c.amount().get()),
        variances = close.map(|c| c.variances().len()),
        "close prepared"
    );
    Ok(answer::json(200, &day))
}

/// `POST /days/{date}/cancel`: the pending close is dropped; the day is
/// open again.
pub fn cancel(db: &Db, date: BusinessDate) -> Result<Response, ApiError> {
    let day = db.write("cancel close", |db| {
        let day = stored(db, date)?
            .day
            .cancel()
            .map_err(|e| errors::day(e, &[]))?;
        store::update_day(db, &day)?;
        stored(db, date)
    })?;
    tracing::info!(date = %date, "close cancelled");
    Ok(answer::json(200, &day))
}

/// `POST /days/{date}/commit`: the pending close becomes final, its
/// variances are kept for review, and it goes into the outbox.
pub fn commit(db: &Db, date: BusinessDate) -> Result<Response, ApiError> {
    let day = db.write("commit close", |db| {
        let day = stored(db, date)?
            .day
            .commit()
            .map_err(|e| errors::day(e, &[]))?;
        let close = day
            .prepared()
            .filter(|_| day.status() == DayStatus::Closed)
            .ok_or_else(|| crate::db::bad_row("commit", "a committed day has no close"))?
            .clone();
        store::update_day(db, &day)?;
        store::insert_variances(db, date, close.variances())?;
        store::enqueue(db, &Mutation::CloseDay { close })?;
        stored(db, date)
    })?;
    tracing::info!(date = %date, "close committed");
    Ok(answer::json(200, &day))
}
