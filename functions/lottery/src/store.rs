//! The lottery cloud in Redis: one script call per round trip, keys and
//! record formats the core's ([`tombola_core::lottery::cloud_keys`]).
//!
//! Errors keep Redis's fault apart from the caller's
//! ([`StoreError`]); a stored record that does not read as the core's is
//! a data error naming its key and field.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use spin_sdk::redis::Connection;
use tombola_core::lottery::{
    BusinessDate, Change, ClientId, CloudBin, GAMES, GAMES_REVISION, Game, GameCode,
    LotterySettlement, MutationId, Pack, PackKey, PackNumber, PreparedClose, PushReads, PushWrites,
    STORE_IDS, StoreId, store_keys,
};
use tombola_edge::error::ApiError;
use tombola_edge::redis::StoreError;

use crate::scripts::{self, Reply};

/// A connection to the Redis at `redis_address`, for this request.
///
/// Fails with a 503 when Redis cannot be reached, a 500 when the address
/// is not allowed.
pub fn connect() -> Result<Connection, ApiError> {
    Ok(tombola_edge::redis::connect(
        &tombola_edge::redis::address(),
    )?)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("the core's records serialize")
}

fn parse<T: DeserializeOwned>(
    reply: &Reply,
    key: &str,
    field: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|error| reply.invalid(format!("{key} field {field}: {error}")))
}

/// How often a guarded write that lost a race reads again before it
/// answers 503.
pub const ATTEMPTS: usize = 8;

/// 503 for a guarded write that lost [`ATTEMPTS`] races in a row: nothing
/// was written, and a retry is safe.
pub fn contended(what: &str) -> ApiError {
    ApiError::new(
        503,
        "contended",
        "Service unavailable",
        format!("{what} kept changing while this request was written; nothing was written, retry"),
    )
}

/// Every game, with the revision of its last change, and the games'
/// revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Games {
    /// The games' revision.
    pub revision: u64,
    /// Every game, in code order.
    pub games: Vec<Change<Game>>,
}

/// Reads every game.
///
/// Fails when Redis cannot be reached or a stored game does not read.
pub fn games(conn: &Connection) -> Result<Games, ApiError> {
    let mut reply = scripts::GAMES.call(conn, &[GAMES_REVISION, GAMES], &[])?;
    match reply.text()?.as_str() {
        "OK" => {}
        other => return Err(reply.unexpected(other).into()),
    }
    let revision = reply.uint()?;
    let count = reply.uint()?;
    let mut games = Vec::new();
    for _ in 0..count {
        let code = reply.text()?;
        let text = reply.text()?;
        games.push(parse::<Change<Game>>(&reply, GAMES, &code, &text)?);
    }
    games.sort_by_key(|change| change.record.code());
    Ok(Games { revision, games })
}

/// The revision a write expects its record at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Whatever is there.
    Any,
    /// The record as read at this revision.
    At(u64),
}

/// What a guarded write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Written, at this revision; `existed` says whether it replaced a
    /// record.
    Done {
        /// The record's new revision.
        revision: u64,
        /// Whether a record was there before.
        existed: bool,
    },
    /// The record changed since it was read: nothing written.
    Stale,
    /// The store is not registered: nothing written.
    NoStore,
}

/// Writes `game`, stamped with the next games revision.
///
/// Fails when Redis cannot be reached (the outcome of a sent write is
/// unknown; writing the same game again is safe).
pub fn put_game(conn: &Connection, game: &Game, expect: Expect) -> Result<Written, ApiError> {
    let code = game.code().to_string();
    let json = serde_json::to_string(game).expect("games serialize");
    let at = match expect {
        Expect::Any => String::new(),
        Expect::At(revision) => revision.to_string(),
    };
    let mut reply = scripts::GAME_PUT.call(
        conn,
        &[GAMES_REVISION, GAMES],
        &[code.as_bytes(), json.as_bytes(), at.as_bytes()],
    )?;
    match reply.text()?.as_str() {
        "OK" => Ok(Written::Done {
            revision: reply.uint()?,
            existed: reply.uint()? == 1,
        }),
        "STALE" => Ok(Written::Stale),
        other => Err(reply.unexpected(other).into()),
    }
}

