//! Rules 2 through the compiled draw component: a pool that commits to its
//! server seed, draws with and without a client seed, rotations by the
//! operator and every N draws, the fairness listing, a draw's proof and the
//! exported log recomputed by the offline verifier, a clean audit, and no
//! answer that carries a server seed before its reveal; multi-draws whose
//! chunks take nonces between draws, through resume, a rotation and a
//! rollback, verified offline too.

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

    // Retries are answered from their records with the same receipt,
    // whatever client seed they name.
    for (first, retry) in [
        (
            &mine,
            json!({"request_id": "r1", "count": 2, "client_seed": "other"}),
        ),
        (&picked, json!({"request_id": "r2"})),
    ] {
        let again = draw(&app, &mut answers, retry).await;
        assert_eq!(again["replay"], true, "{again}");
        assert_eq!(again["fairness"], first["fairness"], "{again}");
        assert_eq!(again["drawn"], first["drawn"]);
    }

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
    app.admin_post("/v1/pools/f/rotate", &json!({}))
        .await
        .unwrap()
        .assert_status(400);
    let rotate = json!({"request_id": "rotate-1"});
    let rotation = app.admin_post("/v1/pools/f/rotate", &rotate).await.unwrap();
    let rotation = answers.keep(rotation, 200);
    assert_eq!(rotation["revealed"]["server_seed"], second_secret.as_str());
    assert_eq!(
        rotation["revealed"]["commitment"],
        second_commitment.as_str()
    );
    assert_eq!(rotation["replay"], false);
    let third_secret = secret(&app, "f").await;
    // A retry is answered from its record and never rotates again.
    let retried = app.admin_post("/v1/pools/f/rotate", &rotate).await.unwrap();
    let retried = answers.keep(retried, 200);
    assert_eq!(retried["replay"], true);
    for field in ["seq", "revealed", "commitment", "request_id"] {
        assert_eq!(retried[field], rotation[field], "{field}: {retried}");
    }
    assert_eq!(secret(&app, "f").await, third_secret, "rotated once");
    // Retried after its seed was revealed, a draw still names the
    // commitment it drew under.
    let again = draw(&app, &mut answers, json!({"request_id": "r1", "count": 2})).await;
    assert_eq!(again["fairness"], mine["fairness"], "{again}");
    // The id is spent for other requests.
    let reused = app
        .post_json("/v1/pools/f/draws", &json!({"request_id": "rotate-1"}))
        .await
        .unwrap();
    reused.assert_status(409);
    assert_eq!(
        reused.json()["type"],
        "https://tombola.dev/problems/request-id-reused"
    );
    draw(
        &app,
        &mut answers,
        json!({"request_id": "r5", "client_seed": "late"}),
    )
    .await;

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
    // Tampering with the client seed is caught, naming the draw, unless the
    // forged seed happens to draw the same items: of twenty, some do not.
    let caught: Vec<Vec<u64>> = (0..20)
        .map(|n| proof_text.replace("lucky-7", &format!("forged-{n}")))
        .map(|forged| verify(Kind::Draw, &forged).unwrap())
        .filter(|verdict| !verdict.is_clean())
        .map(|verdict| verdict.findings.iter().map(|f| f.seq).collect())
        .collect();
    assert!(!caught.is_empty(), "no forged client seed was caught");
    let seq = proof["seq"].as_u64().unwrap();
    assert!(caught.iter().all(|seqs| seqs == &[seq]), "{caught:?}");

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

