//! The lottery cloud for the suites that sync a store with it: the cloud
//! app over a Redis that keeps its data across a restart, an operator's
//! calls to `/v1/lottery/...`, and a store registered with a game and bins.

use std::net::SocketAddr;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

use crate::app::{ADMIN_TOKEN, TestApp, options_for, send};
use crate::redis_server::{Persistence, RedisServer};
use crate::store::TempDir;

/// The cloud over a Redis that keeps its data in `dir` across a restart.
pub async fn cloud(dir: &TempDir) -> Result<TestApp> {
    let redis = RedisServer::start_with(
        Persistence::AppendOnlyFsyncAlways(dir.path().to_owned()),
        None,
    )?;
    let options = options_for(&redis);
    TestApp::start_with(redis, options).await
}

/// A call to the cloud app at `addr` with bearer `token` and a JSON
/// `body`, which must succeed; its answer's JSON.
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Result<Value> {
    let auth = format!("Bearer {token}");
    let bytes = body
        .map(serde_json::to_vec)
        .transpose()?
        .unwrap_or_default();
    let response = send(
        addr,
        method,
        path,
        &[
            ("content-type", "application/json"),
            ("authorization", &auth),
        ],
        bytes.into(),
    )
    .await
    .with_context(|| format!("{method} {path}"))?;
    ensure!(
        response.status < 300,
        "{method} {path}: {} {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    Ok(response.json())
}

/// An operator's call to `/v1/lottery{path}` at `cloud`, which must
/// succeed; its answer's JSON.
pub async fn admin(
    cloud: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value> {
    let path = format!("/v1/lottery{path}");
    call(cloud, method, &path, ADMIN_TOKEN, body.as_ref()).await
}

/// Registers `store` at `cloud` with game 050, and answers its API key.
pub async fn register(cloud: SocketAddr, store: &str) -> Result<String> {
    let registered = admin(
        cloud,
        "POST",
        "/stores",
        Some(json!({"store": store, "name": "Corner Shop"})),
    )
    .await?;
    admin(
        cloud,
        "PUT",
        "/games/050",
        Some(
            json!({"name": "Cash Blast", "price": 500, "pack_value": 15000,
                    "tickets_per_pack": 30, "numbering": "ascending"}),
        ),
    )
    .await?;
    registered["api_key"]
        .as_str()
        .map(str::to_owned)
        .context("the registration answered no api_key")
}

/// The cloud with `store` registered, game 050 and bins 1 and 2, and the
/// store's API key.
pub async fn registered_cloud(dir: &TempDir, store: &str) -> Result<(TestApp, String)> {
    let cloud = cloud(dir).await?;
    let key = register(cloud.addr, store).await?;
    for bin in [1, 2] {
        admin(
            cloud.addr,
            "PUT",
            &format!("/stores/{store}/bins/{bin}"),
            None,
        )
        .await?;
    }
    Ok((cloud, key))
}
