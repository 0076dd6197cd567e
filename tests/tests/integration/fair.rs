//! Rules 2 through the compiled draw component: a pool that commits to its
//! server seed, draws with and without a client seed, rotations by the
//! operator and every N draws, the fairness listing, a draw's proof and the
//! exported log recomputed by the offline verifier, a clean audit, and no
//! answer that carries a server seed before its reveal.

use serde_json::{Value, json};
use tombola_core::pool::{PoolId, keys};
use tombola_tests::app::{TestApp, TestResponse};
use tombola_verify::{Kind, report, verify};

// Every answer's body, to check that none holds a seed before its reveal.
struct Answers(Vec<String>);

impl Answers {
    fn keep(&mut self, response: TestResponse, status: u16) -> Value {
        response.assert_status(status);
        self.0
            .push(String::from_utf8_lossy(&response.body).into_owned());
        response.json()
    }

    fn assert_never_told(&self, secret: &str) {
        for body in &self.0 {
            assert!(!body.contains(secret), "an answer holds the secret: {body}");
        }
    }
}

async fn secret(app: &TestApp, pool: &str) -> String {
    let mut redis = app.redis_connection(0).await.unwrap();
    redis::cmd("HGET")
        .arg(keys::fair(&PoolId::new(pool).unwrap()))
        .arg(keys::FAIR_SEED)
        .query_async(&mut redis)
        .await
        .unwrap()
}

