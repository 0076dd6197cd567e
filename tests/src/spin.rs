//! Spin's host interfaces, as Spin 3.x serves them to a component:
//! `fermyon:spin/key-value`, `fermyon:spin/redis` and `fermyon:spin/variables`
//! at version 2.0.0, generated from the WIT that ships in `spin-sdk`.
//!
//! Redis is reached the way Spin 4.0.2 reaches it (its
//! `factor-outbound-redis` and `key-value-redis` crates, over `redis` 0.32):
//!
//! - Outbound Redis opens a new multiplexed connection on every
//!   `connection.open` and closes it when the guest drops the resource, so
//!   every request that opens one pays a TCP connect and the client's
//!   handshake.
//! - A key-value store backed by Redis shares one connection manager per
//!   store label for the whole application, created on the first `open`,
//!   and sends `PING` on every `open`, ignoring its answer. While Redis is
//!   unreachable the manager reconnects in the background and every command
//!   waits for that attempt, with Spin's effective backoff
//!   ([`kv_reconnect_config`]).
//! - Neither sets a connect or response timeout: `redis` 0.32 has none by
//!   default and Spin sets none.
//!
//! Redis replies are flattened into one list, nested arrays included, and
//! every failure becomes `error::other` with the client's message, exactly as
//! Spin does; that is why Tombola's scripts answer with flat arrays.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
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

/// The most bytes Spin buffers on the host for one result
/// (`spin_world::MAX_HOST_BUFFERED_BYTES`).
pub const MAX_HOST_BUFFERED_BYTES: usize = 128 << 20;

/// The reconnect schedule Spin 4.0.2's key-value connection manager runs.
///
/// Spin builds its manager with `redis` 0.32's defaults: retry factor 100,
/// exponent base 2, six retries, no timeouts. That release hands the factor
/// to `backon` as the exponent and never sets a minimum delay, so `backon`'s
/// own defaults fill in: the first retry waits 1 s, every later one
/// 100 s capped at 60 s, each plus up to 100% jitter. A full attempt while
/// Redis stays down therefore lasts 301 to 602 s, and a Redis that comes
/// back mid-wait is noticed only when the current sleep ends.
pub fn kv_reconnect_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_min_delay(Duration::from_secs(1))
        .set_exponent_base(100.0)
        .set_max_delay(Duration::from_secs(60))
        .set_number_of_retries(6)
        .set_connection_timeout(None)
        .set_response_timeout(None)
}

/// A key-value store label backed by Redis, shared by every component and
/// request of the application, as Spin's `KeyValueRedis` is.
pub struct RedisKeyValue {
    url: String,
    manager: tokio::sync::OnceCell<ConnectionManager>,
}

impl std::fmt::Debug for RedisKeyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKeyValue")
            .field("url", &self.url)
            .field("connected", &self.manager.initialized())
            .finish()
    }
}

impl RedisKeyValue {
    /// A store over the Redis database at `url`, not yet connected.
    pub fn new(url: String) -> Self {
        Self {
            url,
            manager: tokio::sync::OnceCell::new(),
        }
    }

    /// The shared connection manager, created by the first caller.
    ///
    /// Creating it connects with the reconnect schedule, so while Redis is
    /// down this waits out every retry before failing; callers arriving
    /// meanwhile wait for the same attempt.
    async fn manager(&self) -> Result<ConnectionManager, key_value::Error> {
        self.manager
            .get_or_try_init(|| async {
                redis::Client::open(self.url.as_str())?
                    .get_connection_manager_with_config(kv_reconnect_config())
                    .await
            })
            .await
            .cloned()
            .map_err(kv_error)
    }
}

/// Spin's `log_error`: a key-value failure is logged and handed to the
/// guest as `other` with the error's debug text.
fn kv_error(error: impl std::fmt::Debug) -> key_value::Error {
    tracing::warn!("key-value error: {error:?}");
    key_value::Error::Other(format!("{error:?}"))
}

/// Spin's refusal of a result too large to buffer.
fn too_large() -> String {
    format!("query result exceeds limit of {MAX_HOST_BUFFERED_BYTES} bytes")
}

/// What one component instance may use, fixed when the host starts.
#[derive(Debug, Clone)]
pub struct Grants {
    /// Component variables, rendered.
    pub variables: BTreeMap<String, String>,
    /// Where it may open Redis connections and send HTTP requests.
    pub allowed_hosts: Vec<AllowedHost>,
    /// Key-value store labels it may open, each with the application's
    /// shared store behind it.
    pub key_value_stores: BTreeMap<String, Arc<RedisKeyValue>>,
}

/// The host side of one request's Spin interfaces.
pub struct SpinCtx<'a> {
    /// The store's resource table.
    pub table: &'a mut ResourceTable,
    /// The component's grants.
    pub grants: &'a Grants,
}

/// A `fermyon:spin/redis` connection, owned by the guest's resource: it is
/// opened by `open` and closed when the resource is dropped.
pub struct RedisConnection {
    conn: MultiplexedConnection,
}

