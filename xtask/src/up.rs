//! `cargo xtask up`: the app on 127.0.0.1:3000, and the store's app
//! (`spin-store.toml`) on 127.0.0.1:3001, with everything they need.
//!
//! The store's app keeps its SQLite database in `.tombola/store/` and takes
//! the store token kept in `.tombola/store-token` (or
//! `SPIN_VARIABLE_STORE_TOKEN`).
//!
//! The cloud app is given a demo store on its first start (`demo-store`,
//! three games, four bins; its API key kept in `.tombola/demo-store-key`),
//! and the store's app is configured with it, so the two sync at once.
//!
//! Uses `REDIS_URL` when set; otherwise starts `redis-server` with an
//! append-only file under `.tombola/redis`, so pools survive restarts.
//! Serves under `spin up` when Spin is installed, else under the tests
//! crate's wasmtime host. Ctrl-C stops the app and the Redis it started.

use std::path::Path;
use std::process::{Child, Command};
use std::sync::mpsc;

use anyhow::{Context, Result, bail};

use crate::redis_server::{Persistence, RedisServer, free_port};
use crate::{build, cargo, on_path, root, run, test};

const LISTEN: &str = "127.0.0.1:3000";

/// Where the store's app listens.
const STORE_LISTEN: &str = "127.0.0.1:3001";

/// The address the manifest's `redis_address` takes (no database) from
/// `redis://[auth@]host:port[/db]`.
fn redis_address(url: &str) -> Result<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        bail!("REDIS_URL {url:?} must look like redis://host:port");
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        bail!("REDIS_URL {url:?} has no host");
    }
    Ok(format!("{scheme}://{authority}"))
}

/// The app's tokens: from `SPIN_VARIABLE_<NAME>` when set, else from
/// `.tombola/<name>` (made once, random), so they survive restarts.
#[derive(Debug, Clone)]
struct Tokens {
    admin: String,
    reader: String,
}

fn token(state: &Path, variable: &str) -> Result<String> {
    if let Ok(token) = std::env::var(format!("SPIN_VARIABLE_{}", variable.to_ascii_uppercase())) {
        return Ok(token);
    }
    let path = state.join(variable.replace('_', "-"));
    if let Ok(token) = std::fs::read_to_string(&path) {
        return Ok(token.trim().to_owned());
    }
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .with_context(|| format!("cannot read /dev/urandom for {variable}"))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&path, &token)
        .with_context(|| format!("cannot save {variable} in {}", path.display()))?;
    Ok(token)
}

impl Tokens {
    fn load(state: &Path) -> Result<Self> {
        Ok(Self {
            admin: token(state, "admin_token")?,
            reader: token(state, "reader_token")?,
        })
    }

    fn apply(&self, cmd: &mut Command) {
        cmd.env("SPIN_VARIABLE_ADMIN_TOKEN", &self.admin)
            .env("SPIN_VARIABLE_READER_TOKEN", &self.reader);
    }
}

