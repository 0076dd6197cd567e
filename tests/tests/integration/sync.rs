//! The store's app and the lottery cloud together, over loopback: the
//! store pulls the cloud's games and bins, pushes its packs and day closes
//! after each write and on demand, keeps selling while the cloud is down
//! and drains its queue in order once it is back, and dead-letters what the
//! cloud refuses for good while the rest goes on. Every wait is bounded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tombola_tests::app::{TestApp, send};
use tombola_tests::fault_proxy::FaultProxy;
use tombola_tests::lottery;
use tombola_tests::process::HostProcess;
use tombola_tests::redis_server::{Persistence, RedisServer};
use tombola_tests::store::{StoreApp, StoreClient, StoreProcess, TempDir};

const STORE: &str = "corner-7";

/// What a sync reports when another holds the lease.
const BUSY: &str = "another sync is running";

/// An operator's call to the cloud at `cloud`, which must succeed.
async fn admin(cloud: SocketAddr, method: &str, path: &str, body: Option<Value>) -> Value {
    lottery::admin(cloud, method, path, body).await.unwrap()
}

/// [`lottery::registered_cloud`] for `STORE`.
async fn registered_cloud(cloud_dir: &TempDir) -> (TestApp, String) {
    lottery::registered_cloud(cloud_dir, STORE).await.unwrap()
}

/// The store's app syncing with the cloud at `cloud_url` with `key`, its
/// wall clock `offset_seconds` off the true time.
async fn store_of(
    store_dir: &TempDir,
    cloud_url: &str,
    key: &str,
    offset_seconds: i64,
) -> StoreApp {
    StoreApp::start_skewed(
        store_dir.path(),
        &[
            ("cloud_url", cloud_url),
            ("store_id", STORE),
            ("cloud_api_key", key),
        ],
        offset_seconds,
    )
    .await
    .unwrap()
}

/// [`registered_cloud`] and the store's app configured with its key.
async fn pair(cloud_dir: &TempDir, store_dir: &TempDir) -> (TestApp, StoreApp) {
    let (cloud, key) = registered_cloud(cloud_dir).await;
    let store = store_of(store_dir, &format!("http://{}", cloud.addr), &key, 0).await;
    (cloud, store)
}

