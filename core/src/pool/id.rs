//! Identifiers: pools, items, operations, requests, client seeds, and lock
//! keys.
//!
//! A plain id is 1 to [`MAX_ID_LEN`] bytes of `A-Z a-z 0-9 _ . -`. These
//! characters are safe everywhere an id goes: between the spaces of a log
//! line, inside a Redis key, in a URL path segment, in JSON.
//!
//! Request ids live in two disjoint namespaces. A client's request id is a
//! plain id ([`RequestId::new`]), so it never holds a `#`. The ids the engine
//! derives for a multi-draw operation hold exactly one: its chunks are
//! `<operation>#<chunk>` ([`RequestId::chunk`]) and its rollback is
//! `<operation>#rollback` ([`RequestId::rollback`]). So no client request can
//! occupy an operation's slot, whatever id it picks. No other character is
//! ever accepted, so an id never contains a space, a newline, a `:`, a `/`
//! or a `{`.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest plain id, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// Why a string is not a valid id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id, or one side of a request id's `#`, is empty.
    #[error("is empty at byte {at}")]
    Empty {
        /// Byte offset of the empty part.
        at: usize,
    },
    /// Longer than [`MAX_ID_LEN`] bytes (each side of a `#` separately).
    #[error("is longer than {MAX_ID_LEN} bytes at byte {at}")]
    TooLong {
        /// Byte offset of the part that is too long.
        at: usize,
    },
    /// A character outside `A-Z a-z 0-9 _ . -` (and one `#` in a request id).
    #[error("has {found:?} at byte {at}; allowed are A-Z a-z 0-9 _ . -")]
    InvalidChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        found: char,
    },
    /// `FAILED` is the outcome word of the seed's `DRAW <request_id> FAILED`
    /// log lines, so no item may be called that.
    #[error("is reserved")]
    Reserved,
}

// One lookup per byte: ids are checked for every decoded log line.
const ID_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-';
        byte += 1;
    }
    table
};

fn is_id_byte(byte: u8) -> bool {
    ID_BYTES[usize::from(byte)]
}

// Checks a plain id that starts at byte `base` of a larger string, so that
// errors point into the larger string.
fn check_plain(text: &str, base: usize) -> Result<(), IdError> {
    if text.is_empty() {
        return Err(IdError::Empty { at: base });
    }
    if let Some(at) = text.bytes().position(|byte| !is_id_byte(byte)) {
        let found = text[at..].chars().next().unwrap_or('\u{FFFD}');
        return Err(IdError::InvalidChar {
            at: base + at,
            found,
        });
    }
    if text.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { at: base });
    }
    Ok(())
}

// What every id type shares, given its `new` and `as_str`.
macro_rules! id_traits {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                self.as_str()
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(text: &str) -> Result<$name, IdError> {
                $name::new(text)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;

            fn try_from(text: &str) -> Result<$name, IdError> {
                $name::new(text)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                $name::new(&text).map_err(|error| {
                    serde::de::Error::custom(format_args!("invalid id {text:?}: {error}"))
                })
            }
        }
    };
}

macro_rules! plain_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Parses an id.
            ///
            /// # Errors
            ///
            /// If `text` is not 1 to 64 bytes of `A-Z a-z 0-9 _ . -`.
            pub fn new(text: &str) -> Result<$name, IdError> {
                Self::check(text)?;
                Ok($name(Arc::from(text)))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        id_traits!($name);
    };
}

plain_id! {
    /// A pool's id: a plain id (see the [module docs](self)). It is the hash
    /// tag of every Redis key of the pool.
    PoolId
}

plain_id! {
    /// A multi-draw operation's id, chosen by the client: a plain id (see
    /// the [module docs](self)).
    OperationId
}

plain_id! {
    /// A player's client seed under rules 2 (see [`fair`](super::fair)):
    /// a plain id (see the [module docs](self)), so it never holds the `:`
    /// that separates the parts of the HMAC message.
    ClientSeed
}