async fn draw(app: &TestApp, answers: &mut Answers, body: Value) -> Value {
    let response = app.post_json("/v1/pools/f/draws", &body).await.unwrap();
    answers.keep(response, 200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rules_2_pool_is_verified_by_its_players() {
    let app = TestApp::start().await.unwrap();
    let mut answers = Answers(Vec::new());
    let created = app
        .create_pool(
            &json!({"id": "f", "name": "Fair", "mode": "stock", "rules": 2,
            "rotate_every": 3,
            "items": [{"id": "gold", "stock": 5}, {"id": "none", "weight": 10, "stock": null}]}),
        )
        .await;
    answers.0.push(created.to_string());
    assert_eq!(created["rules"], 2);
    assert_eq!(created["seq"], 2, "CREATE and COMMIT");
    let first_commitment = created["fairness"]["commitment"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created["fairness"]["nonce"], 0);
    assert_eq!(created["fairness"]["rotate_every"], 3);
    let first_secret = secret(&app, "f").await;

    // With the player's client seed, then without: the server picks one.
    let mine = draw(
        &app,
        &mut answers,
        json!({"request_id": "r1", "count": 2, "client_seed": "lucky-7"}),
    )
    .await;
    assert_eq!(mine["fairness"]["client_seed"], "lucky-7");
    assert_eq!(mine["fairness"]["nonce"], 0);
    assert_eq!(mine["fairness"]["commitment"], first_commitment.as_str());
    let picked = draw(&app, &mut answers, json!({"request_id": "r2"})).await;
    let picked_seed = picked["fairness"]["client_seed"].as_str().unwrap();
    assert_eq!(picked_seed.len(), 16, "{picked}");
    assert_eq!(picked["fairness"]["nonce"], 1);
    draw(
        &app,
        &mut answers,
        json!({"request_id": "r3", "client_seed": "x"}),
    )
    .await;

    // The pool shows the commitment and nonce, never the seed.
    let shown = answers.keep(app.get("/v1/pools/f").await.unwrap(), 200);
    assert_eq!(shown["fairness"]["nonce"], 3);
    answers.assert_never_told(&first_secret);

    // The fourth draw reaches the interval: the seed rotates first.
    let rotated = draw(
        &app,
        &mut answers,
        json!({"request_id": "r4", "client_seed": "lucky-7"}),
    )
    .await;
    assert_eq!(rotated["fairness"]["nonce"], 0);
    let second_commitment = rotated["fairness"]["commitment"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second_commitment, first_commitment);
    let second_secret = secret(&app, "f").await;
    answers.assert_never_told(&second_secret);

    // The operator rotates: the second seed is revealed and a third
    // committed; a draw under the third stays unverifiable until revealed.
    let rotation = app
        .admin_post("/v1/pools/f/rotate", &json!({}))
        .await
        .unwrap();
    let rotation = answers.keep(rotation, 200);
    assert_eq!(rotation["revealed"]["server_seed"], second_secret.as_str());
    assert_eq!(
        rotation["revealed"]["commitment"],
        second_commitment.as_str()
    );
    draw(
        &app,
        &mut answers,
        json!({"request_id": "r5", "client_seed": "late"}),
    )
    .await;
    let third_secret = secret(&app, "f").await;

    let listing = answers.keep(app.get("/v1/pools/f/fairness").await.unwrap(), 200);
    let seeds = listing["seeds"].as_array().unwrap();
    assert_eq!(seeds.len(), 3, "{listing}");
    assert_eq!(seeds[0]["commitment"], first_commitment.as_str());
    assert_eq!(seeds[0]["committed_at"], 2);
    assert_eq!(seeds[0]["server_seed"], first_secret.as_str());
    assert_eq!(seeds[1]["server_seed"], second_secret.as_str());
    assert!(seeds[2].get("server_seed").is_none(), "{listing}");
    assert_eq!(listing["current"]["nonce"], 1);

    // A player checks their draw from its proof, offline.
    let proof = app.get("/v1/pools/f/draws/r1/proof").await.unwrap();
    let proof_text = String::from_utf8_lossy(&proof.body).into_owned();
    let proof = answers.keep(proof, 200);
    assert_eq!(proof["server_seed"], first_secret.as_str());
    let verdict = verify(Kind::Draw, &proof_text).unwrap();
    assert!(
        verdict.is_clean() && verdict.verified == 1,
        "{}",
        report(&verdict)
    );
    // Tampering with the client seed is caught.
    let forged = proof_text.replace("lucky-7", "lucky-8");
    let verdict = verify(Kind::Draw, &forged).unwrap();
    assert_eq!(verdict.findings.len(), 1, "{}", report(&verdict));

    let pending = app.get("/v1/pools/f/draws/r5/proof").await.unwrap();
    let pending_text = String::from_utf8_lossy(&pending.body).into_owned();
    let pending = answers.keep(pending, 200);
    assert_eq!(pending["server_seed"], Value::Null);
    let verdict = verify(Kind::Draw, &pending_text).unwrap();
    assert!(
        verdict.is_clean() && verdict.pending == 1,
        "{}",
        report(&verdict)
    );

    // The whole log, recomputed: everything under revealed seeds matches.
    let log = app.get("/v1/pools/f/log?limit=1000").await.unwrap();
    let log_text = String::from_utf8_lossy(&log.body).into_owned();
    answers.keep(log, 200);
    let verdict = verify(Kind::Log, &log_text).unwrap();
    assert!(verdict.is_clean(), "{}", report(&verdict));
    assert_eq!(
        (verdict.verified, verdict.pending),
        (4, 1),
        "{}",
        report(&verdict)
    );

    let audit = answers.keep(app.admin_get("/v1/pools/f/audit").await.unwrap(), 200);
    assert_eq!(audit["mismatches"], json!([]), "{audit}");
    assert_eq!(audit["conserved"], true, "{audit}");

    answers.assert_never_told(&third_secret);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_each_rules_version_refuses() {
    let app = TestApp::start().await.unwrap();
    app.create_pool(&json!({"id": "p", "name": "P", "mode": "stock",
        "items": [{"id": "a", "stock": 3}]}))
        .await;
    let refused = app
        .post_json(
            "/v1/pools/p/draws",
            &json!({"request_id": "r1", "client_seed": "mine"}),
        )
        .await
        .unwrap();
    refused.assert_status(409);
    assert_eq!(
        refused.json()["type"],
        "https://tombola.dev/problems/pool-not-fair"
    );
    app.admin_post("/v1/pools/p/rotate", &json!({}))
        .await
        .unwrap()
        .assert_status(409);
    app.get("/v1/pools/p/fairness")
        .await
        .unwrap()
        .assert_status(409);
    // A draw of rules 1 has no proof.
    app.post_json("/v1/pools/p/draws", &json!({"request_id": "r2"}))
        .await
        .unwrap()
        .assert_status(200);
    app.get("/v1/pools/p/draws/r2/proof")
        .await
        .unwrap()
        .assert_status(409);
    app.get("/v1/pools/p/draws/nope/proof")
        .await
        .unwrap()
        .assert_status(404);
    let bad = app
        .admin_post(
            "/v1/pools",
            &json!({"id": "q", "name": "Q", "mode": "stock",
            "rotate_every": 5, "items": [{"id": "a", "stock": 3}]}),
        )
        .await
        .unwrap();
    bad.assert_status(400);
    assert_eq!(bad.json()["field"], "rotate_every");
}
