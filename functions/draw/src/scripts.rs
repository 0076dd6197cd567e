//! The Lua scripts that persist a pool, and calling them.
//!
//! Every change to a pool is one script call: Redis runs a script
//! atomically, so the append, the request-id check and the read of the
//! snapshot and tail are one step that concurrent requests cannot split.
//! Scripts are called by SHA-1 (`EVALSHA`) and sent in full only when Redis
//! does not have them cached (after a restart, for example).

use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

use crate::store::StoreError;

const PRELUDE: &str = include_str!("scripts/prelude.lua");

/// One script: its name for logs and its source with the prelude.
pub struct Script {
    /// Name used in logs.
    pub name: &'static str,
    body: &'static str,
}

macro_rules! script {
    ($name:ident, $file:literal) => {
        #[doc = concat!("`", $file, "`.")]
        pub const $name: Script = Script {
            name: $file,
            body: include_str!(concat!("scripts/", $file)),
        };
    };
}

script!(CREATE, "create.lua");
script!(APPEND, "append.lua");
script!(READ, "read.lua");
script!(RECORD, "record.lua");
script!(HISTORY, "history.lua");
script!(ROTATE, "rotate.lua");

impl Script {
    /// The full source Redis runs.
    pub fn source(&self) -> String {
        format!("{PRELUDE}\n{}", self.body)
    }

    /// Runs the script with `keys` and `args`.
    ///
    /// Fails when Redis cannot be reached or the script errors; a script
    /// Redis has not cached is sent in full and run once more.
    pub fn call(
        &self,
        conn: &Connection,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Result<Vec<RedisResult>, StoreError> {
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
        match conn.execute("EVALSHA", &params) {
            Err(spin_sdk::redis::Error::Other(message))
                if message.to_ascii_lowercase().contains("noscript") =>
            {
                tracing::debug!(script = self.name, "script not cached in Redis; sending it");
                params[0] = RedisParameter::Binary(source.into_bytes());
                conn.execute("EVAL", &params)
                    .map_err(|e| StoreError::from_redis(self.name, &e))
            }
            other => other.map_err(|e| StoreError::from_redis(self.name, &e)),
        }
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

    /// The next value as text (a status or a bulk string).
    pub fn text(&mut self) -> Result<String, StoreError> {
        match self.values.next() {
            Some(RedisResult::Status(s)) => Ok(s),
            Some(RedisResult::Binary(b)) => String::from_utf8(b)
                .map_err(|e| self.shape("UTF-8 text", Some(&RedisResult::Binary(e.into_bytes())))),
            other => Err(self.shape("text", other.as_ref())),
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
}