/// A request id: a client's plain id, or one the engine derives for an
/// operation, `<operation>#<tag>` (see the [module docs](self)). A request
/// is appended to a pool's log at most once per request id.
///
/// [`RequestId::new`] and deserialization take only clients' ids, so a
/// derived id can only be made by [`RequestId::chunk`] and
/// [`RequestId::rollback`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// Parses a client's request id.
    ///
    /// # Errors
    ///
    /// If `text` is not 1 to 64 bytes of `A-Z a-z 0-9 _ . -` (a `#`, which
    /// only derived ids hold, is an invalid character).
    ///
    /// ```
    /// use tombola_core::pool::{IdError, RequestId};
    ///
    /// assert!(RequestId::new("u42-1").is_ok());
    /// assert_eq!(RequestId::new("op#2"), Err(IdError::InvalidChar { at: 2, found: '#' }));
    /// ```
    pub fn new(text: &str) -> Result<RequestId, IdError> {
        check_plain(text, 0)?;
        Ok(RequestId(Arc::from(text)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

id_traits!(RequestId);

/// An item's id: a plain id (see the [module docs](self)) other than
/// `FAILED`.
///
/// The ids of a pool's items share one buffer, so decoding a pool makes one
/// allocation for all of them, and cloning an id (outcomes hold many) only
/// counts a reference.
#[derive(Clone)]
pub struct ItemId {
    text: Arc<str>,
    start: u32,
    end: u32,
}

impl ItemId {
    /// Parses an id.
    ///
    /// # Errors
    ///
    /// If `text` is not 1 to 64 bytes of `A-Z a-z 0-9 _ . -`, or is
    /// `FAILED`.
    pub fn new(text: &str) -> Result<ItemId, IdError> {
        Self::check(text)?;
        Ok(ItemId::checked(text))
    }

    // An id from text already checked.
    pub(crate) fn checked(text: &str) -> ItemId {
        // At most MAX_ID_LEN bytes.
        ItemId {
            end: text.len() as u32,
            text: Arc::from(text),
            start: 0,
        }
    }

    // The id at `start..end` of a shared buffer, already checked.
    pub(crate) fn in_buffer(text: &Arc<str>, start: u32, end: u32) -> ItemId {
        ItemId {
            text: Arc::clone(text),
            start,
            end,
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.text
            .get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

impl PartialEq for ItemId {
    fn eq(&self, other: &ItemId) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ItemId {}

impl std::hash::Hash for ItemId {
    // Hashes as the text does, which `Borrow<str>` requires.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for ItemId {
    fn partial_cmp(&self, other: &ItemId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ItemId {
    fn cmp(&self, other: &ItemId) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

id_traits!(ItemId);

impl PoolId {
    pub(crate) fn check(text: &str) -> Result<(), IdError> {
        check_plain(text, 0)
    }
}

impl ClientSeed {
    // A client seed from text already checked.
    pub(crate) fn checked(text: &str) -> ClientSeed {
        ClientSeed(Arc::from(text))
    }

    pub(crate) fn check(text: &str) -> Result<(), IdError> {
        check_plain(text, 0)
    }
}

impl OperationId {
    // An id from text already checked.
    pub(crate) fn checked(text: &str) -> OperationId {
        OperationId(Arc::from(text))
    }

    pub(crate) fn check(text: &str) -> Result<(), IdError> {
        check_plain(text, 0)
    }
}

impl ItemId {
    /// The word that stands for "no item" in the seed's log lines.
    pub const RESERVED: &'static str = "FAILED";

    pub(crate) fn check(text: &str) -> Result<(), IdError> {
        check_plain(text, 0)?;
        if text == Self::RESERVED {
            return Err(IdError::Reserved);
        }
        Ok(())
    }
}

impl RequestId {
    // An id from text already checked.
    pub(crate) fn checked(text: &str) -> RequestId {
        RequestId(Arc::from(text))
    }

    // The request ids a log line may carry: a plain id, or `<id>#<tag>`
    // (the chunks of operations, and client ids of logs written before the
    // namespaces were split, which replay as the draws they were).
    pub(crate) fn check_logged(text: &str) -> Result<(), IdError> {
        match text.bytes().position(|byte| byte == b'#') {
            None => check_plain(text, 0),
            Some(hash) => {
                check_plain(&text[..hash], 0)?;
                check_plain(&text[hash + 1..], hash + 1)
            }
        }
    }

    /// Parses a request id as a log line may carry it: a client's, or a
    /// derived `<operation>#<tag>` such as a chunk's `<operation>#<index>`,
    /// for looking up what was appended under it (a draw's proof).
    ///
    /// # Errors
    ///
    /// If either part is not 1 to 64 bytes of `A-Z a-z 0-9 _ . -`.
    ///
    /// ```
    /// use tombola_core::pool::{OperationId, RequestId};
    ///
    /// let chunk = RequestId::chunk(&OperationId::new("op-7")?, 2);
    /// assert_eq!(RequestId::logged("op-7#2")?, chunk);
    /// assert!(RequestId::logged("op-7#").is_err() && RequestId::logged("a#b#c").is_err());
    /// # Ok::<(), tombola_core::pool::IdError>(())
    /// ```
    pub fn logged(text: &str) -> Result<RequestId, IdError> {
        RequestId::check_logged(text)?;
        Ok(RequestId::checked(text))
    }

    /// The request id of chunk `chunk` of a multi-draw: `<operation>#<chunk>`.
    pub fn chunk(operation: &OperationId, chunk: u32) -> RequestId {
        RequestId(Arc::from(format!("{operation}#{chunk}")))
    }

    /// The request id of the RETURN that rolls a multi-draw back:
    /// `<operation>#rollback`. Being a request id, it is appended at most
    /// once, which makes a rollback idempotent.
    pub fn rollback(operation: &OperationId) -> RequestId {
        RequestId(Arc::from(format!("{operation}#rollback")))
    }

    /// The operation part of a derived `<operation>#<tag>` request id;
    /// `None` for a client's id.
    pub fn operation(&self) -> Option<&str> {
        self.0.split_once('#').map(|(operation, _)| operation)
    }

    /// Whether the engine derived this id for an operation.
    pub fn is_derived(&self) -> bool {
        self.0.contains('#')
    }
}

/// What a multi-draw operation is serialized on: its pool and its id,
/// written `<pool>/<operation>`.
///
/// ```
/// use tombola_core::pool::{LockKey, OperationId, PoolId};
///
/// let key = LockKey::new(PoolId::new("summer")?, OperationId::new("op-7")?);
/// assert_eq!(key.to_string(), "summer/op-7");
/// assert_eq!("summer/op-7".parse::<LockKey>()?, key);
/// # Ok::<(), tombola_core::pool::IdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LockKey {
    pool: PoolId,
    operation: OperationId,
}

impl LockKey {
    /// The lock key of an operation in a pool.
    pub fn new(pool: PoolId, operation: OperationId) -> LockKey {
        LockKey { pool, operation }
    }

    /// The pool.
    pub fn pool(&self) -> &PoolId {
        &self.pool
    }

    /// The operation.
    pub fn operation(&self) -> &OperationId {
        &self.operation
    }
}

impl fmt::Display for LockKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.pool, self.operation)
    }
}

impl FromStr for LockKey {
    type Err = IdError;

    /// Parses `<pool>/<operation>`.
    ///
    /// # Errors
    ///
    /// If either side is not a plain id; a missing `/` is reported as an
    /// empty operation at the end of the text.
    fn from_str(text: &str) -> Result<LockKey, IdError> {
        let (pool, operation) = text.split_once('/').unwrap_or((text, ""));
        check_plain(pool, 0)?;
        check_plain(operation, pool.len() + 1)?;
        Ok(LockKey {
            pool: PoolId(Arc::from(pool)),
            operation: OperationId(Arc::from(operation)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_accept_exactly_their_alphabet() {
        let all = "AZaz09_.-";
        assert_eq!(PoolId::new(all).unwrap().as_str(), all);
        assert_eq!(ItemId::new(&"x".repeat(64)).unwrap().as_str().len(), 64);
        for bad in [' ', '#', ':', '/', '{', '\n', 'é', '\0', '+'] {
            let text = format!("ab{bad}");
            assert_eq!(
                OperationId::new(&text),
                Err(IdError::InvalidChar { at: 2, found: bad }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn plain_id_errors_are_precise() {
        assert_eq!(PoolId::new(""), Err(IdError::Empty { at: 0 }));
        assert_eq!(
            PoolId::new(&"x".repeat(65)),
            Err(IdError::TooLong { at: 0 })
        );
        assert_eq!(ItemId::new("FAILED"), Err(IdError::Reserved));
        assert_eq!(ItemId::new("failed").unwrap().as_str(), "failed");
        // A character error wins over a length error: it is the more useful one.
        let long_bad = format!("{}!", "x".repeat(70));
        assert_eq!(
            ItemId::new(&long_bad),
            Err(IdError::InvalidChar { at: 70, found: '!' })
        );
    }

    #[test]
    fn client_request_ids_never_hold_a_hash() {
        assert_eq!(RequestId::new("plain").unwrap().operation(), None);
        assert_eq!(
            RequestId::new("cop#2"),
            Err(IdError::InvalidChar { at: 3, found: '#' })
        );
        assert_eq!(
            RequestId::new("#3"),
            Err(IdError::InvalidChar { at: 0, found: '#' })
        );
        let error = serde_json::from_str::<RequestId>("\"op#rollback\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("'#' at byte 2"), "{error}");
    }

    #[test]
    fn logged_request_ids_take_one_hash() {
        assert_eq!(RequestId::check_logged("op#3"), Ok(()));
        assert_eq!(
            RequestId::check_logged("op#"),
            Err(IdError::Empty { at: 3 })
        );
        assert_eq!(RequestId::check_logged("#3"), Err(IdError::Empty { at: 0 }));
        assert_eq!(
            RequestId::check_logged("a#b#c"),
            Err(IdError::InvalidChar { at: 3, found: '#' })
        );
        let long = format!("{}#{}", "o".repeat(64), "t".repeat(64));
        assert_eq!(RequestId::check_logged(&long), Ok(()));
        let too_long = format!("o#{}", "t".repeat(65));
        assert_eq!(
            RequestId::check_logged(&too_long),
            Err(IdError::TooLong { at: 2 })
        );
    }

    #[test]
    fn chunk_and_rollback_ids_are_derived() {
        let operation = OperationId::new("op-1").unwrap();
        let chunk = RequestId::chunk(&operation, 12);
        assert_eq!(chunk.as_str(), "op-1#12");
        assert!(chunk.is_derived());
        assert_eq!(RequestId::check_logged(chunk.as_str()), Ok(()));
        let rollback = RequestId::rollback(&operation);
        assert_eq!(rollback.as_str(), "op-1#rollback");
        assert_eq!(rollback.operation(), Some("op-1"));
        assert!(!RequestId::new("op-1").unwrap().is_derived());
    }

    #[test]
    fn lock_keys_parse_both_sides() {
        let key: LockKey = "p/o".parse().unwrap();
        assert_eq!((key.pool().as_str(), key.operation().as_str()), ("p", "o"));
        assert_eq!("p".parse::<LockKey>(), Err(IdError::Empty { at: 2 }));
        assert_eq!("/o".parse::<LockKey>(), Err(IdError::Empty { at: 0 }));
        assert_eq!(
            "p/o/x".parse::<LockKey>(),
            Err(IdError::InvalidChar { at: 3, found: '/' })
        );
    }

    #[test]
    fn serde_validates_ids() {
        let id: ItemId = serde_json::from_str("\"gold\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"gold\"");
        let error = serde_json::from_str::<ItemId>("\"a b\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("invalid id \"a b\""), "{error}");
        // Escaped strings cannot be borrowed; they must still parse.
        let escaped: PoolId = serde_json::from_str("\"a\\u0062\"").unwrap();
        assert_eq!(escaped.as_str(), "ab");
    }
}