/// Registers `store` with its key's hash; `false` when it already exists
/// (nothing written).
///
/// Fails when Redis cannot be reached.
pub fn register(
    conn: &Connection,
    store: &StoreId,
    key_hash: &str,
    name: &str,
    now: u64,
) -> Result<bool, ApiError> {
    let keys = store_keys(store);
    let now = now.to_string();
    let mut reply = scripts::REGISTER.call(
        conn,
        &[&keys.info],
        &[key_hash.as_bytes(), name.as_bytes(), now.as_bytes()],
    )?;
    match reply.text()?.as_str() {
        "OK" => Ok(true),
        "EXISTS" => Ok(false),
        other => Err(reply.unexpected(other).into()),
    }
}

/// Adds `store` to the stores' directory ([`STORE_IDS`]); adding it
/// again changes nothing.
///
/// Fails when Redis cannot be reached.
pub fn list_store(conn: &Connection, store: &StoreId) -> Result<(), ApiError> {
    let id = store.to_string();
    let mut reply = scripts::DIRECTORY.call(conn, &[STORE_IDS], &[b"add", id.as_bytes()])?;
    match reply.text()?.as_str() {
        "OK" => Ok(()),
        other => Err(reply.unexpected(other).into()),
    }
}

/// At most `count` ids of the stores' directory after `after` (from the
/// first without), in id order; an id that does not read as one is a
/// data error.
///
/// Fails when Redis cannot be reached.
pub fn store_ids(
    conn: &Connection,
    after: Option<&StoreId>,
    count: usize,
) -> Result<Vec<StoreId>, ApiError> {
    let after = after.map_or(String::new(), StoreId::to_string);
    let count = count.to_string();
    let mut reply = scripts::DIRECTORY.call(
        conn,
        &[STORE_IDS],
        &[b"page", after.as_bytes(), count.as_bytes()],
    )?;
    match reply.text()?.as_str() {
        "OK" => {}
        other => return Err(reply.unexpected(other).into()),
    }
    reply
        .rest()?
        .iter()
        .map(|id| {
            id.parse().map_err(|error| {
                StoreError::Data(format!("{STORE_IDS} member {id:?}: {error}")).into()
            })
        })
        .collect()
}

/// Replaces `store`'s key hash; `false` when the store does not exist.
///
/// Fails when Redis cannot be reached.
pub fn rotate(
    conn: &Connection,
    store: &StoreId,
    key_hash: &str,
    now: u64,
) -> Result<bool, ApiError> {
    let keys = store_keys(store);
    let now = now.to_string();
    let mut reply =
        scripts::ROTATE.call(conn, &[&keys.info], &[key_hash.as_bytes(), now.as_bytes()])?;
    match reply.text()?.as_str() {
        "OK" => Ok(true),
        "NONE" => Ok(false),
        other => Err(reply.unexpected(other).into()),
    }
}

/// Which parts of a store [`read_store`] reads besides its registration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parts {
    /// Its bins.
    pub bins: bool,
    /// Each client's last mutation id.
    pub clients: bool,
    /// Its packs.
    pub packs: bool,
    /// Its day closes.
    pub closes: bool,
    /// The lottery's settlements.
    pub settled: bool,
}

impl Parts {
    fn flags(self) -> String {
        [
            (self.bins, 'b'),
            (self.clients, 'l'),
            (self.packs, 'p'),
            (self.closes, 'c'),
            (self.settled, 's'),
        ]
        .iter()
        .filter(|(wanted, _)| *wanted)
        .map(|(_, flag)| *flag)
        .collect()
    }
}

