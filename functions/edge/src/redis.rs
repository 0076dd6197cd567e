//! Redis through Spin's outbound interface: errors told apart, Lua scripts
//! called by SHA-1, and flat replies read front to back.
//!
//! Spin's `execute` flattens nested replies into one list, so every script
//! of Tombola's answers a flat array, a status string first.

use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

/// The Redis address used when the `redis_address` variable is not set.
pub const DEFAULT_ADDRESS: &str = "redis://127.0.0.1:6379";

/// The Redis address, from the `redis_address` variable.
pub fn address() -> String {
    crate::settings::text("redis_address", DEFAULT_ADDRESS)
}

/// Why a Redis step failed. [`StoreError::Unavailable`] (cannot reach
/// Redis) and [`StoreError::Busy`] (Redis up but not serving) are the
/// caller's to retry: a 503. [`StoreError::Data`] (a reply or a stored
/// value of the wrong shape) and [`StoreError::NotConfigured`] are 500s an
/// operator must look at.
///
/// A failure of a write says what its client can know ([`Outcome`]):
/// [`StoreError::NotWritten`] wraps one that came before the write was
/// sent, [`StoreError::Unknown`] one that came after (a writing
/// [`Script`]'s call and reply mark theirs). The wrapped error keeps the
/// status and code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Redis cannot be reached: connection refused, reset or timed out.
    Unavailable(String),
    /// The Redis address is invalid or not allowed by the manifest.
    NotConfigured(String),
    /// Redis answers but cannot serve now (loading, busy, out of memory,
    /// read-only replica).
    Busy(String),
    /// A reply or a stored value is not what Tombola writes.
    Data(String),
    /// A write failed before it was sent: nothing was written.
    NotWritten(Box<StoreError>),
    /// A write was sent and then failed (its connection dropped or timed
    /// out, Redis refused it, or its reply cannot be read): it may or may
    /// not have been applied.
    Unknown(Box<StoreError>),
}

/// What a client can know of a write that failed in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was written: the failure came before the write was sent.
    NotWritten,
    /// The write was sent and then failed or timed out; it may have been
    /// applied in full, or not at all (a frozen Redis runs it when it
    /// wakes).
    Unknown,
}

impl Outcome {
    /// Its name, as an error's `outcome` member spells it.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::NotWritten => "not-written",
            Outcome::Unknown => "unknown",
        }
    }

    /// What it means for the client, to end the error's message with.
    pub fn explain(self) -> &'static str {
        match self {
            Outcome::NotWritten => "nothing was written; retry after Retry-After seconds",
            Outcome::Unknown => {
                "the write was sent, so it may or may not have been applied; retry it with the same request id or Idempotency-Key to apply it at most once, or read to find out"
            }
        }
    }
}

/// Words (lower case) with which Redis, or the client naming its error
/// kinds, says it cannot serve for now: `LOADING`, `BusyLoading`, ...
const TRANSIENT: &[&str] = &[
    "loading",
    "busyloading",
    "busy",
    "tryagain",
    "masterdown",
    "readonly",
    "oom",
    "clusterdown",
    "misconf",
];
/// Words with which Redis refuses the command or the data: `ERR`,
/// `ResponseError`, `WRONGTYPE`, ...
const REFUSED: &[&str] = &[
    "err",
    "responseerror",
    "wrongtype",
    "noscript",
    "execabort",
    "noperm",
    "crossslot",
    "typeerror",
];

impl StoreError {
    /// Classifies an error of Spin's Redis interface met at `step`.
    pub fn from_redis(step: &str, error: &spin_sdk::redis::Error) -> Self {
        let message = describe_redis(error);
        let lower = message.to_ascii_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let has = |codes: &[&str]| words.iter().any(|w| codes.contains(w));
        let detail = format!("{step}: {message}");
        if has(TRANSIENT) {
            StoreError::Busy(detail)
        } else if has(REFUSED) || matches!(error, spin_sdk::redis::Error::TypeError) {
            StoreError::Data(detail)
        } else {
            StoreError::Unavailable(detail)
        }
    }

