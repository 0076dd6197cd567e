//! Spin's host interfaces, as Spin 3.x serves them to a component:
//! `fermyon:spin/key-value`, `fermyon:spin/redis` and `fermyon:spin/variables`
//! at version 2.0.0, generated from the WIT that ships in `spin-sdk`.
//!
//! Redis replies are flattened into one list, nested arrays included, and
//! every failure becomes `error::other` with the client's message, exactly as
//! Spin does; that is why Tombola's scripts answer with flat arrays.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};
use wasmtime::component::{Resource, ResourceTable};

use crate::outbound::AllowedHost;

wasmtime::component::bindgen!({
    path: "wit",
    world: "tombola:host/spin-host",
    imports: { default: async },
    with: {
        "fermyon:spin/redis.connection": RedisConnection,
        "fermyon:spin/key-value.store": KeyValueStore,
    },
});

use fermyon::spin::{key_value, redis as spin_redis, variables};

/// How long opening a Redis connection may take before it counts as down.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one Redis command may take before it counts as failed.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections shared by every request, as Spin keeps them per host.
///
/// A connection that fails with an I/O error is dropped, so the next
/// request connects afresh: a Redis restart costs the requests made while
/// it was down and nothing more.
#[derive(Default)]
pub struct Connections {
    by_address: Mutex<HashMap<String, MultiplexedConnection>>,
}

impl Connections {
    /// A connection to `address`, reusing the shared one when there is one.
    pub async fn get(&self, address: &str) -> redis::RedisResult<MultiplexedConnection> {
        if let Some(conn) = self.lock().get(address) {
            return Ok(conn.clone());
        }
        let client = redis::Client::open(address)?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        self.lock().insert(address.to_owned(), conn.clone());
        Ok(conn)
    }