/// One store as read at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreView {
    /// The SHA-256 of its API key, as hex.
    pub key_hash: String,
    /// Its name.
    pub name: String,
    /// When it was registered (ms).
    pub created_at: u64,
    /// When its key was last made (ms).
    pub rotated_at: u64,
    /// When a push last applied mutations (ms), if one has.
    pub last_push_at: Option<u64>,
    /// When the store last pulled with its key (ms), if it has.
    pub last_pull_at: Option<u64>,
    /// Its version: every push and bin change adds one.
    pub version: String,
    /// Its bins' revision.
    pub revision: u64,
    /// The asked client's last mutation id (0 before its first push).
    pub last_mutation_id: MutationId,
    /// Whether its index of the packs on the counter is trusted: false for
    /// a store registered before the index, until a push builds it.
    pub counter_indexed: bool,
    /// How many packs it has pushed, whichever parts were read.
    pub pack_count: u64,
    /// How many day closes it has pushed, whichever parts were read.
    pub close_count: u64,
    /// Its bins, removed ones included.
    pub bins: Vec<Change<CloudBin>>,
    /// Each client's last mutation id.
    pub clients: BTreeMap<String, MutationId>,
    /// Its packs (read for a push with its [`PushReads`] and a trusted
    /// index: the named ones and those on the counter).
    pub packs: BTreeMap<PackKey, Pack>,
    /// Its day closes (for such a push: the named ones).
    pub closes: BTreeMap<BusinessDate, PreparedClose>,
    /// The lottery's settlements.
    pub settled: BTreeMap<PackKey, LotterySettlement>,
}

fn pack_key(field: &str) -> Option<PackKey> {
    let (game, number) = field.split_once('-')?;
    Some(PackKey {
        game: game.parse::<GameCode>().ok()?,
        number: PackNumber::new(number.parse().ok()?).ok()?,
    })
}

/// A pull's time (ms) and the hash of the key it presented: reading the
/// store records the time as its last pull when the key is the store's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pulled<'a> {
    /// When (ms).
    pub at: u64,
    /// The SHA-256 of the presented key, as hex.
    pub key_hash: &'a str,
}

/// Reads `store`: its registration, `client`'s last mutation id, and the
/// `parts` asked for, recording `pulled` in the same step. `None` when the
/// store is not registered.
///
/// Fails when Redis cannot be reached or a stored record does not read.
pub fn read_store(
    conn: &Connection,
    store: &StoreId,
    client: Option<&ClientId>,
    parts: Parts,
    pulled: Option<Pulled<'_>>,
) -> Result<Option<StoreView>, ApiError> {
    read(conn, store, client, parts, pulled, None)
}

/// [`read_store`] for a push: its packs and closes only as far as
/// `reads` and the counter go, once the store's index of the counter is
/// trusted (whole before).
pub fn read_for_push(
    conn: &Connection,
    store: &StoreId,
    client: &ClientId,
    parts: Parts,
    reads: &PushReads,
) -> Result<Option<StoreView>, ApiError> {
    read(conn, store, Some(client), parts, None, Some(reads))
}

