//! The cloud's stores: their ids, their API keys, and the Redis keys of
//! the lottery cloud.
//!
//! Games are the whole lottery's and live under one hash tag; everything
//! of one store lives under the store's own, `{store:<id>}`, so one script
//! may touch all of it (a push writes packs, closes, bins and the client's
//! id together):
//!
//! ```text
//! tombola:lottery:{games}:rev            string  the games' revision
//! tombola:lottery:{games}:all            hash    code -> Change<Game> JSON
//! tombola:lottery:{stores}:ids           zset    every registered store's id, score 0
//!                                                (so in id order), added before its
//!                                                registration (an id without info
//!                                                never completed)
//! tombola:lottery:{store:<id>}:info      hash    key (hex SHA-256 of the API key),
//!                                                name, created_at, rotated_at,
//!                                                version, last_push_at and
//!                                                last_pull_at (ms, once they happen)
//! tombola:lottery:{store:<id>}:rev       string  the store's bins' revision
//! tombola:lottery:{store:<id>}:bins      hash    number -> Change<CloudBin> JSON
//! tombola:lottery:{store:<id>}:clients   hash    client id -> last_mutation_id
//! tombola:lottery:{store:<id>}:packs     hash    game-number -> Pack JSON (the store's)
//! tombola:lottery:{store:<id>}:active    set     game-number of every pack on the
//!                                                counter (ACTIVE), kept with the packs;
//!                                                trusted once info has active_index = 1
//! tombola:lottery:{store:<id>}:settled   hash    game-number -> LotterySettlement JSON
//! tombola:lottery:{store:<id>}:closes    hash    date -> PreparedClose JSON
//! ```
//!
//! Store ids keep [`ClientId`]'s syntax (no `{`, `}` or `:`), so no two
//! stores' keys meet, and a store named `games` has the tag
//! `{store:games}`, not `{games}`.
//!
//! An API key is shown once, when it is made; the cloud keeps only its
//! SHA-256 ([`key_hash`]) and compares a presented key's hash with it in
//! constant time ([`key_matches`]).
//!
//! ```
//! use tombola_core::lottery::{StoreId, api_key, key_hash, key_matches, store_keys};
//!
//! let store: StoreId = "corner-7".parse()?;
//! assert_eq!(store_keys(&store).packs, "tombola:lottery:{store:corner-7}:packs");
//! let key = api_key([7; 32]);
//! assert!(key_matches(&key, &key_hash(&key)));
//! assert!(!key_matches("tsk_guess", &key_hash(&key)));
//! # Ok::<(), tombola_core::lottery::StoreIdError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::sync::ClientId;

/// The games' revision: `tombola:lottery:{games}:rev`.
pub const GAMES_REVISION: &str = "tombola:lottery:{games}:rev";

/// Every game, with the revision that last changed it:
/// `tombola:lottery:{games}:all`.
pub const GAMES: &str = "tombola:lottery:{games}:all";

/// Every registered store's id: `tombola:lottery:{stores}:ids`, the
/// stores' directory, a sorted set whose scores are all 0, so a page in id
/// order is one range read. Registration adds an id before it writes the
/// store's info, so a registered store is always listed.
pub const STORE_IDS: &str = "tombola:lottery:{stores}:ids";

/// How many stores a page of the directory holds when the caller does not
/// say.
pub const DEFAULT_STORE_PAGE: usize = 50;

/// The most stores one page of the directory holds.
pub const MAX_STORE_PAGE: usize = 200;

/// One page of the stores' directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorePage {
    /// The page's ids, in id order.
    pub stores: Vec<StoreId>,
    /// The id to page on from (`after`), `None` on the last page.
    pub next: Option<StoreId>,
}

/// The page of `ids` (any order, repeats ignored) after `after`, at most
/// `limit` (clamped to 1..=[`MAX_STORE_PAGE`]) of them, in id order.
///
/// ```
/// use tombola_core::lottery::{StoreId, store_page};
///
/// let ids: Vec<StoreId> = ["c", "a", "b"].iter().map(|id| id.parse().unwrap()).collect();
/// let first = store_page(ids.clone(), None, 2);
/// assert_eq!(first.stores, [ids[1].clone(), ids[2].clone()]);
/// let second = store_page(ids, first.next.as_ref(), 2);
/// assert_eq!((second.stores.len(), second.next), (1, None));
/// ```
pub fn store_page(mut ids: Vec<StoreId>, after: Option<&StoreId>, limit: usize) -> StorePage {
    ids.sort();
    ids.dedup();
    ids.retain(|id| after.is_none_or(|after| id > after));
    let limit = limit.clamp(1, MAX_STORE_PAGE);
    let next = (ids.len() > limit).then(|| ids[limit - 1].clone());
    ids.truncate(limit);
    StorePage { stores: ids, next }
}