    /// The same failure, of a write that had not been sent yet. An error
    /// already marked keeps its mark: it was set where the failure was met.
    pub fn unsent(self) -> Self {
        match self {
            StoreError::NotWritten(_) | StoreError::Unknown(_) => self,
            other => StoreError::NotWritten(Box::new(other)),
        }
    }

    /// The same failure, of a write that had been sent. An error already
    /// marked keeps its mark.
    pub fn sent(self) -> Self {
        match self {
            StoreError::NotWritten(_) | StoreError::Unknown(_) => self,
            other => StoreError::Unknown(Box::new(other)),
        }
    }

    /// What the client of a failed write can know; `None` for a read.
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            StoreError::NotWritten(_) => Some(Outcome::NotWritten),
            StoreError::Unknown(_) => Some(Outcome::Unknown),
            _ => None,
        }
    }

    /// The failure itself, without its outcome.
    pub fn cause(&self) -> &StoreError {
        match self {
            StoreError::NotWritten(inner) | StoreError::Unknown(inner) => inner.cause(),
            other => other,
        }
    }

    /// The message, for logs and error answers.
    pub fn message(&self) -> &str {
        match self {
            StoreError::Unavailable(m)
            | StoreError::NotConfigured(m)
            | StoreError::Busy(m)
            | StoreError::Data(m) => m,
            StoreError::NotWritten(inner) | StoreError::Unknown(inner) => inner.message(),
        }
    }

    /// The failure's kind, as logged.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Unavailable(_) => "connection",
            StoreError::NotConfigured(_) => "configuration",
            StoreError::Busy(_) => "busy",
            StoreError::Data(_) => "data",
            StoreError::NotWritten(inner) | StoreError::Unknown(inner) => inner.kind(),
        }
    }
}

/// Opens a connection to `address` for this request.
///
/// # Errors
///
/// [`StoreError::NotConfigured`] for an address that is invalid or not in
/// the manifest's `allowed_outbound_hosts`; [`StoreError::Unavailable`]
/// when Redis cannot be reached.
pub fn connect(address: &str) -> Result<Connection, StoreError> {
    Connection::open(address).map_err(|error| {
        let message = describe_redis(&error);
        match error {
            spin_sdk::redis::Error::InvalidAddress => {
                StoreError::NotConfigured(format!("redis_address {address:?}: {message}"))
            }
            _ => StoreError::Unavailable(format!("connect: {message}")),
        }
    })
}

/// A Redis error as one readable line.
pub fn describe_redis(error: &spin_sdk::redis::Error) -> String {
    use spin_sdk::redis::Error;
    match error {
        Error::InvalidAddress => {
            "the Redis address is invalid or not allowed by the manifest".into()
        }
        Error::TooManyConnections => "too many Redis connections".into(),
        Error::TypeError => "Redis returned a value of an unexpected type".into(),
        Error::Other(message) => message.clone(),
    }
}

/// One Lua script: its name for logs, its source as a prelude shared by a
/// component's scripts followed by its own body, and whether it writes.
pub struct Script {
    /// Name used in logs and errors.
    pub name: &'static str,
    prelude: &'static str,
    body: &'static str,
    writes: bool,
}

impl Script {
    /// A script that only reads, named `name`, whose source is `prelude`
    /// then `body`.
    pub const fn reading(name: &'static str, prelude: &'static str, body: &'static str) -> Self {
        Self {
            name,
            prelude,
            body,
            writes: false,
        }
    }

    /// A script that writes: once it is sent, any failure of its call or
    /// of reading its reply leaves its outcome unknown
    /// ([`StoreError::Unknown`]).
    pub const fn writing(name: &'static str, prelude: &'static str, body: &'static str) -> Self {
        Self {
            name,
            prelude,
            body,
            writes: true,
        }
    }

    /// The full source Redis runs.
    pub fn source(&self) -> String {
        format!("{}\n{}", self.prelude, self.body)
    }