fn read(
    conn: &Connection,
    store: &StoreId,
    client: Option<&ClientId>,
    parts: Parts,
    pulled: Option<Pulled<'_>>,
    reads: Option<&PushReads>,
) -> Result<Option<StoreView>, ApiError> {
    let keys = store_keys(store);
    let client = client.map_or("", ClientId::as_str);
    let mut flags = parts.flags();
    if reads.is_some() {
        flags.push('n');
    }
    let at = pulled.map_or(String::new(), |pulled| pulled.at.to_string());
    let presented = pulled.map_or("", |pulled| pulled.key_hash);
    let mut args: Vec<Vec<u8>> = vec![client.into(), flags.into(), at.into(), presented.into()];
    if let Some(reads) = reads {
        args.push(reads.packs.len().to_string().into());
        args.extend(reads.packs.iter().map(|key| key.to_string().into_bytes()));
        args.push(reads.closes.len().to_string().into());
        args.extend(
            reads
                .closes
                .iter()
                .map(|date| date.to_string().into_bytes()),
        );
    }
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let mut reply = scripts::STORE.call(conn, &keys.all(), &args)?;
    match reply.text()?.as_str() {
        "OK" => {}
        "NONE" => return Ok(None),
        other => return Err(reply.unexpected(other).into()),
    }
    let number = |reply: &mut Reply, what: &str| -> Result<u64, StoreError> {
        let text = reply.text()?;
        text.parse()
            .map_err(|_| reply.invalid(format!("{} field {what}: {text:?}", keys.info)))
    };
    let key_hash = reply.text()?;
    let name = reply.text()?;
    let created_at = number(&mut reply, "created_at")?;
    let rotated_at = number(&mut reply, "rotated_at")?;
    let version = reply.uint()?.to_string();
    let time = |reply: &mut Reply, what: &str| -> Result<Option<u64>, StoreError> {
        let text = reply.text()?;
        if text.is_empty() {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .map_err(|_| reply.invalid(format!("{} field {what}: {text:?}", keys.info)))
    };
    let last_push_at = time(&mut reply, "last_push_at")?;
    let last_pull_at = time(&mut reply, "last_pull_at")?;
    let revision = reply.uint()?;
    let last_mutation_id = reply.uint()?;
    let counter_indexed = reply.uint()? == 1;
    let pack_count = reply.uint()?;
    let close_count = reply.uint()?;
    let mut view = StoreView {
        key_hash,
        name,
        created_at,
        rotated_at,
        last_push_at,
        last_pull_at,
        version,
        revision,
        last_mutation_id,
        counter_indexed,
        pack_count,
        close_count,
        bins: Vec::new(),
        clients: BTreeMap::new(),
        packs: BTreeMap::new(),
        closes: BTreeMap::new(),
        settled: BTreeMap::new(),
    };
    let pairs = |reply: &mut Reply| -> Result<Vec<(String, String)>, StoreError> {
        let count = reply.uint()?;
        (0..count)
            .map(|_| Ok((reply.text()?, reply.text()?)))
            .collect()
    };
    for (field, text) in pairs(&mut reply)? {
        view.bins.push(parse(&reply, &keys.bins, &field, &text)?);
    }
    for (field, text) in pairs(&mut reply)? {
        let last = text
            .parse()
            .map_err(|_| reply.invalid(format!("{} field {field}: {text:?}", keys.clients)))?;
        view.clients.insert(field, last);
    }
    for (field, text) in pairs(&mut reply)? {
        let pack: Pack = parse(&reply, &keys.packs, &field, &text)?;
        view.packs.insert(pack.key(), pack);
    }
    for (field, text) in pairs(&mut reply)? {
        let close: PreparedClose = parse(&reply, &keys.closes, &field, &text)?;
        view.closes.insert(close.date(), close);
    }
    for (field, text) in pairs(&mut reply)? {
        let key = pack_key(&field)
            .ok_or_else(|| reply.invalid(format!("{} field {field:?}", keys.settled)))?;
        view.settled
            .insert(key, parse(&reply, &keys.settled, &field, &text)?);
    }
    view.bins.sort_by_key(|change| change.record.number);
    Ok(Some(view))
}

fn status(reply: &mut Reply) -> Result<Written, StoreError> {
    match reply.text()?.as_str() {
        "OK" => Ok(Written::Done {
            revision: reply.uint()?,
            existed: true,
        }),
        "STALE" => Ok(Written::Stale),
        "NONE" => Ok(Written::NoStore),
        other => Err(reply.unexpected(other)),
    }
}

/// What a push does to the store's index of the packs on the counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counter {
    /// The index is trusted: each written pack goes on or off it.
    Kept,
    /// The index is not trusted yet (the store was registered before it):
    /// the whole counter after the push, which replaces it.
    Whole(Vec<PackKey>),
}

/// A push as decided, to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidedPush<'a> {
    /// The client that pushed.
    pub client: &'a ClientId,
    /// The store's version when it was read.
    pub version: &'a str,
    /// The client's new last mutation id.
    pub last_mutation_id: MutationId,
    /// The records to write.
    pub writes: &'a PushWrites,
    /// What becomes of the index of the counter.
    pub counter: Counter,
}

