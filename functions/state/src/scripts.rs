//! The Lua scripts, one per operation, and calling them.
//!
//! Redis runs a script atomically, so a write, its revision bump and its
//! event are one step no other request can split, and a read sees one
//! revision. Every script starts with the prelude (`scripts/prelude.lua`),
//! which names the keys and removes expired entries first. Scripts are
//! called by SHA-1 (`EVALSHA`) and sent in full only when Redis does not
//! have them cached.

use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

use crate::store::StoreError;

const PRELUDE: &str = include_str!("scripts/prelude.lua");

/// One script: its name for logs and its body, run after the prelude.
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

script!(GET, "get.lua");
script!(PUT, "put.lua");
script!(DELETE, "delete.lua");
script!(KEYS, "keys.lua");
script!(STATS, "stats.lua");
script!(EVENTS, "events.lua");
script!(SNAPSHOT, "snapshot.lua");
script!(SNAPSHOTS, "snapshots.lua");
script!(RESTORE, "restore.lua");

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
        .map_err(|e| StoreError::from_redis(self.name, &e))?;
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

    /// The next value as an unsigned integer.
    pub fn uint(&mut self) -> Result<u64, StoreError> {
        match self.values.next() {
            Some(RedisResult::Int64(n)) if n >= 0 => Ok(n as u64),
            other => Err(self.shape("a non-negative integer", other.as_ref())),
        }
    }

    /// How many values are left.
    pub fn remaining(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_read_in_order_and_name_the_script_on_a_bad_shape() {
        let mut reply = Reply::new(
            "t.lua",
            vec![
                RedisResult::Status("OK".into()),
                RedisResult::Int64(3),
                RedisResult::Nil,
                RedisResult::Binary(b"v".to_vec()),
                RedisResult::Int64(-1),
            ],
        );
        assert_eq!(reply.text().unwrap(), "OK");
        assert_eq!(reply.uint().unwrap(), 3);
        assert_eq!(reply.text_or_nil().unwrap(), None);
        assert_eq!(reply.text_or_nil().unwrap().as_deref(), Some("v"));
        assert_eq!(reply.remaining(), 1);
        let err = reply.uint().unwrap_err();
        assert!(
            err.message()
                .starts_with("t.lua replied Some(RedisResult::Int64(-1))"),
            "{err:?}"
        );
    }
}