/// Builds and serves the app until Ctrl-C.
pub fn run_app(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!(
            "cargo xtask up takes no arguments (got {arg:?}); set REDIS_URL to use your own Redis"
        );
    }
    let state = root().join(".tombola");
    std::fs::create_dir_all(&state)?;
    eprintln!("Building the components for wasm32-wasip2 (release)");
    build::components()?;

    let (stop_tx, stop_rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .context("cannot install the Ctrl-C handler")?;

    let (redis, redis_url) = match std::env::var("REDIS_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            test::ensure_redis_server()?;
            let port = if std::net::TcpListener::bind("127.0.0.1:6379").is_ok() {
                6379
            } else {
                free_port()?
            };
            let server =
                RedisServer::start_with(Persistence::AppendOnly(state.join("redis")), Some(port))?;
            let url = server.address();
            eprintln!("Started redis-server on {url} (data in .tombola/redis)");
            (Some(server), url)
        }
    };
    let address = redis_address(&redis_url)?;
    let tokens = Tokens::load(&state)?;

    let store_token = token(&state, "store_token")?;
    let store_dir = state.join("store");
    std::fs::create_dir_all(&store_dir)?;
    let spin = on_path("spin");
    let mut child = if spin {
        spin_up(&address, &tokens)?
    } else {
        wasmtime_host(&address, &tokens)?
    };
    let demo_key = match demo_store(&state, &tokens.admin) {
        Ok(key) => key,
        Err(error) => {
            let _ = child.kill();
            return Err(error);
        }
    };
    let mut store = if spin {
        spin_up_store(&state, &store_dir, &store_token, &demo_key)?
    } else {
        wasmtime_store(&store_dir, &store_token, &demo_key)?
    };
    println!("Tombola is serving on http://{LISTEN}  (try: curl http://{LISTEN}/v1/health)");
    println!(
        "Operator routes and state writes take: Authorization: Bearer {}",
        tokens.admin
    );
    println!(
        "State reads also take: Authorization: Bearer {}",
        tokens.reader
    );
    println!(
        "The store's back office is serving on http://{STORE_LISTEN}/api/v1/lottery  (data in .tombola/store)"
    );
    println!("Its routes take: Authorization: Bearer {store_token}");
    println!(
        "It syncs with the cloud as {DEMO_STORE} (try: curl -X POST -H 'Authorization: Bearer {store_token}' http://{STORE_LISTEN}/api/v1/lottery/sync)"
    );
    println!("Press Ctrl-C to stop.");

    loop {
        if stop_rx
            .recv_timeout(std::time::Duration::from_millis(200))
            .is_ok()
        {
            break;
        }
        let exited = match (child.try_wait()?, store.try_wait()?) {
            (Some(status), _) => Some(("app", status)),
            (None, Some(status)) => Some(("store's app", status)),
            (None, None) => None,
        };
        if let Some((name, status)) = exited {
            let _ = child.kill();
            let _ = store.kill();
            if let Some(mut redis) = redis {
                redis.shutdown();
            }
            bail!("the {name} exited: {status}");
        }
    }
    eprintln!("Stopping");
    for process in [&mut child, &mut store] {
        let _ = process.kill();
        let _ = process.wait();
    }
    if let Some(mut redis) = redis {
        redis.shutdown();
    }
    Ok(())
}

fn spin_up(address: &str, tokens: &Tokens) -> Result<Child> {
    let mut cmd = Command::new("spin");
    cmd.current_dir(root())
        .args(["up", "--listen", LISTEN])
        .env("SPIN_VARIABLE_REDIS_ADDRESS", address);
    tokens.apply(&mut cmd);
    eprintln!("Serving under spin up");
    cmd.spawn().context("cannot start spin up")
}

/// The store the cloud app is given on its first start.
const DEMO_STORE: &str = "demo-store";