    /// Forgets the connection to `address` if `error` means it is broken.
    pub fn forget_if_broken(&self, address: &str, error: &redis::RedisError) {
        if error.is_io_error()
            || error.is_connection_dropped()
            || error.is_connection_refusal()
            || error.is_timeout()
            || error.is_unrecoverable_error()
        {
            self.lock().remove(address);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, MultiplexedConnection>> {
        self.by_address
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What one component instance may use, fixed when the host starts.
#[derive(Debug, Clone)]
pub struct Grants {
    /// Component variables, rendered.
    pub variables: BTreeMap<String, String>,
    /// Where it may open Redis connections.
    pub allowed_hosts: Vec<AllowedHost>,
    /// Key-value store labels it may open, with the Redis URL behind each.
    pub key_value_stores: BTreeMap<String, String>,
}

/// The host side of one request's Spin interfaces.
pub struct SpinCtx<'a> {
    /// The store's resource table.
    pub table: &'a mut ResourceTable,
    /// The component's grants.
    pub grants: &'a Grants,
    /// The host's shared connections.
    pub connections: &'a Connections,
}

/// A `fermyon:spin/redis` connection.
pub struct RedisConnection {
    address: String,
    conn: MultiplexedConnection,
}

/// A `fermyon:spin/key-value` store, backed by a Redis database as Spin's
/// Redis provider does: keys unprefixed, `get-keys` lists the database.
pub struct KeyValueStore {
    url: String,
}

/// Runs `cmd`, dropping the shared connection if the failure broke it.
///
/// Spin opens a connection per `open` call, so a Redis restart between two
/// requests costs it nothing; a shared connection that the restart closed
/// is therefore replaced and the command sent once more. Tombola's scripts
/// are idempotent per request id, so a command that did run before the
/// connection dropped is answered as a duplicate, never applied twice.
async fn run<T: redis::FromRedisValue>(
    connections: &Connections,
    address: &str,
    conn: &mut MultiplexedConnection,
    cmd: &redis::Cmd,
) -> Result<T, String> {
    let error = match cmd.query_async(conn).await {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    connections.forget_if_broken(address, &error);
    if !error.is_connection_dropped() {
        return Err(error.to_string());
    }
    let mut fresh = connections.get(address).await.map_err(|e| e.to_string())?;
    cmd.query_async(&mut fresh).await.map_err(|e| {
        connections.forget_if_broken(address, &e);
        e.to_string()
    })
}

impl SpinCtx<'_> {
    fn connection(&self, res: &Resource<RedisConnection>) -> (String, MultiplexedConnection) {
        let conn = self
            .table
            .get(res)
            .expect("the guest only holds live connection handles");
        (conn.address.clone(), conn.conn.clone())
    }

    async fn redis_query<T: redis::FromRedisValue>(
        &mut self,
        res: &Resource<RedisConnection>,
        cmd: redis::Cmd,
    ) -> Result<T, spin_redis::Error> {
        let (address, mut conn) = self.connection(res);
        run(self.connections, &address, &mut conn, &cmd)
            .await
            .map_err(spin_redis::Error::Other)
    }

    async fn kv_query<T: redis::FromRedisValue>(
        &mut self,
        res: &Resource<KeyValueStore>,
        cmd: redis::Cmd,
    ) -> Result<T, key_value::Error> {
        let url = self
            .table
            .get(res)
            .expect("the guest only holds live store handles")
            .url
            .clone();
        let connections = self.connections;
        let mut conn = connections
            .get(&url)
            .await
            .map_err(|e| key_value::Error::Other(format!("key-value backend unreachable: {e}")))?;
        run(connections, &url, &mut conn, &cmd)
            .await
            .map_err(key_value::Error::Other)
    }
}

/// Flattens a Redis reply the way Spin does for `execute`.
fn flatten(value: Value, out: &mut Vec<spin_redis::RedisResult>) -> Result<(), String> {
    use spin_redis::RedisResult as R;
    match value {
        Value::Nil => out.push(R::Nil),
        Value::Int(v) => out.push(R::Int64(v)),
        Value::BulkString(bytes) => out.push(R::Binary(bytes)),
        Value::SimpleString(s) => out.push(R::Status(s)),
        Value::Okay => out.push(R::Status("OK".into())),
        Value::Array(values) | Value::Set(values) => {
            for v in values {
                flatten(v, out)?;
            }
        }
        Value::Double(v) => out.push(R::Binary(v.to_string().into_bytes())),
        Value::Boolean(v) => out.push(R::Int64(i64::from(v))),
        Value::BigNumber(v) => out.push(R::Binary(v)),
        Value::ServerError(e) => return Err(format!("{e:?}")),
        other => return Err(format!("Redis reply type is not supported: {other:?}")),
    }
    Ok(())
}

impl spin_redis::Host for SpinCtx<'_> {}

impl spin_redis::HostConnection for SpinCtx<'_> {
    async fn open(
        &mut self,
        address: String,
    ) -> Result<Resource<RedisConnection>, spin_redis::Error> {
        if !self.grants.allowed_hosts.iter().any(|h| h.allows(&address)) {
            return Err(spin_redis::Error::InvalidAddress);
        }
        if redis::Client::open(address.as_str()).is_err() {
            return Err(spin_redis::Error::InvalidAddress);
        }
        let connections = self.connections;
        let conn = connections
            .get(&address)
            .await
            .map_err(|e| spin_redis::Error::Other(e.to_string()))?;
        self.table
            .push(RedisConnection { address, conn })
            .map_err(|_| spin_redis::Error::TooManyConnections)
    }

    async fn publish(
        &mut self,
        res: Resource<RedisConnection>,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), spin_redis::Error> {
        self.redis_query::<i64>(
            &res,
            redis::cmd("PUBLISH").arg(channel).arg(payload).to_owned(),
        )
        .await
        .map(drop)
    }

    async fn get(
        &mut self,
        res: Resource<RedisConnection>,
        key: String,
    ) -> Result<Option<Vec<u8>>, spin_redis::Error> {
        self.redis_query(&res, redis::cmd("GET").arg(key).to_owned())
            .await
    }

    async fn set(
        &mut self,
        res: Resource<RedisConnection>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), spin_redis::Error> {
        self.redis_query::<()>(&res, redis::cmd("SET").arg(key).arg(value).to_owned())
            .await
    }

    async fn incr(
        &mut self,
        res: Resource<RedisConnection>,
        key: String,
    ) -> Result<i64, spin_redis::Error> {
        self.redis_query(&res, redis::cmd("INCR").arg(key).to_owned())
            .await
    }

    async fn del(
        &mut self,
        res: Resource<RedisConnection>,
        keys: Vec<String>,
    ) -> Result<u32, spin_redis::Error> {
        self.redis_query(&res, redis::cmd("DEL").arg(keys).to_owned())
            .await
    }

    async fn sadd(
        &mut self,
        res: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, spin_redis::Error> {
        self.redis_query(&res, redis::cmd("SADD").arg(key).arg(values).to_owned())
            .await
    }

    async fn smembers(
        &mut self,
        res: Resource<RedisConnection>,
        key: String,
    ) -> Result<Vec<String>, spin_redis::Error> {
        self.redis_query(&res, redis::cmd("SMEMBERS").arg(key).to_owned())
            .await
    }

    async fn srem(
        &mut self,
        res: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, spin_redis::Error> {
        self.redis_query(&res, redis::cmd("SREM").arg(key).arg(values).to_owned())
            .await
    }

    async fn execute(
        &mut self,
        res: Resource<RedisConnection>,
        command: String,
        arguments: Vec<spin_redis::RedisParameter>,
    ) -> Result<Vec<spin_redis::RedisResult>, spin_redis::Error> {
        let mut cmd = redis::cmd(&command);
        for argument in arguments {
            match argument {
                spin_redis::RedisParameter::Int64(v) => cmd.arg(v),
                spin_redis::RedisParameter::Binary(v) => cmd.arg(v),
            };
        }
        let value: Value = self.redis_query(&res, cmd).await?;
        let mut out = Vec::new();
        flatten(value, &mut out).map_err(spin_redis::Error::Other)?;
        Ok(out)
    }

    async fn drop(&mut self, res: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(res)?;
        Ok(())
    }
}

impl key_value::Host for SpinCtx<'_> {}

impl key_value::HostStore for SpinCtx<'_> {
    async fn open(&mut self, label: String) -> Result<Resource<KeyValueStore>, key_value::Error> {
        let url = self
            .grants
            .key_value_stores
            .get(&label)
            .ok_or(key_value::Error::AccessDenied)?
            .clone();
        self.table
            .push(KeyValueStore { url })
            .map_err(|e| key_value::Error::Other(e.to_string()))
    }

    async fn get(
        &mut self,
        res: Resource<KeyValueStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, key_value::Error> {
        self.kv_query(&res, redis::cmd("GET").arg(key).to_owned())
            .await
    }

    async fn set(
        &mut self,
        res: Resource<KeyValueStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), key_value::Error> {
        self.kv_query(&res, redis::cmd("SET").arg(key).arg(value).to_owned())
            .await
    }

    async fn delete(
        &mut self,
        res: Resource<KeyValueStore>,
        key: String,
    ) -> Result<(), key_value::Error> {
        self.kv_query::<i64>(&res, redis::cmd("DEL").arg(key).to_owned())
            .await
            .map(drop)
    }

    async fn exists(
        &mut self,
        res: Resource<KeyValueStore>,
        key: String,
    ) -> Result<bool, key_value::Error> {
        self.kv_query(&res, redis::cmd("EXISTS").arg(key).to_owned())
            .await
    }

    async fn get_keys(
        &mut self,
        res: Resource<KeyValueStore>,
    ) -> Result<Vec<String>, key_value::Error> {
        self.kv_query(&res, redis::cmd("KEYS").arg("*").to_owned())
            .await
    }

    async fn drop(&mut self, res: Resource<KeyValueStore>) -> wasmtime::Result<()> {
        self.table.delete(res)?;
        Ok(())
    }
}

impl variables::Host for SpinCtx<'_> {
    async fn get(&mut self, name: String) -> Result<String, variables::Error> {
        let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(variables::Error::InvalidName(name));
        }
        self.grants
            .variables
            .get(&name)
            .cloned()
            .ok_or_else(|| variables::Error::Undefined(format!("no variable for {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// The WIT this host is generated from is the WIT `spin-sdk` builds the
    /// components from, byte for byte.
    #[test]
    fn vendored_wit_matches_the_spin_sdk_crate() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--locked"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo metadata runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let manifest = metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "spin-sdk")
            .expect("spin-sdk is a dependency of the workspace")["manifest_path"]
            .as_str()
            .unwrap()
            .to_owned();
        let sdk_wit = PathBuf::from(manifest)
            .parent()
            .unwrap()
            .join("wit/deps/spin@2.0.0");
        let ours = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("wit/deps/spin");
        for file in ["key-value.wit", "redis.wit", "variables.wit"] {
            let theirs = std::fs::read_to_string(sdk_wit.join(file)).unwrap();
            let vendored = std::fs::read_to_string(ours.join(file)).unwrap();
            assert_eq!(vendored, theirs, "{file} differs from spin-sdk's");
        }
    }
}