/// Persists a decided push of `client` to `store`, read at `version`: its
/// `writes`, the client's new `last_mutation_id` and what the push does to
/// the index of the counter ([`Counter`]), with `now` (ms) as the store's
/// last push, in one script, or nothing if the store changed since.
///
/// Fails when Redis cannot be reached (the outcome of a sent push is
/// unknown; pushing it again is safe: its ids are then duplicates).
pub fn write_push(
    conn: &Connection,
    store: &StoreId,
    push: DecidedPush<'_>,
    now: u64,
) -> Result<Written, ApiError> {
    let DecidedPush {
        client,
        version,
        last_mutation_id,
        writes,
        counter,
    } = push;
    let keys = store_keys(store);
    let mut args: Vec<Vec<u8>> = vec![
        client.as_str().into(),
        version.into(),
        last_mutation_id.to_string().into(),
        now.to_string().into(),
    ];
    let mut section = |pairs: Vec<(String, String)>| {
        args.push(pairs.len().to_string().into());
        for (field, value) in pairs {
            args.push(field.into());
            args.push(value.into());
        }
    };
    section(
        writes
            .bins
            .iter()
            .map(|number| {
                let bin = CloudBin {
                    number: *number,
                    removed: false,
                };
                (number.to_string(), json(&bin))
            })
            .collect(),
    );
    section(
        writes
            .packs
            .iter()
            .map(|(key, pack)| (key.to_string(), json(pack)))
            .collect(),
    );
    section(
        writes
            .closes
            .iter()
            .map(|(date, close)| (date.to_string(), json(close)))
            .collect(),
    );
    section(
        writes
            .counter()
            .map(|(key, on)| (key.to_string(), if on { "1" } else { "0" }.to_owned()))
            .collect(),
    );
    match counter {
        Counter::Kept => args.push(Vec::new()),
        Counter::Whole(keys) => {
            args.push(b"all".to_vec());
            args.push(keys.len().to_string().into());
            args.extend(keys.iter().map(|key| key.to_string().into_bytes()));
        }
    }
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let mut reply = scripts::PUSH.call(conn, &keys.all(), &args)?;
    Ok(status(&mut reply)?)
}

/// Writes an operator's change to one of `store`'s bins, read at
/// `version`.
///
/// Fails when Redis cannot be reached.
pub fn put_bin(
    conn: &Connection,
    store: &StoreId,
    version: &str,
    bin: CloudBin,
) -> Result<Written, ApiError> {
    let keys = store_keys(store);
    let number = bin.number.to_string();
    let json = serde_json::to_string(&bin).expect("bins serialize");
    let mut reply = scripts::BIN_PUT.call(
        conn,
        &[&keys.info, &keys.revision, &keys.bins],
        &[version.as_bytes(), number.as_bytes(), json.as_bytes()],
    )?;
    Ok(status(&mut reply)?)
}

/// What recording a settlement found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Recorded; the store's pack as it stands.
    Done(Pack),
    /// The store has pushed no such pack.
    NoPack,
    /// The store is not registered.
    NoStore,
}

/// Records the lottery's settlement of `pack` at `store`.
///
/// Fails when Redis cannot be reached or the stored pack does not read.
pub fn settle(
    conn: &Connection,
    store: &StoreId,
    pack: PackKey,
    settlement: LotterySettlement,
) -> Result<Settled, ApiError> {
    let keys = store_keys(store);
    let field = pack.to_string();
    let json = serde_json::to_string(&settlement).expect("settlements serialize");
    let mut reply = scripts::SETTLE.call(
        conn,
        &[&keys.info, &keys.packs, &keys.settled],
        &[field.as_bytes(), json.as_bytes()],
    )?;
    match reply.text()?.as_str() {
        "OK" => {
            let text = reply.text()?;
            Ok(Settled::Done(parse(&reply, &keys.packs, &field, &text)?))
        }
        "NOPACK" => Ok(Settled::NoPack),
        "NONE" => Ok(Settled::NoStore),
        other => Err(reply.unexpected(other).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settlement_fields_read_as_pack_keys() {
        let key = PackKey {
            game: "050".parse().unwrap(),
            number: PackNumber::new(1_234_567).unwrap(),
        };
        assert_eq!(pack_key(&key.to_string()), Some(key));
        assert_eq!(pack_key("050"), None);
        assert_eq!(pack_key("x-1"), None);
    }

    #[test]
    fn parts_are_asked_for_by_flag() {
        let all = Parts {
            bins: true,
            clients: true,
            packs: true,
            closes: true,
            settled: true,
        };
        assert_eq!(all.flags(), "blpcs");
        assert_eq!(Parts::default().flags(), "");
    }
}