/// A store the cloud knows, named by the operator who registered it.
///
/// Invariant: [`ClientId`]'s syntax, 1 to 64 ASCII letters, digits, `-`
/// and `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StoreId(ClientId);

/// Why a text is not a [`StoreId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreIdError(String);

impl FromStr for StoreId {
    type Err = StoreIdError;

    /// Reads a store id.
    ///
    /// # Errors
    ///
    /// [`StoreIdError`] when the text breaks [`ClientId`]'s syntax.
    fn from_str(text: &str) -> Result<StoreId, StoreIdError> {
        text.parse::<ClientId>().map(StoreId).map_err(|error| {
            let text = error.to_string();
            StoreIdError(text.trim_start_matches("client_id: ").to_owned())
        })
    }
}

impl TryFrom<String> for StoreId {
    type Error = StoreIdError;

    fn try_from(text: String) -> Result<StoreId, StoreIdError> {
        text.parse()
    }
}

impl From<StoreId> for String {
    fn from(store: StoreId) -> String {
        store.0.as_str().to_owned()
    }
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// The longest store name, in characters.
pub const MAX_STORE_NAME_CHARS: usize = 100;

/// Why a text is not a store's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoreNameError {
    /// Empty, or only spaces.
    #[error("name: empty")]
    Empty,
    /// Longer than [`MAX_STORE_NAME_CHARS`].
    #[error("name: longer than {MAX_STORE_NAME_CHARS} characters")]
    TooLong,
    /// A control character, at this byte offset.
    #[error("name: a control character at byte {0}")]
    Control(usize),
}

/// Checks a store's display name: 1 to [`MAX_STORE_NAME_CHARS`]
/// characters, not only spaces, no control character.
///
/// # Errors
///
/// [`StoreNameError`] saying which rule it breaks.
pub fn check_store_name(name: &str) -> Result<(), StoreNameError> {
    if let Some((at, _)) = name.char_indices().find(|(_, c)| c.is_control()) {
        return Err(StoreNameError::Control(at));
    }
    if name.trim().is_empty() {
        return Err(StoreNameError::Empty);
    }
    if name.chars().count() > MAX_STORE_NAME_CHARS {
        return Err(StoreNameError::TooLong);
    }
    Ok(())
}

/// The Redis keys of one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreKeys {
    /// The store's registration and API key hash.
    pub info: String,
    /// Its bins' revision.
    pub revision: String,
    /// Its bins.
    pub bins: String,
    /// Each client's last mutation id.
    pub clients: String,
    /// Its packs, as pushed.
    pub packs: String,
    /// The lottery's settlements of its packs.
    pub settled: String,
    /// Its day closes.
    pub closes: String,
    /// Its packs on the counter, by key: what a push reads beside the
    /// packs it names ([`super::push_reads`]).
    pub active: String,
}

impl StoreKeys {
    /// Every key, in the order the store's scripts take them: info,
    /// revision, bins, clients, packs, closes, settled, active.
    pub fn all(&self) -> [&str; 8] {
        [
            &self.info,
            &self.revision,
            &self.bins,
            &self.clients,
            &self.packs,
            &self.closes,
            &self.settled,
            &self.active,
        ]
    }
}

/// The keys of `store`, all under its hash tag `{store:<id>}`.
pub fn store_keys(store: &StoreId) -> StoreKeys {
    let key = |name: &str| format!("tombola:lottery:{{store:{store}}}:{name}");
    StoreKeys {
        info: key("info"),
        revision: key("rev"),
        bins: key("bins"),
        clients: key("clients"),
        packs: key("packs"),
        settled: key("settled"),
        closes: key("closes"),
        active: key("active"),
    }
}

/// The prefix of every API key, so a leaked one is recognisable.
pub const API_KEY_PREFIX: &str = "tsk_";

