//! Redis through Spin's outbound interface: errors told apart, Lua scripts
//! called by SHA-1, and flat replies read front to back.
//!
//! Spin's `execute` flattens nested replies into one list, so every script
//! of Tombola's answers a flat array, a status string first.

use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

/// Why a Redis step failed. [`StoreError::Unavailable`] (cannot reach
/// Redis, nothing was sent), [`StoreError::Unknown`] (a write was sent and
/// no answer came back) and [`StoreError::Busy`] (Redis up but not
/// serving) are the caller's to retry: a 503. [`StoreError::Data`] (a
/// reply or a stored value of the wrong shape) and
/// [`StoreError::NotConfigured`] are 500s an operator must look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Redis cannot be reached: connection refused, reset or timed out
    /// before anything that writes was sent.
    Unavailable(String),
    /// A write was sent, and the connection failed or timed out before its
    /// answer: it may or may not have been applied.
    Unknown(String),
    /// The Redis address is invalid or not allowed by the manifest.
    NotConfigured(String),
    /// Redis answers but cannot serve now (loading, busy, out of memory,
    /// read-only replica).
    Busy(String),
    /// A reply or a stored value is not what Tombola writes.
    Data(String),
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

    /// The message, for logs and error answers.
    pub fn message(&self) -> &str {
        match self {
            StoreError::Unavailable(m)
            | StoreError::Unknown(m)
            | StoreError::NotConfigured(m)
            | StoreError::Busy(m)
            | StoreError::Data(m) => m,
        }
    }

    /// The error's kind, as logged.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Unavailable(_) => "connection",
            StoreError::Unknown(_) => "unknown outcome",
            StoreError::NotConfigured(_) => "configuration",
            StoreError::Busy(_) => "busy",
            StoreError::Data(_) => "data",
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

    /// A script that writes: a connection that fails while it runs leaves
    /// its outcome unknown ([`StoreError::Unknown`]).
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
        .map_err(|e| match StoreError::from_redis(self.name, &e) {
            StoreError::Unavailable(message) if self.writes => StoreError::Unknown(message),
            other => other,
        })?;
        Ok(Reply::new(self.name, values))
    }
}

/// Reads a flat script reply front to back.
pub struct Reply {
    script: &'static str,
    values: std::vec::IntoIter<RedisResult>,
}

impl Reply {
    /// Wraps `values`, the reply of `script`.
    pub fn new(script: &'static str, values: Vec<RedisResult>) -> Self {
        Self {
            script,
            values: values.into_iter(),
        }
    }

    fn shape(&self, expected: &str, got: Option<&RedisResult>) -> StoreError {
        StoreError::Data(format!(
            "{} replied {got:?} where {expected} was expected",
            self.script
        ))
    }

    /// A status the caller does not know, as an error.
    pub fn unexpected(&self, status: &str) -> StoreError {
        StoreError::Data(format!("{} replied {status:?}", self.script))
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
        let mut reply = Reply::new(
            "t.lua",
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
        let mut bad = Reply::new("t.lua", vec![RedisResult::Int64(-1)]);
        assert_eq!(bad.uint().unwrap_err().kind(), "data");
    }
}
