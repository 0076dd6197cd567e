//! Moving the core's values to and from the tables (see
//! `migrations/0001_init.sql` for the layout).
//!
//! Each function is one or a few statements on the caller's transaction;
//! none decides anything. Values read back go through the core's own
//! checks (`Game::new`, `Pack`'s and `Day`'s deserializers), so a row that
//! does not hold together is a 500 naming the row, never a wrong answer.

use serde::Serialize;
use serde_json::json;
use spin_sdk::sqlite3::{RowResult, Value};
use tombola_core::lottery::{
    BinNumber, BusinessDate, Day, Game, GameCode, GameSpec, Mutation, Opening, Pack, PackKey,
    PackStatus, Variance,
};
use tombola_edge::error::ApiError;

use crate::db::{self, Db, bad_row, i, j, now, t};

const GAME_COLUMNS: &str = "code, name, price, pack_value, tickets_per_pack, numbering, status";

fn game_from(row: &RowResult) -> Result<Game, ApiError> {
    let what = "games row";
    let code = db::text(row, 0, what)?;
    let spec = json!({
        "code": code,
        "name": db::text(row, 1, what)?,
        "price": db::int(row, 2, what)?,
        "pack_value": db::int(row, 3, what)?,
        "tickets_per_pack": db::int(row, 4, what)?,
        "numbering": db::text(row, 5, what)?,
        "status": db::text(row, 6, what)?,
    });
    let spec: GameSpec =
        serde_json::from_value(spec).map_err(|e| bad_row(&format!("game {code}"), e))?;
    Game::new(spec).map_err(|e| bad_row(&format!("game {code}"), e))
}

/// Every game, by code.
pub fn games(db: &Db) -> Result<Vec<Game>, ApiError> {
    db.rows(
        &format!("SELECT {GAME_COLUMNS} FROM games ORDER BY code"),
        &[],
    )?
    .iter()
    .map(game_from)
    .collect()
}

/// The game `code`, if the store has it.
pub fn game(db: &Db, code: GameCode) -> Result<Option<Game>, ApiError> {
    db.rows(
        &format!("SELECT {GAME_COLUMNS} FROM games WHERE code = ?"),
        &[t(code.to_string())],
    )?
    .first()
    .map(game_from)
    .transpose()
}

/// Writes `game`, replacing the row of its code; `true` when it is new.
pub fn put_game(db: &Db, game: &Game) -> Result<bool, ApiError> {
    let existed = game_exists(db, game.code())?;
    let spec = GameSpec::from(game.clone());
    let numbering = serde_json::to_value(spec.numbering).expect("a numbering serializes");
    let status = serde_json::to_value(spec.status).expect("a status serializes");
    db.run(
        &format!(
            "INSERT INTO games ({GAME_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, price = excluded.price, \
             pack_value = excluded.pack_value, tickets_per_pack = excluded.tickets_per_pack, \
             numbering = excluded.numbering, status = excluded.status, updated_at = excluded.updated_at"
        ),
        &[
            t(spec.code.to_string()),
            t(spec.name),
            i(cents(spec.price.get())),
            i(cents(spec.pack_value.get())),
            i(spec.tickets_per_pack),
            t(numbering.as_str().unwrap_or_default()),
            t(status.as_str().unwrap_or_default()),
            now(),
        ],
    )?;
    Ok(!existed)
}

fn game_exists(db: &Db, code: GameCode) -> Result<bool, ApiError> {
    Ok(!db
        .rows("SELECT 1 FROM games WHERE code = ?", &[t(code.to_string())])?
        .is_empty())
}