    /// Runs the script with `keys` and `args`, by SHA-1 (`EVALSHA`), and
    /// sends it in full only when Redis has not cached it.
    ///
    /// Fails when Redis cannot be reached or the script errors.
    pub fn call(
        &self,
        conn: &Connection,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Result<Reply, StoreError> {
        let source = self.source();
        let sha = sha1_smol::Sha1::from(source.as_bytes())
            .digest()
            .to_string();
        let mut params = Vec::with_capacity(2 + keys.len() + args.len());
        params.push(RedisParameter::Binary(sha.into_bytes()));
        params.push(RedisParameter::Int64(keys.len() as i64));
        params.extend(
            keys.iter()
                .map(|k| RedisParameter::Binary(k.as_bytes().to_vec())),
        );
        params.extend(args.iter().map(|a| RedisParameter::Binary(a.to_vec())));
        let values = match conn.execute("EVALSHA", &params) {
            Err(spin_sdk::redis::Error::Other(message))
                if message.to_ascii_lowercase().contains("noscript") =>
            {
                tracing::debug!(script = self.name, "script not cached in Redis; sending it");
                params[0] = RedisParameter::Binary(source.into_bytes());
                conn.execute("EVAL", &params)
            }
            other => other,
        }
        .map_err(|e| marked(self.writes, StoreError::from_redis(self.name, &e)))?;
        Ok(Reply::of(self, values))
    }
}

/// `error`, met calling a script or reading its reply: sent, if the script
/// writes.
fn marked(writes: bool, error: StoreError) -> StoreError {
    if writes { error.sent() } else { error }
}

/// Reads a flat script reply front to back. A reply that is not what the
/// script answers is [`StoreError::Data`], and of a writing script an
/// unknown outcome: the write ran, but what it did cannot be read.
pub struct Reply {
    script: &'static str,
    writes: bool,
    values: std::vec::IntoIter<RedisResult>,
}

impl Reply {
    /// A reply of `script`, as [`Script::call`] gives it.
    pub fn of(script: &Script, values: Vec<RedisResult>) -> Self {
        Self {
            script: script.name,
            writes: script.writes,
            values: values.into_iter(),
        }
    }

    /// `message` about this reply as an error: [`StoreError::Data`],
    /// marked sent for a writing script.
    pub fn invalid(&self, message: impl Into<String>) -> StoreError {
        marked(self.writes, StoreError::Data(message.into()))
    }

    fn shape(&self, expected: &str, got: Option<&RedisResult>) -> StoreError {
        self.invalid(format!(
            "{} replied {got:?} where {expected} was expected",
            self.script
        ))
    }

    /// A status the caller does not know, as an error.
    pub fn unexpected(&self, status: &str) -> StoreError {
        self.invalid(format!("{} replied {status:?}", self.script))
    }

    /// The next value as text (a status or a bulk string).
    pub fn text(&mut self) -> Result<String, StoreError> {
        match self.values.next() {
            Some(RedisResult::Status(s)) => Ok(s),
            Some(RedisResult::Binary(b)) => String::from_utf8(b)
                .map_err(|e| self.shape("UTF-8 text", Some(&RedisResult::Binary(e.into_bytes())))),
            other => Err(self.shape("text", other.as_ref())),
        }
    }

    /// The next value as text, or `None` for a nil.
    pub fn text_or_nil(&mut self) -> Result<Option<String>, StoreError> {
        match self.values.as_slice().first() {
            Some(RedisResult::Nil) => {
                self.values.next();
                Ok(None)
            }
            _ => self.text().map(Some),
        }
    }

    /// The next value as bytes, or `None` for a nil.
    pub fn bytes_or_nil(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        match self.values.next() {
            Some(RedisResult::Nil) => Ok(None),
            Some(RedisResult::Binary(b)) => Ok(Some(b)),
            Some(RedisResult::Status(s)) => Ok(Some(s.into_bytes())),
            other => Err(self.shape("a bulk string or nil", other.as_ref())),
        }
    }

    /// The next value as an unsigned integer.
    pub fn uint(&mut self) -> Result<u64, StoreError> {
        match self.values.next() {
            Some(RedisResult::Int64(n)) if n >= 0 => Ok(n as u64),
            other => Err(self.shape("a non-negative integer", other.as_ref())),
        }
    }