/// An API key made from 32 random bytes the caller draws from a CSPRNG:
/// [`API_KEY_PREFIX`] and 64 lower-case hex digits.
pub fn api_key(random: [u8; 32]) -> String {
    let mut key = String::with_capacity(API_KEY_PREFIX.len() + 64);
    key.push_str(API_KEY_PREFIX);
    key.push_str(&hex(&random));
    key
}

/// The SHA-256 of `key`, as 64 lower-case hex digits: what the cloud keeps.
pub fn key_hash(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// Whether `presented` is the key whose hash is `stored`, compared in
/// time that does not depend on where the hashes differ. An empty stored
/// hash matches nothing.
pub fn key_matches(presented: &str, stored: &str) -> bool {
    !stored.is_empty() && bool::from(key_hash(presented).as_bytes().ct_eq(stored.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_ids_keep_the_client_id_syntax() {
        assert_eq!(
            "corner-7".parse::<StoreId>().unwrap().to_string(),
            "corner-7"
        );
        assert_eq!(
            "a:b".parse::<StoreId>().unwrap_err().to_string(),
            "store: ':' is not a letter, digit, '-' or '_'"
        );
        assert_eq!(
            "".parse::<StoreId>().unwrap_err().to_string(),
            "store: empty"
        );
        assert!(serde_json::from_value::<StoreId>(serde_json::json!("{x}")).is_err());
    }

    #[test]
    fn every_key_of_a_store_shares_its_tag_and_no_other_stores() {
        let keys = store_keys(&"games".parse().unwrap());
        for key in keys.all() {
            assert!(key.starts_with("tombola:lottery:{store:games}:"), "{key}");
        }
        assert!(!GAMES.contains("{store:"));
    }

    fn ids(names: &[&str]) -> Vec<StoreId> {
        names.iter().map(|name| name.parse().unwrap()).collect()
    }

    #[test]
    fn the_directory_is_paged_in_id_order_after_an_id() {
        let all = ids(&["b", "a", "d", "c", "a"]);
        let page = store_page(all.clone(), None, 3);
        assert_eq!(page.stores, ids(&["a", "b", "c"]));
        assert_eq!(page.next, Some("c".parse().unwrap()));
        let page = store_page(all.clone(), page.next.as_ref(), 3);
        assert_eq!(
            page,
            StorePage {
                stores: ids(&["d"]),
                next: None
            }
        );
        // Exactly a page left: no next page to ask for.
        assert_eq!(store_page(all.clone(), None, 4).next, None);
        // An id that is not listed pages on from where it would be.
        let page = store_page(all, Some(&"bb".parse().unwrap()), 3);
        assert_eq!(page.stores, ids(&["c", "d"]));
    }

    #[test]
    fn a_directory_page_holds_one_to_the_most_stores() {
        let many: Vec<StoreId> = (0..MAX_STORE_PAGE + 5)
            .map(|n| format!("s{n:04}").parse().unwrap())
            .collect();
        assert_eq!(store_page(many.clone(), None, 0).stores.len(), 1);
        let page = store_page(many, None, usize::MAX);
        assert_eq!(page.stores.len(), MAX_STORE_PAGE);
        assert!(page.next.is_some());
        assert_eq!(
            store_page(Vec::new(), None, DEFAULT_STORE_PAGE),
            StorePage {
                stores: Vec::new(),
                next: None
            }
        );
    }

    #[test]
    fn store_names_are_checked() {
        assert_eq!(check_store_name("Corner Shop #7"), Ok(()));
        assert_eq!(check_store_name("  "), Err(StoreNameError::Empty));
        assert_eq!(check_store_name("a\tb"), Err(StoreNameError::Control(1)));
        assert_eq!(
            check_store_name(&"x".repeat(MAX_STORE_NAME_CHARS + 1)),
            Err(StoreNameError::TooLong)
        );
        assert_eq!(check_store_name(&"é".repeat(MAX_STORE_NAME_CHARS)), Ok(()));
    }

    #[test]
    fn keys_are_hashed_with_sha256_and_compared_whole() {
        let key = api_key([0xab; 32]);
        assert_eq!(key, format!("tsk_{}", "ab".repeat(32)));
        // SHA-256 of "abc", a published test vector.
        assert_eq!(
            key_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(key_matches(&key, &key_hash(&key)));
        assert!(!key_matches(&key[..key.len() - 1], &key_hash(&key)));
        assert!(!key_matches(&key, ""));
        assert_ne!(api_key([1; 32]), api_key([2; 32]));
    }
}