fn cents(value: u64) -> i64 {
    // Game::new bounds every amount far below i64::MAX.
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Every bin, by number.
pub fn bins(db: &Db) -> Result<Vec<BinNumber>, ApiError> {
    db.rows("SELECT number FROM bins ORDER BY number", &[])?
        .iter()
        .map(|row| {
            let number = db::int(row, 0, "bins row")?;
            u32::try_from(number)
                .ok()
                .and_then(|n| BinNumber::new(n).ok())
                .ok_or_else(|| bad_row("bins row", format!("{number} is not a bin number")))
        })
        .collect()
}

/// Creates `bins`.
pub fn insert_bins(db: &Db, bins: &[BinNumber]) -> Result<(), ApiError> {
    for bin in bins {
        db.run(
            "INSERT INTO bins (number, created_at) VALUES (?, ?)",
            &[i(bin.get()), now()],
        )?;
    }
    Ok(())
}

/// Whether bin `bin` exists.
pub fn bin_exists(db: &Db, bin: BinNumber) -> Result<bool, ApiError> {
    Ok(!db
        .rows("SELECT 1 FROM bins WHERE number = ?", &[i(bin.get())])?
        .is_empty())
}

/// A pack with when it was received and last changed.
#[derive(Debug, Clone, Serialize)]
pub struct StoredPack {
    /// The pack.
    #[serde(flatten)]
    pub pack: Pack,
    /// When it was received (ms since the epoch).
    pub received_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

const PACK_COLUMNS: &str = "record, received_at, updated_at, game, number";

fn pack_from(row: &RowResult) -> Result<StoredPack, ApiError> {
    let what = format!(
        "packs row {}-{}",
        db::text(row, 3, "packs row")?,
        db::int(row, 4, "packs row")?
    );
    Ok(StoredPack {
        pack: db::json(row, 0, &what)?,
        received_at: db::int(row, 1, &what)?,
        updated_at: db::int(row, 2, &what)?,
    })
}

fn key_params(key: PackKey) -> [Value; 2] {
    [t(key.game.to_string()), i(key.number.get())]
}

/// The pack `key`, if the store has it.
pub fn pack(db: &Db, key: PackKey) -> Result<Option<StoredPack>, ApiError> {
    db.rows(
        &format!("SELECT {PACK_COLUMNS} FROM packs WHERE game = ? AND number = ?"),
        &key_params(key),
    )?
    .first()
    .map(pack_from)
    .transpose()
}

/// Which packs a listing shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct PackFilter {
    /// Only packs in this status.
    pub status: Option<PackStatus>,
    /// Only packs of this game.
    pub game: Option<GameCode>,
    /// Only the pack active in this bin.
    pub bin: Option<BinNumber>,
}

/// The packs `filter` selects, by game and number.
pub fn packs(db: &Db, filter: PackFilter) -> Result<Vec<StoredPack>, ApiError> {
    let mut sql = format!("SELECT {PACK_COLUMNS} FROM packs WHERE 1 = 1");
    let mut params = Vec::new();
    if let Some(status) = filter.status {
        sql.push_str(" AND status = ?");
        params.push(t(status.to_string()));
    }
    if let Some(game) = filter.game {
        sql.push_str(" AND game = ?");
        params.push(t(game.to_string()));
    }
    if let Some(bin) = filter.bin {
        sql.push_str(" AND bin = ?");
        params.push(i(bin.get()));
    }
    sql.push_str(" ORDER BY game, number");
    db.rows(&sql, &params)?.iter().map(pack_from).collect()
}

/// The packs on the counter.
pub fn active_packs(db: &Db) -> Result<Vec<Pack>, ApiError> {
    Ok(packs(
        db,
        PackFilter {
            status: Some(PackStatus::Active),
            ..PackFilter::default()
        },
    )?
    .into_iter()
    .map(|stored| stored.pack)
    .collect())
}

/// Adds a pack just received.
pub fn insert_pack(db: &Db, pack: &Pack) -> Result<(), ApiError> {
    db.run(
        "INSERT INTO packs (game, number, status, bin, record, received_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        &[
            t(pack.key().game.to_string()),
            i(pack.key().number.get()),
            t(pack.status().to_string()),
            bin_value(pack),
            j(pack),
            now(),
            now(),
        ],
    )?;
    Ok(())
}

/// Writes a pack's new state.
pub fn update_pack(db: &Db, pack: &Pack) -> Result<(), ApiError> {
    let [game, number] = key_params(pack.key());
    db.run(
        "UPDATE packs SET status = ?, bin = ?, record = ?, updated_at = ? WHERE game = ? AND number = ?",
        &[t(pack.status().to_string()), bin_value(pack), j(pack), now(), game, number],
    )?;
    if db.changes() != 1 {
        return Err(bad_row(
            &format!("packs row {}", pack.key()),
            "vanished while being updated",
        ));
    }
    Ok(())
}