async fn ok(store: &StoreApp, method: &str, path: &str, body: Option<Value>) -> Value {
    let response = store.call(method, path, body).await.unwrap();
    assert!(
        response.status < 300,
        "{method} {path}: {} {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    response.json()
}

/// A sync of the test's own, once any sync a write started (after its
/// answer) has given the lease up.
async fn sync(store: &StoreApp) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = ok(store, "POST", "/sync", None).await;
        if answer["report"]["error"] != BUSY {
            return answer;
        }
        assert!(Instant::now() < deadline, "a sync held the lease: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The cloud's packs of the store, as `(game-number, status)`.
async fn cloud_packs(cloud: SocketAddr) -> Vec<(String, String)> {
    let packs = admin(cloud, "GET", &format!("/stores/{STORE}/packs"), None).await;
    packs["packs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!(
                    "{}-{}",
                    p["pack"]["game"].as_str().unwrap(),
                    p["pack"]["number"]
                ),
                p["pack"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The cloud's last mutation id for the store's one client.
async fn cloud_last_id(cloud: SocketAddr) -> Value {
    let shown = admin(cloud, "GET", &format!("/stores/{STORE}"), None).await;
    let clients = shown["clients"].as_object().unwrap();
    assert_eq!(clients.len(), 1, "{shown}");
    clients.values().next().unwrap().clone()
}

/// Syncs until the queue is empty and the pull went through (waiting out
/// the backoff), and answers the last sync's answer; fails after `limit`.
async fn drain(store: &impl StoreClient, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let response = store.call("POST", "/sync", None).await.unwrap();
        response.assert_status(200);
        let answer = response.json();
        if answer["status"]["pending"] == 0 && answer["report"]["error"].is_null() {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "the queue did not drain: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn entity<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entity"] == name)
        .unwrap()
}

/// The cloud's view of packs and the closes of `dates` is the store's, and
/// the store's view of games and bins is the cloud's. Answers how many packs were compared.
async fn assert_views_equal(cloud: SocketAddr, store: &StoreApp, dates: &[&str]) -> usize {
    // The cloud's view of packs and closes is the store's.
    let store_packs = ok(store, "GET", "/packs", None).await;
    let mut store_view: Vec<(String, String)> = store_packs["packs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!("{}-{}", p["game"].as_str().unwrap(), p["number"]),
                p["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    store_view.sort();
    let mut cloud_view = cloud_packs(cloud).await;
    cloud_view.sort();
    assert_eq!(cloud_view, store_view);
    let closes = admin(cloud, "GET", &format!("/stores/{STORE}/closes"), None).await;
    let closes = closes["closes"].as_array().unwrap();
    assert_eq!(closes.len(), dates.len());
    for (close, date) in closes.iter().zip(dates) {
        let day = ok(store, "GET", &format!("/days/{date}"), None).await;
        assert_eq!(close["date"], *date);
        assert_eq!(close["amount"], day["close"]["amount"], "{date}");
        assert_eq!(close["tickets"], day["close"]["tickets"], "{date}");
    }

    // The store's view of games and bins is the cloud's.
    let cloud_games = admin(cloud, "GET", "/games", None).await;
    let cloud_games: Vec<Value> = cloud_games["games"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["record"].clone())
        .collect();
    assert_eq!(
        ok(store, "GET", "/games", None).await["games"],
        json!(cloud_games)
    );
    let cloud_bins = admin(cloud, "GET", &format!("/stores/{STORE}/bins"), None).await;
    let cloud_bins: Vec<Value> = cloud_bins["bins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["record"]["removed"] == false)
        .map(|change| change["record"]["number"].clone())
        .collect();
    let store_bins = ok(store, "GET", "/bins", None).await;
    let store_bins: Vec<Value> = store_bins["bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bin"].clone())
        .collect();
    assert_eq!(store_bins, cloud_bins);
    store_view.len()
}

/// Day `day` at the store, on `date`: opened, pack `100 + day` received
/// and activated into bin 1 (settling the day before's), and closed with
/// its next ticket at `next`.
async fn store_day(store: &StoreApp, day: usize, date: &str, next: usize) {
    ok(store, "POST", "/days", Some(json!({"date": date}))).await;
    let number = 100 + day as u32;
    ok(
        store,
        "POST",
        "/packs",
        Some(json!({"game": "050", "number": number})),
    )
    .await;
    let activate = if day == 0 {
        json!({"bin": 1})
    } else {
        json!({"bin": 1, "displace": {"pack": {"game": "050", "number": number - 1}, "action": "settle"}})
    };
    ok(
        store,
        "POST",
        &format!("/packs/050/{number}/activate"),
        Some(activate),
    )
    .await;
    let counts =
        json!({"counts": [{"pack": {"game": "050", "number": number}, "reading": {"next": next}}]});
    ok(
        store,
        "POST",
        &format!("/days/{date}/prepare"),
        Some(counts),
    )
    .await;
    ok(store, "POST", &format!("/days/{date}/commit"), None).await;
}

#[tokio::test]
async fn the_store_takes_the_clouds_games_and_bins_and_its_packs_go_up() {
    let (cloud_dir, store_dir) = (
        TempDir::new("sync-cloud").unwrap(),
        TempDir::new("sync-store").unwrap(),
    );
    let (cloud, store) = pair(&cloud_dir, &store_dir).await;
    let first = sync(&store).await;
    assert_eq!(first["report"]["games"], 1);
    assert_eq!(first["report"]["bins"], 2);
    assert_eq!(entity(&first["status"], "games")["cookie"], "1");
    let games = ok(&store, "GET", "/games", None).await;
    assert_eq!(games["games"][0]["code"], "050");
    let bins = ok(&store, "GET", "/bins", None).await;
    assert_eq!(bins["bins"].as_array().unwrap().len(), 2);

    // A write is pushed once it is answered, without a sync call.
    ok(&store, "POST", "/days", Some(json!({"date": "2025-06-02"}))).await;
    ok(
        &store,
        "POST",
        "/packs",
        Some(json!({"game": "050", "number": 100})),
    )
    .await;
    ok(
        &store,
        "POST",
        "/packs/050/100/activate",
        Some(json!({"bin": 1})),
    )
    .await;
    until(
        Duration::from_secs(10),
        "the activation did not reach the cloud",
        async || cloud_packs(cloud.addr).await == [("050-100".to_owned(), "ACTIVE".to_owned())],
    )
    .await;
    // Its pull, after the push, is done too.
    until(
        Duration::from_secs(10),
        "the write's sync went on",
        async || ok(&store, "GET", "/sync", None).await["syncing"] == false,
    )
    .await;

    // The cloud retires the game and removes a bin: the store follows.
    admin(cloud.addr, "POST", "/games/050/retire", None).await;
    admin(
        cloud.addr,
        "DELETE",
        &format!("/stores/{STORE}/bins/2"),
        None,
    )
    .await;
    let again = sync(&store).await;
    assert_eq!(
        (
            again["report"]["games"].clone(),
            again["report"]["bins"].clone()
        ),
        (json!(1), json!(1))
    );
    let games = ok(&store, "GET", "/games", None).await;
    assert_eq!(games["games"][0]["status"], "INACTIVE");
    let bins = ok(&store, "GET", "/bins", None).await;
    let numbers: Vec<&Value> = bins["bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["bin"])
        .collect();
    assert_eq!(numbers, [&json!(1)]);
    let status = ok(&store, "GET", "/sync", None).await;
    assert_eq!(status["pending"], 0);
    assert_eq!(entity(&status, "push")["cookie"], "2");
    assert_eq!(entity(&status, "push")["status"], "ok");
}

#[tokio::test]
async fn the_store_keeps_selling_while_the_cloud_is_down_and_drains_in_order() {
    let (cloud_dir, store_dir) = (
        TempDir::new("down-cloud").unwrap(),
        TempDir::new("down-store").unwrap(),
    );
    let (mut cloud, store) = pair(&cloud_dir, &store_dir).await;
    sync(&store).await;
    ok(&store, "POST", "/days", Some(json!({"date": "2025-06-02"}))).await;
    cloud.redis.stop();
    let started = Instant::now();
    for number in [1, 2, 3] {
        ok(
            &store,
            "POST",
            "/packs",
            Some(json!({"game": "050", "number": number})),
        )
        .await;
    }
    ok(
        &store,
        "POST",
        "/packs/050/2/activate",
        Some(json!({"bin": 2})),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "writes waited on the cloud"
    );
    let down = sync(&store).await;
    assert_eq!(down["report"]["pushed"], 0);
    assert_eq!(down["status"]["pending"], 4);
    assert_eq!(entity(&down["status"], "push")["status"], "error");

    cloud.redis.start_again().unwrap();
    // The queue waits out its backoff (at most a few seconds here), then
    // drains in order.
    drain(&store, Duration::from_secs(20)).await;
    assert_eq!(
        cloud_packs(cloud.addr).await,
        [
            ("050-1".to_owned(), "RECEIVED".to_owned()),
            ("050-2".to_owned(), "ACTIVE".to_owned()),
            ("050-3".to_owned(), "RECEIVED".to_owned()),
        ]
    );
    assert_eq!(cloud_last_id(cloud.addr).await, json!(4));
}

#[tokio::test]
async fn a_mutation_the_cloud_refuses_is_dead_lettered_and_the_rest_go_on() {
    let (cloud_dir, store_dir) = (
        TempDir::new("dead-cloud").unwrap(),
        TempDir::new("dead-store").unwrap(),
    );
    let (cloud, store) = pair(&cloud_dir, &store_dir).await;
    sync(&store).await;
    // A game the cloud never defined, put at the store by hand.
    ok(
        &store,
        "PUT",
        "/games/099",
        Some(json!({"name": "Local", "price": 100, "pack_value": 1000,
                    "tickets_per_pack": 10, "numbering": "ascending"})),
    )
    .await;
    ok(
        &store,
        "POST",
        "/packs",
        Some(json!({"game": "099", "number": 1})),
    )
    .await;
    ok(
        &store,
        "POST",
        "/packs",
        Some(json!({"game": "050", "number": 7})),
    )
    .await;
    let status = sync(&store).await["status"].clone();
    assert_eq!(status["pending"], 0);
    assert_eq!(
        status["dead"],
        json!([{"row": 1, "name": "receivePack", "reason": "game 099 is unknown to the cloud"}])
    );
    assert_eq!(
        cloud_packs(cloud.addr).await,
        [("050-7".to_owned(), "RECEIVED".to_owned())]
    );
    assert_eq!(cloud_last_id(cloud.addr).await, json!(2));
}

#[tokio::test]
async fn without_an_id_and_key_the_sync_is_off() {
    let dir = TempDir::new("sync-off").unwrap();
    let store = StoreApp::start(dir.path()).await.unwrap();
    let response = store.call("POST", "/sync", None).await.unwrap();
    response.assert_status(409);
    assert_eq!(
        response.json()["type"],
        "https://tombola.dev/problems/sync-off"
    );
    ok(&store, "POST", "/bins", Some(json!({"count": 1}))).await;
    let status = ok(&store, "GET", "/sync", None).await;
    assert_eq!(status["pending"], 1);
    assert_eq!(entity(&status, "push")["status"], "never");
}

#[tokio::test]
async fn a_store_host_killed_between_a_write_and_its_push_pushes_it_once_after_restart() {
    let (cloud_dir, store_dir) = (
        TempDir::new("kill-cloud").unwrap(),
        TempDir::new("kill-store").unwrap(),
    );
    let mut cloud = lottery::cloud(&cloud_dir).await.unwrap();
    let key = lottery::register(cloud.addr, STORE).await.unwrap();
    let variables = [
        ("SPIN_VARIABLE_CLOUD_URL", format!("http://{}", cloud.addr)),
        ("SPIN_VARIABLE_STORE_ID", STORE.to_owned()),
        ("SPIN_VARIABLE_CLOUD_API_KEY", key),
    ];
    let mut store = StoreProcess::start_with(
        env!("CARGO_BIN_EXE_tombola-host").as_ref(),
        store_dir.path(),
        None,
        &variables,
    )
    .await
    .unwrap();
    let response = store.call("POST", "/sync", None).await.unwrap();
    response.assert_status(200);

    // The write commits while the cloud cannot take its push; then the
    // store's host dies before any other push.
    cloud.redis.stop();
    let response = store
        .call("POST", "/packs", Some(json!({"game": "050", "number": 9})))
        .await
        .unwrap();
    response.assert_status(201);
    store.kill();
    cloud.redis.start_again().unwrap();
    store.start_again().await.unwrap();

    drain(&store, Duration::from_secs(20)).await;
    assert_eq!(
        cloud_packs(cloud.addr).await,
        [("050-9".to_owned(), "RECEIVED".to_owned())]
    );
    assert_eq!(cloud_last_id(cloud.addr).await, json!(1));
}

/// A week at the store while the cloud goes down on Tuesday and comes
/// back on Thursday: every day's packs and close reach the cloud in order,
/// nothing lost or doubled, and the cloud's games and bins reach the store.
#[tokio::test]
async fn a_week_with_the_cloud_up_and_down_ends_with_both_views_equal() {
    let (cloud_dir, store_dir) = (
        TempDir::new("week-cloud").unwrap(),
        TempDir::new("week-store").unwrap(),
    );
    let (mut cloud, store) = pair(&cloud_dir, &store_dir).await;
    sync(&store).await;
    let dates = [
        "2025-06-02",
        "2025-06-03",
        "2025-06-04",
        "2025-06-05",
        "2025-06-06",
    ];
    for (day, date) in dates.iter().enumerate() {
        match day {
            1 => cloud.redis.stop(),
            3 => cloud.redis.start_again().unwrap(),
            _ => {}
        }
        store_day(&store, day, date, 5 + day).await;
        if day == 3 {
            admin(cloud.addr, "PUT", &format!("/stores/{STORE}/bins/3"), None).await;
        }
    }
    drain(&store, Duration::from_secs(30)).await;

    assert_eq!(assert_views_equal(cloud.addr, &store, &dates).await, 5);
    // 5 receptions, 5 activations (4 with a settle), 5 closes.
    assert_eq!(cloud_last_id(cloud.addr).await, json!(15));
}

/// The cloud's host is killed with SIGKILL while a push of a backlog is in
/// flight, then started again: the backlog drains with every mutation
/// applied exactly once (the cloud's last id is the number of mutations).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cloud_killed_mid_push_loses_and_doubles_nothing() {
    const PACKS: u32 = 400;
    let (redis_dir, store_dir) = (
        TempDir::new("sigkill-redis").unwrap(),
        TempDir::new("sigkill-store").unwrap(),
    );
    let redis = RedisServer::start_with(
        Persistence::AppendOnlyFsyncAlways(redis_dir.path().to_owned()),
        None,
    )
    .unwrap();
    let binary: &std::path::Path = env!("CARGO_BIN_EXE_tombola-host").as_ref();
    let mut cloud = HostProcess::start(binary, &redis).await.unwrap();
    let key = lottery::register(cloud.addr(), STORE).await.unwrap();
    let url = format!("http://{}", cloud.addr());
    let store = StoreApp::start_with(
        store_dir.path(),
        &[
            ("cloud_url", &url),
            ("store_id", STORE),
            ("cloud_api_key", &key),
        ],
    )
    .await
    .unwrap();
    sync(&store).await;

    // A backlog builds while the cloud is away.
    cloud.kill();
    for number in 1..=PACKS {
        ok(
            &store,
            "POST",
            "/packs",
            Some(json!({"game": "050", "number": number})),
        )
        .await;
    }
    cloud.start_again().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // The push goes; the cloud dies under it.
    let addr = store.addr;
    let pushing = tokio::spawn(async move {
        let auth = format!("Bearer {}", tombola_tests::store::STORE_TOKEN);
        send(
            addr,
            "POST",
            "/api/v1/lottery/sync",
            &[("authorization", &auth)],
            Default::default(),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    cloud.kill();
    let answered = tokio::time::timeout(Duration::from_secs(30), pushing)
        .await
        .expect("the sync ends without the cloud")
        .unwrap()
        .unwrap();
    answered.assert_status(200);
    cloud.start_again().await.unwrap();

    let answer = drain(&store, Duration::from_secs(30)).await;
    assert_eq!(answer["status"]["dead"], json!([]));
    assert_eq!(cloud_packs(cloud.addr()).await.len(), PACKS as usize);
    assert_eq!(cloud_last_id(cloud.addr()).await, json!(PACKS));
}

/// Two days at a store whose clock is `offset_seconds` off the cloud's,
/// with the cloud changing a game and a bin in between: every push and
/// pull completes and both views end equal.
async fn a_store_with_its_clock_off_syncs_whole(name: &str, offset_seconds: i64) {
    let (cloud_dir, store_dir) = (
        TempDir::new(&format!("{name}-cloud")).unwrap(),
        TempDir::new(&format!("{name}-store")).unwrap(),
    );
    let (cloud, key) = registered_cloud(&cloud_dir).await;
    let store = store_of(
        &store_dir,
        &format!("http://{}", cloud.addr),
        &key,
        offset_seconds,
    )
    .await;
    sync(&store).await;
    let dates = ["2025-06-02", "2025-06-03"];
    for (day, date) in dates.iter().enumerate() {
        store_day(&store, day, date, 3).await;
        // The cloud's changes are stamped by its own clock, hours from the
        // store's: the pull finds them by revision all the same.
        admin(
            cloud.addr,
            "PUT",
            "/games/050",
            Some(
                json!({"name": format!("Cash Blast {day}"), "price": 500, "pack_value": 15000,
                        "tickets_per_pack": 30, "numbering": "ascending"}),
            ),
        )
        .await;
        admin(
            cloud.addr,
            "PUT",
            &format!("/stores/{STORE}/bins/{}", 3 + day),
            None,
        )
        .await;
    }
    let answer = drain(&store, Duration::from_secs(20)).await;
    assert_eq!(answer["status"]["dead"], json!([]), "{answer}");
    // The store stamped its syncs by its own clock, hours off.
    let true_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let stamped = entity(&answer["status"], "push")["last_synced_at"]
        .as_i64()
        .unwrap();
    let skew = stamped - true_now;
    assert!(
        (skew - offset_seconds * 1000).abs() < 60_000,
        "the store's clock is {skew} ms off, not {offset_seconds} s"
    );
    assert_eq!(assert_views_equal(cloud.addr, &store, &dates).await, 2);
    // 2 receptions, 2 activations, 2 closes, each applied once.
    assert_eq!(cloud_last_id(cloud.addr).await, json!(6));
    let games = ok(&store, "GET", "/games", None).await;
    assert_eq!(games["games"][0]["name"], "Cash Blast 1");
    let bins = ok(&store, "GET", "/bins", None).await;
    assert_eq!(bins["bins"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_store_six_hours_ahead_of_the_cloud_loses_nothing() {
    a_store_with_its_clock_off_syncs_whole("ahead", 6 * 3600).await;
}

#[tokio::test]
async fn a_store_six_hours_behind_the_cloud_loses_nothing() {
    a_store_with_its_clock_off_syncs_whole("behind", -6 * 3600).await;
}

/// Waits until `done` holds, polling; fails after `limit` with `what`.
async fn until(limit: Duration, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The cloud takes a push and its answer is lost on the way back: the
/// store cannot tell, keeps the mutation, and sends it again; the cloud
/// acknowledges the second delivery with no effect.
#[tokio::test]
async fn a_push_whose_answer_is_lost_is_sent_again_and_applied_once() {
    let (cloud_dir, store_dir) = (
        TempDir::new("lost-cloud").unwrap(),
        TempDir::new("lost-store").unwrap(),
    );
    let (cloud, key) = registered_cloud(&cloud_dir).await;
    let proxy = FaultProxy::start(cloud.addr).await.unwrap();
    let store = store_of(&store_dir, &format!("http://{}", proxy.addr()), &key, 0).await;
    sync(&store).await;
    let date = "2025-06-02";
    ok(&store, "POST", "/days", Some(json!({"date": date}))).await;

    proxy.drop_next_reply();
    ok(
        &store,
        "POST",
        "/packs",
        Some(json!({"game": "050", "number": 100})),
    )
    .await;
    until(
        Duration::from_secs(10),
        "no reply was dropped",
        async || proxy.dropped() == 1,
    )
    .await;
    // The cloud has the pack; the store still holds the mutation.
    assert_eq!(
        cloud_packs(cloud.addr).await,
        [("050-100".to_owned(), "RECEIVED".to_owned())]
    );
    assert_eq!(cloud_last_id(cloud.addr).await, json!(1));
    let status = ok(&store, "GET", "/sync", None).await;
    assert_eq!(status["pending"], 1, "{status}");

    let answer = drain(&store, Duration::from_secs(20)).await;
    assert_eq!(answer["status"]["dead"], json!([]), "{answer}");
    assert_eq!(cloud_last_id(cloud.addr).await, json!(1));

    // The queue goes on from there.
    ok(
        &store,
        "POST",
        "/packs/050/100/activate",
        Some(json!({"bin": 1})),
    )
    .await;
    let counts =
        json!({"counts": [{"pack": {"game": "050", "number": 100}, "reading": {"next": 4}}]});
    ok(
        &store,
        "POST",
        &format!("/days/{date}/prepare"),
        Some(counts),
    )
    .await;
    ok(&store, "POST", &format!("/days/{date}/commit"), None).await;
    drain(&store, Duration::from_secs(20)).await;
    assert_eq!(assert_views_equal(cloud.addr, &store, &[date]).await, 1);
    assert_eq!(cloud_last_id(cloud.addr).await, json!(3));
    assert_eq!(proxy.dropped(), 1);
}

/// A cloud that takes the connection and never answers, with the write's
/// sync allowed a minute per request: the write is answered all the same,
/// and the status says a sync runs; once the hung connection is let go,
/// the queue drains.
#[tokio::test]
async fn a_hung_cloud_does_not_hold_a_writes_answer() {
    let (cloud_dir, store_dir) = (
        TempDir::new("hung-cloud").unwrap(),
        TempDir::new("hung-store").unwrap(),
    );
    let (cloud, key) = registered_cloud(&cloud_dir).await;
    let proxy = FaultProxy::start(cloud.addr).await.unwrap();
    let store = StoreApp::start_with(
        store_dir.path(),
        &[
            ("cloud_url", &format!("http://{}", proxy.addr())),
            ("store_id", STORE),
            ("cloud_api_key", &key),
            ("sync_after_write_ms", "60000"),
        ],
    )
    .await
    .unwrap();
    sync(&store).await;

    proxy.hang(true);
    let write = ok(
        &store,
        "POST",
        "/packs",
        Some(json!({"game": "050", "number": 100})),
    );
    tokio::time::timeout(Duration::from_secs(20), write)
        .await
        .expect("the write waited on the cloud");
    // Its sync reached the cloud, which never answered.
    until(
        Duration::from_secs(10),
        "the write's sync did not reach the cloud",
        async || proxy.hung() == 1,
    )
    .await;
    let status = ok(&store, "GET", "/sync", None).await;
    assert_eq!(
        (&status["pending"], &status["syncing"]),
        (&json!(1), &json!(true))
    );

    proxy.hang(false);
    proxy.let_hung_go();
    drain(&store, Duration::from_secs(20)).await;
    assert_eq!(
        cloud_packs(cloud.addr).await,
        [("050-100".to_owned(), "RECEIVED".to_owned())]
    );
    assert_eq!(cloud_last_id(cloud.addr).await, json!(1));
    assert_eq!(ok(&store, "GET", "/sync", None).await["syncing"], false);
}

/// Writes and syncs at once, as several clerks, the page and the timer
/// make them: one sync runs at a time, and every pack reaches the cloud
/// once under its own mutation id.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn syncs_at_once_lose_and_double_nothing() {
    const PACKS: u32 = 40;
    let (cloud_dir, store_dir) = (
        TempDir::new("once-cloud").unwrap(),
        TempDir::new("once-store").unwrap(),
    );
    let (cloud, store) = pair(&cloud_dir, &store_dir).await;
    sync(&store).await;
    ok(&store, "POST", "/days", Some(json!({"date": "2025-06-02"}))).await;
    let store = std::sync::Arc::new(store);
    let mut tasks = Vec::new();
    for number in 0..PACKS {
        let clerk = store.clone();
        tasks.push(tokio::spawn(async move {
            ok(
                &clerk,
                "POST",
                "/packs",
                Some(json!({"game": "050", "number": number})),
            )
            .await;
        }));
        let timer = store.clone();
        tasks.push(tokio::spawn(async move {
            timer
                .call("POST", "/sync", None)
                .await
                .unwrap()
                .assert_status(200);
        }));
    }
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("a write or a sync never answered")
            .unwrap();
    }
    let answer = drain(&*store, Duration::from_secs(30)).await;
    assert_eq!(answer["status"]["dead"], json!([]), "{answer}");
    assert_eq!(
        assert_views_equal(cloud.addr, &store, &[]).await,
        PACKS as usize
    );
    assert_eq!(cloud_last_id(cloud.addr).await, json!(PACKS));
}