async fn run_operation(app: &TestApp, answers: &mut Answers, body: &Value, status: u16) -> Value {
    let response = app.post_json("/v1/pools/f/operations", body).await.unwrap();
    answers.keep(response, status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rules_2_multi_draw_resumes_rolls_back_and_is_verified() {
    let app = TestApp::start_with_variables(&[("chunks_per_call", "2")])
        .await
        .unwrap();
    let mut answers = Answers(Vec::new());
    let created = app
        .create_pool(
            &json!({"id": "f", "name": "Fair", "mode": "stock", "rules": 2,
            "rotate_every": 4,
            "items": [{"id": "gold", "stock": 10}, {"id": "none", "weight": 3, "stock": null}]}),
        )
        .await;
    answers.0.push(created.to_string());
    let first_secret = secret(&app, "f").await;
    draw(&app, &mut answers, json!({"request_id": "r1"})).await;

    // Two chunks per call: nonces 1 and 2, then 3 and, past the interval,
    // 0 under the next seed; a draw in between takes 1, the last chunk 2.
    let ask =
        json!({"operation_id": "op-1", "count": 9, "chunk_size": 2, "client_seed": "lucky-7"});
    let first = run_operation(&app, &mut answers, &ask, 202).await;
    assert_eq!(first["completed"], 4, "{first}");
    let second = run_operation(&app, &mut answers, &ask, 202).await;
    assert_eq!(second["completed"], 8, "{second}");
    let second_secret = secret(&app, "f").await;
    assert_ne!(first_secret, second_secret, "the interval rotated the seed");
    draw(&app, &mut answers, json!({"request_id": "r2"})).await;
    let done = run_operation(&app, &mut answers, &ask, 200).await;
    answers.assert_never_told(&second_secret);
    assert_eq!(
        (done["status"].as_str(), done["completed"].as_u64()),
        (Some("completed"), Some(9))
    );

    // Another operation stops after its first call and is rolled back:
    // what its chunks drew goes back, and it cannot resume.
    let other = json!({"operation_id": "op-2", "count": 6, "chunk_size": 2});
    run_operation(&app, &mut answers, &other, 202).await;
    let rolled = app
        .post_json("/v1/pools/f/operations/op-2/rollback", &json!({}))
        .await
        .unwrap();
    let rolled = answers.keep(rolled, 200);
    assert_eq!(rolled["outcome"]["kind"], "return", "{rolled}");
    run_operation(&app, &mut answers, &other, 409).await;

    let log = app.get("/v1/pools/f/log?limit=1000").await.unwrap();
    let log_text = String::from_utf8_lossy(&log.body).into_owned();
    let log = answers.keep(log, 200);
    let lines: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["line"].as_str().unwrap())
        .collect();
    let nonces: Vec<(&str, &str)> = lines
        .iter()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            match fields[0] {
                "DRAW/2" => Some((fields[1], fields[4])),
                "CHUNK/2" => Some((fields[1], fields[5])),
                _ => None,
            }
        })
        .collect();
    assert_eq!(
        nonces,
        [
            ("r1", "0"),
            ("op-1", "1"),
            ("op-1", "2"),
            ("op-1", "3"),
            ("op-1", "0"),
            ("r2", "1"),
            ("op-1", "2"),
            ("op-2", "3"),
            ("op-2", "0"),
        ],
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("CHUNK/2 op-1 0 2 lucky-7 1 "))
    );
    // Past the interval again, op-2's second chunk rotated: the second seed
    // is revealed in the log, the third is not.
    let third_secret = secret(&app, "f").await;
    assert!(log_text.contains(&second_secret));
    answers.assert_never_told(&third_secret);

    // Revealed, every draw and chunk recomputes; a chunk's proof is under
    // its request id.
    let rotation = app
        .admin_post("/v1/pools/f/rotate", &json!({"request_id": "rotate-1"}))
        .await
        .unwrap();
    answers.keep(rotation, 200);
    let log = app.get("/v1/pools/f/log?limit=1000").await.unwrap();
    let verdict = verify(Kind::Log, &String::from_utf8_lossy(&log.body)).unwrap();
    assert!(verdict.is_clean(), "{}", report(&verdict));
    assert_eq!(
        (verdict.verified, verdict.pending),
        (9, 0),
        "{}",
        report(&verdict)
    );
    assert_ne!(
        log_text,
        String::from_utf8_lossy(&log.body),
        "a ROTATE more"
    );
    for chunk in ["op-1%230", "op-1%233", "op-2%231"] {
        let proof = app
            .get(&format!("/v1/pools/f/draws/{chunk}/proof"))
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&proof.body).into_owned();
        let proof = answers.keep(proof, 200);
        assert!(
            proof["line"].as_str().unwrap().starts_with("CHUNK/2 "),
            "{proof}"
        );
        let verdict = verify(Kind::Draw, &text).unwrap();
        assert!(
            verdict.is_clean() && verdict.verified == 1,
            "{chunk}: {}",
            report(&verdict)
        );
    }

    let audit = answers.keep(app.admin_get("/v1/pools/f/audit").await.unwrap(), 200);
    assert_eq!(audit["mismatches"], json!([]), "{audit}");
    assert_eq!(audit["conserved"], true, "{audit}");
    answers.assert_never_told(&secret(&app, "f").await);
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
    let refused = app
        .post_json(
            "/v1/pools/p/operations",
            &json!({"operation_id": "op-1", "count": 2, "client_seed": "mine"}),
        )
        .await
        .unwrap();
    refused.assert_status(409);
    assert_eq!(
        refused.json()["type"],
        "https://tombola.dev/problems/pool-not-fair"
    );
    app.admin_post("/v1/pools/p/rotate", &json!({"request_id": "rotate-1"}))
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