/// A `fermyon:spin/key-value` store, backed by a Redis database as Spin's
/// Redis provider does: keys unprefixed, `get-keys` lists the database.
pub struct KeyValueStore {
    manager: ConnectionManager,
}

impl SpinCtx<'_> {
    async fn redis_query<T: redis::FromRedisValue>(
        &mut self,
        res: &Resource<RedisConnection>,
        cmd: redis::Cmd,
    ) -> Result<T, spin_redis::Error> {
        let mut conn = self
            .table
            .get(res)
            .map_err(|_| spin_redis::Error::Other("could not find connection for resource".into()))?
            .conn
            .clone();
        cmd.query_async(&mut conn)
            .await
            .map_err(|e| spin_redis::Error::Other(e.to_string()))
    }

    async fn kv_query<T: redis::FromRedisValue>(
        &mut self,
        res: &Resource<KeyValueStore>,
        cmd: redis::Cmd,
    ) -> Result<T, key_value::Error> {
        let mut manager = self
            .table
            .get(res)
            .expect("the guest only holds live store handles")
            .manager
            .clone();
        cmd.query_async(&mut manager).await.map_err(kv_error)
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

/// What a result costs the host to buffer, as Spin counts it.
fn buffered_size(results: &[spin_redis::RedisResult]) -> usize {
    use spin_redis::RedisResult as R;
    let item = std::mem::size_of::<R>();
    std::mem::size_of::<Vec<R>>()
        + results
            .iter()
            .map(|r| match r {
                R::Nil | R::Int64(_) => item,
                R::Binary(b) => item + b.len(),
                R::Status(s) => item + s.len(),
            })
            .sum::<usize>()
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
        let client =
            redis::Client::open(address.as_str()).map_err(|_| spin_redis::Error::InvalidAddress)?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(None)
            .set_response_timeout(None);
        let conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| spin_redis::Error::Other(e.to_string()))?;
        self.table
            .push(RedisConnection { conn })
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
        let value: Option<Vec<u8>> = self
            .redis_query(&res, redis::cmd("GET").arg(key).to_owned())
            .await?;
        if std::mem::size_of::<Option<Vec<u8>>>() + value.as_ref().map_or(0, Vec::len)
            > MAX_HOST_BUFFERED_BYTES
        {
            return Err(spin_redis::Error::Other(too_large()));
        }
        Ok(value)
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
        if buffered_size(&out) > MAX_HOST_BUFFERED_BYTES {
            return Err(spin_redis::Error::Other(too_large()));
        }
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
        let store = self
            .grants
            .key_value_stores
            .get(&label)
            .ok_or(key_value::Error::AccessDenied)?;
        let mut manager = store.manager().await?;
        // Spin pings on every open and ignores the answer: a failure has
        // already set the manager reconnecting in the background.
        if let Err(error) = redis::cmd("PING").query_async::<()>(&mut manager).await {
            tracing::debug!(%error, "key-value ping on open failed");
        }
        self.table
            .push(KeyValueStore { manager })
            .map_err(|_| key_value::Error::StoreTableFull)
    }

    async fn get(
        &mut self,
        res: Resource<KeyValueStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, key_value::Error> {
        let value: Option<Vec<u8>> = self
            .kv_query(&res, redis::cmd("GET").arg(key).to_owned())
            .await?;
        if std::mem::size_of::<Option<Vec<u8>>>() + value.as_ref().map_or(0, Vec::len)
            > MAX_HOST_BUFFERED_BYTES
        {
            return Err(key_value::Error::Other(too_large()));
        }
        Ok(value)
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
        let keys: Vec<String> = self
            .kv_query(&res, redis::cmd("KEYS").arg("*").to_owned())
            .await?;
        let size = std::mem::size_of::<Vec<String>>()
            + keys
                .iter()
                .map(|k| std::mem::size_of::<String>() + k.len())
                .sum::<usize>();
        if size > MAX_HOST_BUFFERED_BYTES {
            return Err(key_value::Error::Other(too_large()));
        }
        Ok(keys)
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
pub(crate) mod tests {
    use std::path::PathBuf;

    /// Where cargo keeps the spin-sdk crate the components build with.
    pub(crate) fn spin_sdk_dir() -> PathBuf {
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
        PathBuf::from(manifest).parent().unwrap().to_owned()
    }

    /// The WIT this host is generated from is the WIT `spin-sdk` builds the
    /// components from, byte for byte.
    #[test]
    fn vendored_wit_matches_the_spin_sdk_crate() {
        let sdk_wit = spin_sdk_dir().join("wit/deps/spin@2.0.0");
        let ours = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("wit/deps/spin");
        for file in ["key-value.wit", "redis.wit", "variables.wit"] {
            let theirs = std::fs::read_to_string(sdk_wit.join(file)).unwrap();
            let vendored = std::fs::read_to_string(ours.join(file)).unwrap();
            assert_eq!(vendored, theirs, "{file} differs from spin-sdk's");
        }
    }
}