/// Waits for the cloud app, then registers the demo store with three games
/// and four bins on the first start, and answers its API key: kept in
/// `.tombola/demo-store-key`, or made again by rotating it when that file
/// is gone.
fn demo_store(state: &Path, admin: &str) -> Result<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .into();
    let url = |path: &str| format!("http://{LISTEN}/v1{path}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while agent.get(&url("/health")).call().is_err() {
        if std::time::Instant::now() > deadline {
            bail!("the cloud app did not answer on http://{LISTEN} within 5 minutes");
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let auth = format!("Bearer {admin}");
    let call =
        |method: &str, path: &str, body: serde_json::Value| -> Result<(u16, serde_json::Value)> {
            let request = ureq::http::Request::builder()
                .method(method)
                .uri(url(path))
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .body(body.to_string())?;
            let mut response = agent
                .run(request)
                .with_context(|| format!("{method} {path} on the cloud app"))?;
            let status = response.status().as_u16();
            let text = response.body_mut().read_to_string()?;
            Ok((status, serde_json::from_str(&text).unwrap_or_default()))
        };
    let key_file = state.join("demo-store-key");
    let register = serde_json::json!({"store": DEMO_STORE, "name": "Demo store"});
    let (status, answer) = call("POST", "/lottery/stores", register)?;
    let key = match status {
        201 => {
            let games = [
                ("050", "Cash Blast", 500, 30, "ascending"),
                ("060", "Lucky 7s", 1000, 20, "descending"),
                ("070", "Gold Rush", 200, 100, "ascending"),
            ];
            for (code, name, price, tickets, numbering) in games {
                let game = serde_json::json!({"name": name, "price": price,
                    "pack_value": price * tickets, "tickets_per_pack": tickets,
                    "numbering": numbering});
                call("PUT", &format!("/lottery/games/{code}"), game)?;
            }
            for bin in 1..=4 {
                let path = format!("/lottery/stores/{DEMO_STORE}/bins/{bin}");
                call("PUT", &path, serde_json::Value::Null)?;
            }
            eprintln!("Registered {DEMO_STORE} at the cloud, with three games and four bins");
            answer["api_key"].as_str().map(str::to_owned)
        }
        409 => match std::fs::read_to_string(&key_file) {
            Ok(key) => Some(key.trim().to_owned()),
            Err(_) => {
                let path = format!("/lottery/stores/{DEMO_STORE}/key");
                let (_, rotated) = call("POST", &path, serde_json::Value::Null)?;
                rotated["api_key"].as_str().map(str::to_owned)
            }
        },
        other => bail!("registering {DEMO_STORE} at the cloud answered {other}: {answer}"),
    }
    .with_context(|| format!("the cloud gave {DEMO_STORE} no API key"))?;
    std::fs::write(&key_file, &key)
        .with_context(|| format!("cannot save the demo store's key in {}", key_file.display()))?;
    Ok(key)
}

/// What the store's app needs to sync with the cloud app as the demo store.
fn sync_with_cloud(cmd: &mut Command, key: &str) {
    cmd.env("SPIN_VARIABLE_CLOUD_URL", format!("http://{LISTEN}"))
        .env("SPIN_VARIABLE_STORE_ID", DEMO_STORE)
        .env("SPIN_VARIABLE_CLOUD_API_KEY", key);
}

fn spin_up_store(state: &Path, store_dir: &Path, store_token: &str, key: &str) -> Result<Child> {
    let runtime_config = state.join("store-runtime-config.toml");
    std::fs::write(
        &runtime_config,
        format!(
            "[sqlite_database.default]\ntype = \"spin\"\npath = \"{}\"\n",
            store_dir.join("sqlite_db.db").display()
        ),
    )?;
    let mut cmd = Command::new("spin");
    cmd.current_dir(root())
        .args(["up", "-f", "spin-store.toml", "--listen", STORE_LISTEN])
        .arg("--runtime-config-file")
        .arg(&runtime_config)
        .env("SPIN_VARIABLE_STORE_TOKEN", store_token);
    sync_with_cloud(&mut cmd, key);
    cmd.spawn()
        .context("cannot start spin up for the store's app")
}

fn wasmtime_store(store_dir: &Path, store_token: &str, key: &str) -> Result<Child> {
    let mut cmd = Command::new(root().join("target/debug/tombola-host"));
    cmd.current_dir(root())
        .args(["--manifest", "spin-store.toml", "--listen", STORE_LISTEN])
        .arg("--sqlite-database")
        .arg(format!(
            "default={}",
            store_dir.join("sqlite_db.db").display()
        ))
        .env("SPIN_VARIABLE_STORE_TOKEN", store_token);
    sync_with_cloud(&mut cmd, key);
    cmd.spawn()
        .context("cannot start tombola-host for the store's app")
}

fn wasmtime_host(address: &str, tokens: &Tokens) -> Result<Child> {
    // The dev profile is the one `cargo xtask test` builds (with the
    // compiler crates optimized, see the workspace's Cargo.toml), so after
    // a test run this is a no-op rather than a second build of wasmtime.
    eprintln!(
        "Spin is not installed: building Tombola's wasmtime host (the dev profile `cargo xtask test` shares; a first build takes several minutes)"
    );
    run(cargo().args([
        "build",
        "--package",
        "tombola-tests",
        "--bin",
        "tombola-host",
    ]))?;
    let binary = root().join("target/debug/tombola-host");
    eprintln!("Serving under Tombola's wasmtime host");
    let mut cmd = Command::new(binary);
    cmd.current_dir(root())
        .args(["--listen", LISTEN])
        .env("SPIN_VARIABLE_REDIS_ADDRESS", address);
    tokens.apply(&mut cmd);
    cmd.spawn().context("cannot start tombola-host")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_urls_lose_their_database_to_become_the_address() {
        assert_eq!(
            redis_address("redis://127.0.0.1:6379/0").unwrap(),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(
            redis_address("redis://:pw@db:6380").unwrap(),
            "redis://:pw@db:6380"
        );
        assert!(redis_address("127.0.0.1:6379").is_err());
        assert!(redis_address("redis:///0").is_err());
    }
}