    /// The next `n` values as text lines.
    pub fn lines(&mut self, n: usize) -> Result<Vec<String>, StoreError> {
        (0..n).map(|_| self.text()).collect()
    }

    /// Everything left, as text lines.
    pub fn rest(&mut self) -> Result<Vec<String>, StoreError> {
        let n = self.values.len();
        self.lines(n)
    }

    /// How many values are left.
    pub fn remaining(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spin_sdk::redis::Error;

    const READS: Script = Script::reading("t.lua", "", "");
    const WRITES: Script = Script::writing("w.lua", "", "");

    #[test]
    fn errors_are_classified_by_what_redis_said() {
        let kind = |m: &str| StoreError::from_redis("s", &Error::Other(m.into())).kind();
        assert_eq!(kind("Connection refused (os error 111)"), "connection");
        assert_eq!(kind("broken pipe"), "connection");
        assert_eq!(
            kind("LOADING: Redis is loading the dataset in memory"),
            "busy"
        );
        assert_eq!(kind("BusyLoading: Redis is loading"), "busy");
        assert_eq!(kind("WRONGTYPE: Operation against a key"), "data");
        assert_eq!(kind("NoScript: No matching script"), "data");
        assert_eq!(
            StoreError::from_redis("s", &Error::TypeError).kind(),
            "data"
        );
    }

    #[test]
    fn replies_are_read_in_order_and_checked() {
        let mut reply = Reply::of(
            &READS,
            vec![
                RedisResult::Status("OK".into()),
                RedisResult::Int64(7),
                RedisResult::Nil,
                RedisResult::Binary(b"line".to_vec()),
            ],
        );
        assert_eq!(reply.text().unwrap(), "OK");
        assert_eq!(reply.uint().unwrap(), 7);
        assert_eq!(reply.text_or_nil().unwrap(), None);
        assert_eq!(reply.remaining(), 1);
        assert_eq!(reply.rest().unwrap(), vec!["line".to_owned()]);
        let mut bad = Reply::of(&READS, vec![RedisResult::Int64(-1)]);
        let error = bad.uint().unwrap_err();
        assert_eq!((error.kind(), error.outcome()), ("data", None));
    }

    #[test]
    fn a_writing_scripts_reply_that_cannot_be_read_has_an_unknown_outcome() {
        let mut reply = Reply::of(&WRITES, vec![RedisResult::Int64(-1)]);
        let error = reply.uint().unwrap_err();
        assert_eq!(
            (error.kind(), error.outcome()),
            ("data", Some(Outcome::Unknown))
        );
        assert_eq!(reply.unexpected("WHAT").outcome(), Some(Outcome::Unknown));
        assert!(
            error
                .message()
                .starts_with("w.lua replied Some(RedisResult::Int64(-1))"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn a_write_keeps_the_first_outcome_it_was_given() {
        let refused = || StoreError::Unavailable("connect: refused".into());
        assert_eq!(refused().outcome(), None);
        assert_eq!(refused().unsent().outcome(), Some(Outcome::NotWritten));
        assert_eq!(refused().sent().outcome(), Some(Outcome::Unknown));
        assert_eq!(
            refused().unsent().sent().outcome(),
            Some(Outcome::NotWritten)
        );
        assert_eq!(refused().sent().unsent().outcome(), Some(Outcome::Unknown));
        let busy = StoreError::Busy("OOM".into()).sent();
        assert_eq!((busy.kind(), busy.message()), ("busy", "OOM"));
        assert_eq!(busy.cause(), &StoreError::Busy("OOM".into()));
        assert_eq!(Outcome::NotWritten.name(), "not-written");
        assert_eq!(Outcome::Unknown.name(), "unknown");
        assert!(
            Outcome::NotWritten
                .explain()
                .starts_with("nothing was written")
        );
        assert!(
            Outcome::Unknown
                .explain()
                .contains("may or may not have been applied")
        );
    }
}