fn bin_value(pack: &Pack) -> Value {
    pack.bin().map_or(Value::Null, |bin| i(bin.get()))
}

/// A day with when it opened, was prepared and closed.
#[derive(Debug, Clone, Serialize)]
pub struct StoredDay {
    /// The day, its openings and its close.
    #[serde(flatten)]
    pub day: Day,
    /// When it opened (ms since the epoch).
    pub opened_at: i64,
    /// When its close was prepared, while pending or once closed.
    pub prepared_at: Option<i64>,
    /// When it closed.
    pub closed_at: Option<i64>,
}

fn day_from(db: &Db, row: &RowResult) -> Result<StoredDay, ApiError> {
    let date = db::text(row, 0, "days row")?.to_owned();
    let what = format!("day {date}");
    let close: Option<serde_json::Value> = db::opt_text(row, 2, &what)?
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| bad_row(&what, e))?;
    let openings = db
        .rows(
            "SELECT game, number, bin, opening FROM day_serials WHERE date = ? ORDER BY rowid",
            &[t(date.clone())],
        )?
        .iter()
        .map(|row| {
            let reading: serde_json::Value = db::json(row, 3, &what)?;
            Ok(json!({
                "pack": {"game": db::text(row, 0, &what)?, "number": db::int(row, 1, &what)?},
                "bin": db::int(row, 2, &what)?,
                "reading": reading,
            }))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let mut record = json!({
        "date": date,
        "openings": openings,
        "status": db::text(row, 1, &what)?,
    });
    if let Some(close) = close {
        record["close"] = close;
    }
    Ok(StoredDay {
        day: serde_json::from_value(record).map_err(|e| bad_row(&what, e))?,
        opened_at: db::int(row, 3, &what)?,
        prepared_at: db::opt_int(row, 4, &what)?,
        closed_at: db::opt_int(row, 5, &what)?,
    })
}

const DAY_COLUMNS: &str = "date, status, close, opened_at, prepared_at, closed_at";

/// The day of `date`, if the store has had it.
pub fn day(db: &Db, date: BusinessDate) -> Result<Option<StoredDay>, ApiError> {
    db.rows(
        &format!("SELECT {DAY_COLUMNS} FROM days WHERE date = ?"),
        &[t(date.to_string())],
    )?
    .first()
    .map(|row| day_from(db, row))
    .transpose()
}

/// The day that is not closed, if there is one.
pub fn current_day(db: &Db) -> Result<Option<StoredDay>, ApiError> {
    db.rows(
        &format!("SELECT {DAY_COLUMNS} FROM days WHERE status != 'CLOSED'"),
        &[],
    )?
    .first()
    .map(|row| day_from(db, row))
    .transpose()
}

/// The latest day the store has had.
pub fn latest_day(db: &Db) -> Result<Option<StoredDay>, ApiError> {
    db.rows(
        &format!("SELECT {DAY_COLUMNS} FROM days ORDER BY date DESC LIMIT 1"),
        &[],
    )?
    .first()
    .map(|row| day_from(db, row))
    .transpose()
}

/// One past day as the list of days shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DaySummary {
    /// Its date.
    pub date: String,
    /// Its status.
    pub status: String,
    /// Tickets sold (once prepared).
    pub tickets: Option<u64>,
    /// What they sold for, in cents (once prepared).
    pub amount: Option<u64>,
    /// Variances to review (once prepared).
    pub variances: Option<usize>,
}

/// The latest `limit` days, newest first.
pub fn days(db: &Db, limit: u64) -> Result<Vec<DaySummary>, ApiError> {
    db.rows(
        &format!("SELECT {DAY_COLUMNS} FROM days ORDER BY date DESC LIMIT ?"),
        &[i(i64::try_from(limit).unwrap_or(i64::MAX))],
    )?
    .iter()
    .map(|row| {
        let stored = day_from(db, row)?;
        let close = stored.day.prepared();
        Ok(DaySummary {
            date: stored.day.date().to_string(),
            status: stored.day.status().to_string(),
            tickets: close.map(|c| c.tickets()),
            amount: close.map(|c| c.amount().get()),
            variances: close.map(|c| c.variances().len()),
        })
    })
    .collect()
}

/// Adds a day just opened, with the openings it carried.
pub fn insert_day(db: &Db, day: &Day) -> Result<(), ApiError> {
    db.run(
        "INSERT INTO days (date, status, opened_at) VALUES (?, ?, ?)",
        &[
            t(day.date().to_string()),
            t(day.status().to_string()),
            now(),
        ],
    )?;
    for opening in day.openings() {
        insert_opening(db, day.date(), opening)?;
    }
    Ok(())
}

/// Records where a pack opened the day.
pub fn insert_opening(db: &Db, date: BusinessDate, opening: &Opening) -> Result<(), ApiError> {
    let [game, number] = key_params(opening.pack);
    db.run(
        "INSERT INTO day_serials (date, game, number, bin, opening) VALUES (?, ?, ?, ?, ?)",
        &[
            t(date.to_string()),
            game,
            number,
            i(opening.bin.get()),
            j(&opening.reading),
        ],
    )?;
    Ok(())
}

/// Writes a day's new status and close, and each pack's closing serial
/// and sales (cleared when the close is cancelled).
pub fn update_day(db: &Db, day: &Day) -> Result<(), ApiError> {
    let date = t(day.date().to_string());
    let close = day.prepared();
    db.run(
        "UPDATE days SET status = ?, close = ?, \
         prepared_at = CASE WHEN ? THEN coalesce(prepared_at, ?) END, \
         closed_at = CASE WHEN ? = 'CLOSED' THEN ? END WHERE date = ?",
        &[
            t(day.status().to_string()),
            close.map_or(Value::Null, j),
            i(i64::from(close.is_some())),
            now(),
            t(day.status().to_string()),
            now(),
            date.clone(),
        ],
    )?;
    db.run(
        "UPDATE day_serials SET closing = NULL, tickets = NULL, amount = NULL WHERE date = ?",
        std::slice::from_ref(&date),
    )?;
    for line in close.map(|c| c.lines()).unwrap_or_default() {
        let [game, number] = key_params(line.pack);
        db.run(
            "UPDATE day_serials SET closing = ?, tickets = ?, amount = ? \
             WHERE date = ? AND game = ? AND number = ?",
            &[
                j(&line.closing),
                i(line.tickets),
                i(cents(line.amount.get())),
                date.clone(),
                game,
                number,
            ],
        )?;
    }
    Ok(())
}

/// Keeps a closed day's variances for review.
pub fn insert_variances(
    db: &Db,
    date: BusinessDate,
    variances: &[Variance],
) -> Result<(), ApiError> {
    for variance in variances {
        let [game, number] = key_params(variance.pack);
        db.run(
            "INSERT INTO variances (date, game, number, bin, kind, known, counted, tickets, amount, recorded_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                t(date.to_string()),
                game,
                number,
                i(variance.bin.get()),
                t(serde_json::to_value(variance.kind)
                    .expect("a kind serializes")
                    .as_str()
                    .unwrap_or_default()),
                j(&variance.known),
                j(&variance.counted),
                i(variance.tickets),
                i(variance.amount),
                now(),
            ],
        )?;
    }
    Ok(())
}

/// Appends `mutation` to the outbox, in the caller's transaction; returns
/// its mutation id.
pub fn enqueue(db: &Db, mutation: &Mutation) -> Result<i64, ApiError> {
    let result = db.run(
        "INSERT INTO sync_queue (name, args, created_at) VALUES (?, ?, ?) RETURNING id",
        &[t(mutation.name()), j(&mutation.args()), now()],
    )?;
    let id = result
        .rows
        .first()
        .map(|row| db::int(row, 0, "sync_queue id"))
        .transpose()?
        .ok_or_else(|| bad_row("sync_queue", "INSERT returned no id"))?;
    tracing::debug!(mutation = mutation.name(), id, "outbox row written");
    Ok(id)
}
