//! Hostile input: oversized bodies, deep JSON, huge counts, ids carrying
//! Redis glob and hash-tag characters, and operator routes called with
//! wrong or missing tokens. Each request gets a 4xx problem document (the
//! state API: its error envelope), and Redis (both databases, every key
//! and value) is byte for byte what it was before it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tombola_tests::app::{ADMIN_TOKEN, TestApp};

/// One hostile request and the answer it must get.
struct Case {
    method: &'static str,
    path: String,
    authorization: Option<String>,
    body: Vec<u8>,
    status: u16,
    /// The `field` a 400 must name.
    field: Option<&'static str>,
}

fn admin() -> Option<String> {
    Some(format!("Bearer {ADMIN_TOKEN}"))
}

fn post(
    path: impl Into<String>,
    body: impl Into<Vec<u8>>,
    status: u16,
    field: &'static str,
) -> Case {
    Case {
        method: "POST",
        path: path.into(),
        authorization: None,
        body: body.into(),
        status,
        field: Some(field),
    }
}

fn admin_post(path: impl Into<String>, body: impl Into<Vec<u8>>, field: &'static str) -> Case {
    Case {
        authorization: admin(),
        ..post(path, body, 400, field)
    }
}

/// A body over its route's limit: 413, no field.
fn too_large(path: &str, authorization: Option<String>, body: Vec<u8>) -> Case {
    Case {
        authorization,
        field: None,
        ..post(path, body, 413, "body")
    }
}

fn get(path: impl Into<String>, status: u16, field: Option<&'static str>) -> Case {
    Case {
        method: "GET",
        path: path.into(),
        authorization: None,
        body: Vec::new(),
        status,
        field,
    }
}

/// Every key of databases 0 and 1 with its `DUMP`: what a refused
/// request must leave untouched.
async fn everything(app: &TestApp) -> BTreeMap<(u8, Vec<u8>), Vec<u8>> {
    let mut all = BTreeMap::new();
    for db in [0, 1] {
        let mut redis = app.redis_connection(db).await.unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut redis)
            .await
            .unwrap();
        for key in keys {
            let dump: Vec<u8> = redis::cmd("DUMP")
                .arg(&key)
                .query_async(&mut redis)
                .await
                .unwrap();
            all.insert((db, key), dump);
        }
    }
    all
}

/// A pool `p` with a logged draw, a restock and a saved multi-draw, so
/// every kind of key exists and can be seen to change.
async fn app_with_pool() -> TestApp {
    let app = TestApp::start().await.unwrap();
    app.create_pool(&json!({
        "id": "p", "name": "p", "mode": "stock", "snapshot_every": 4,
        "items": [{"id": "a", "stock": 50}, {"id": "b", "stock": 50}]
    }))
    .await;
    app.post_json(
        "/v1/pools/p/draws",
        &json!({"request_id": "r1", "count": 2}),
    )
    .await
    .unwrap()
    .assert_status(200);
    app.admin_post(
        "/v1/pools/p/restock",
        &json!({"item": "a", "quantity": 1, "request_id": "s1"}),
    )
    .await
    .unwrap()
    .assert_status(200);
    let operation = app
        .post_json(
            "/v1/pools/p/operations",
            &json!({"operation_id": "op1", "count": 30, "chunk_size": 1}),
        )
        .await
        .unwrap();
    assert_eq!(
        operation.status,
        202,
        "{}",
        String::from_utf8_lossy(&operation.body)
    );
    app
}

/// Sends every case, checking its answer and that Redis did not change.
async fn refuse_all(app: &TestApp, cases: Vec<Case>) {
    let before = everything(app).await;
    assert!(!before.is_empty());
    for case in cases {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(authorization) = &case.authorization {
            headers.push(("authorization", authorization));
        }
        let shown = format!(
            "{} {} ({:?}, body {:?})",
            case.method,
            case.path,
            case.authorization,
            String::from_utf8_lossy(&case.body[..case.body.len().min(60)])
        );
        let response = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            app.request(case.method, &case.path, &headers, case.body.clone()),
        )
        .await
        .unwrap_or_else(|_| panic!("{shown}: no answer"))
        .unwrap_or_else(|e| panic!("{shown}: {e:#}"));
        assert_eq!(
            response.status,
            case.status,
            "{shown}: {}",
            String::from_utf8_lossy(&response.body)
        );
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json"),
            "{shown}"
        );
        let problem = response.json();
        assert_eq!(problem["status"], case.status, "{shown}: {problem}");
        assert!(
            !problem["detail"].as_str().unwrap_or_default().is_empty(),
            "{shown}: {problem}"
        );
        assert_eq!(
            problem["field"].as_str(),
            case.field.filter(|_| case.status == 400),
            "{shown}: {problem}"
        );
        assert!(everything(app).await == before, "{shown} changed Redis");
    }
}

/// An HTTP answer read off a raw connection.
struct RawAnswer {
    status: u16,
    content_type: Option<String>,
    body: Value,
}

/// Parses `bytes` as one whole HTTP/1.1 answer, or `None` while more
/// bytes are needed.
fn parse_answer(bytes: &[u8]) -> Option<RawAnswer> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&bytes[..head_end]).to_ascii_lowercase();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: BTreeMap<&str, &str> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let mut rest = &bytes[head_end..];
    let body = if let Some(length) = headers.get("content-length") {
        let length: usize = length.parse().ok()?;
        rest.get(..length)?.to_vec()
    } else {
        assert_eq!(headers.get("transfer-encoding"), Some(&"chunked"), "{head}");
        let mut body = Vec::new();
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).ok()?, 16).ok()?;
            let chunk = rest.get(line_end + 2..line_end + 2 + size + 2)?;
            if size == 0 {
                break body;
            }
            body.extend_from_slice(&chunk[..size]);
            rest = &rest[line_end + 2 + size + 2..];
        }
    };
    Some(RawAnswer {
        status,
        content_type: headers.get("content-type").map(|v| (*v).to_owned()),
        body: serde_json::from_slice(&body).ok()?,
    })
}

/// POSTs a body declared `declared` bytes long but sends only its first
/// `sent` bytes, then waits for the answer: a server that read the whole
/// body before answering would never answer.
async fn partial_post(
    addr: SocketAddr,
    path: &str,
    authorization: &str,
    declared: usize,
    sent: usize,
) -> RawAnswer {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nauthorization: {authorization}\r\ncontent-length: {declared}\r\n\r\n"
    );
    // Written apart from the reading: the server stops reading early, so
    // the write may never finish.
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.write_all(&vec![b' '; sent]).await;
        std::future::pending::<()>().await;
        drop(writer);
    });
    let answer = tokio::time::timeout(Duration::from_secs(10), async {
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 8192];
        loop {
            if let Some(answer) = parse_answer(&bytes) {
                return answer;
            }
            let n = reader.read(&mut buffer).await.unwrap();
            assert!(
                n > 0,
                "connection closed: {}",
                String::from_utf8_lossy(&bytes)
            );
            bytes.extend_from_slice(&buffer[..n]);
        }
    })
    .await
    .expect("no answer before the whole body was sent");
    writing.abort();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_body_is_refused_before_it_is_all_sent() {
    let app = app_with_pool().await;
    let before = everything(&app).await;
    let admin = admin().unwrap();
    // Each route's limit: 64 KiB, and 64 MiB for a pool's configuration.
    let cases = [
        ("/v1/pools/p/draws", "", 413, 10 << 20),
        ("/v1/pools/p/operations", "", 413, 10 << 20),
        ("/v1/pools", admin.as_str(), 413, 100 << 20),
        ("/v1/pools/p/restock", admin.as_str(), 413, 10 << 20),
        ("/v1/pools/p/close", "Bearer wrong", 403, 10 << 20),
    ];
    for (path, authorization, status, size) in cases {
        let answer = partial_post(app.addr, path, authorization, size, 1 << 20).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.body);
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/problem+json")
        );
        if status == 413 {
            assert_eq!(
                answer.body["type"], "https://tombola.dev/problems/body-too-large",
                "{path}: {}",
                answer.body
            );
        }
    }
    assert!(
        everything(&app).await == before,
        "a huge body changed Redis"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_deep_bodies_are_refused() {
    let app = app_with_pool().await;
    let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let deep_objects = |depth: usize| format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    let draws = "/v1/pools/p/draws";
    let mut padded = br#"{"request_id": "big", "count": 1}"#.to_vec();
    padded.resize(65 * 1024, b' ');
    let cases = vec![
        too_large(draws, None, vec![b' '; 65 * 1024]),
        too_large(draws, None, padded),
        post(draws, deep_objects(10_000), 400, "a"),
        post(
            draws,
            format!(r#"{{"request_id": "r9", "count": {}}}"#, deep(10_000)),
            400,
            "count",
        ),
        post(
            "/v1/pools/p/operations",
            format!(r#"{{"operation_id": {}}}"#, deep_objects(5_000)),
            400,
            "operation_id",
        ),
        admin_post(
            "/v1/pools",
            format!(
                r#"{{"id": "q", "name": "q", "mode": "stock", "items": {}}}"#,
                deep(10_000)
            ),
            "items[0][0]",
        ),
        admin_post(
            "/v1/pools/p/restock",
            format!(
                r#"{{"item": "a", "quantity": 1, "request_id": {}}}"#,
                deep(10_000)
            ),
            "request_id",
        ),
        too_large("/v1/pools/p/close", admin(), vec![b'{'; 65 * 1024]),
    ];
    refuse_all(&app, cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_mistyped_numbers_are_refused() {
    let app = app_with_pool().await;
    let mut cases = Vec::new();
    for count in [
        "1001",
        "4294967296",
        "-1",
        "1e9",
        r#""5""#,
        "0",
        "null",
        "1.5",
        "true",
    ] {
        cases.push(post(
            "/v1/pools/p/draws",
            format!(r#"{{"request_id": "n1", "count": {count}}}"#),
            400,
            "count",
        ));
    }
    for count in ["1000001", "4294967296", "-1", "0", r#""5""#] {
        cases.push(post(
            "/v1/pools/p/operations",
            format!(r#"{{"operation_id": "op2", "count": {count}}}"#),
            400,
            "count",
        ));
    }
    for chunk in ["0", "1001", "-1"] {
        cases.push(post(
            "/v1/pools/p/operations",
            format!(r#"{{"operation_id": "op2", "count": 5, "chunk_size": {chunk}}}"#),
            400,
            "chunk_size",
        ));
    }
    for quantity in ["18446744073709551616", "-1", "2.5", "1e20", r#""5""#] {
        cases.push(admin_post(
            "/v1/pools/p/restock",
            format!(r#"{{"item": "a", "quantity": {quantity}}}"#),
            "quantity",
        ));
    }
    for query in [
        "after=-1",
        "after=1e3",
        "after=18446744073709551616",
        "after=x",
        "limit=0",
        "limit=1001",
        "limit=-1",
    ] {
        let field = if query.starts_with("after") {
            "after"
        } else {
            "limit"
        };
        cases.push(get(format!("/v1/pools/p/log?{query}"), 400, Some(field)));
    }
    refuse_all(&app, cases).await;
}

/// Ids that mean something to Redis (`*`, `?`, `[...]` globs, `{...}` hash
/// tags), to HTTP (spaces, CR LF, percent escapes), or are too long.
const BAD_IDS: &[&str] = &[
    "a*", "a?b", "a[1]", "{p}", "p}", "a b", "a\r\nb", "*", "%2A", "é", "p:log", "",
];

fn long_id() -> String {
    "x".repeat(65)
}

/// `text` as one path segment, raw wherever a URI allows it (globs, hash
/// tags, `%`, UTF-8), percent-encoded where it must be (space, CR LF, `?`).
fn segment(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c <= ' ' || c == '\u{7f}' || "?#<>`".contains(c) {
                format!("%{:02X}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_with_redis_special_characters_are_refused() {
    let app = app_with_pool().await;
    let long = long_id();
    let ids: Vec<&str> = BAD_IDS.iter().copied().chain([long.as_str()]).collect();
    let mut cases = Vec::new();
    for id in &ids {
        let json_id = serde_json::to_string(id).unwrap();
        cases.push(post(
            "/v1/pools/p/draws",
            format!(r#"{{"request_id": {json_id}}}"#),
            400,
            "request_id",
        ));
        cases.push(post(
            "/v1/pools/p/operations",
            format!(r#"{{"operation_id": {json_id}, "count": 2}}"#),
            400,
            "operation_id",
        ));
        cases.push(admin_post(
            "/v1/pools/p/restock",
            format!(r#"{{"item": {json_id}, "quantity": 1}}"#),
            "item",
        ));
        cases.push(admin_post(
            "/v1/pools/p/restock",
            format!(r#"{{"item": "a", "quantity": 1, "request_id": {json_id}}}"#),
            "request_id",
        ));
        cases.push(admin_post(
            "/v1/pools/p/close",
            format!(r#"{{"request_id": {json_id}}}"#),
            "request_id",
        ));
        cases.push(admin_post(
            "/v1/pools",
            format!(r#"{{"id": {json_id}, "name": "x", "mode": "stock", "items": [{{"id": "a", "stock": 1}}]}}"#),
            "id",
        ));
        cases.push(admin_post(
            "/v1/pools",
            format!(r#"{{"id": "q", "name": "x", "mode": "stock", "items": [{{"id": {json_id}, "stock": 1}}]}}"#),
            "items[0].id",
        ));
        if id.is_empty() {
            // An empty path segment matches no route.
            continue;
        }
        let seg = segment(id);
        cases.push(post(
            format!("/v1/pools/{seg}/draws"),
            r#"{"request_id": "ok1"}"#,
            400,
            "pool",
        ));
        cases.push(get(format!("/v1/pools/{seg}"), 400, Some("pool")));
        cases.push(get(format!("/v1/pools/{seg}/log"), 400, Some("pool")));
        cases.push(get(
            format!("/v1/pools/p/operations/{seg}"),
            400,
            Some("operation"),
        ));
        cases.push(post(
            format!("/v1/pools/p/operations/{seg}/rollback"),
            "",
            400,
            "operation",
        ));
        cases.push(admin_post(format!("/v1/pools/{seg}/close"), "{}", "pool"));
    }
    refuse_all(&app, cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_routes_refuse_missing_and_wrong_tokens() {
    let app = app_with_pool().await;
    let wrong: &[(Option<String>, u16)] = &[
        (None, 401),
        (Some(String::new()), 401),
        (Some("Bearer".into()), 401),
        (Some("Bearer ".into()), 401),
        (Some("Bearer    ".into()), 401),
        (Some(ADMIN_TOKEN.into()), 401),
        (Some(format!("Basic {ADMIN_TOKEN}")), 401),
        (Some(format!("Token {ADMIN_TOKEN}")), 401),
        (Some(format!("Bearer{ADMIN_TOKEN}")), 401),
        (Some("Bearer wrong".into()), 403),
        (Some("bearer wrong".into()), 403),
        (Some(format!("Bearer {}", &ADMIN_TOKEN[1..])), 403),
        (Some(format!("Bearer {ADMIN_TOKEN}x")), 403),
        (Some(format!("Bearer {}", ADMIN_TOKEN.to_uppercase())), 403),
        (Some(format!("Bearer {ADMIN_TOKEN} {ADMIN_TOKEN}")), 403),
        (Some("Bearer *".into()), 403),
    ];
    let routes: &[(&str, &str, &str)] = &[
        (
            "POST",
            "/v1/pools/p/restock",
            r#"{"item": "a", "quantity": 5}"#,
        ),
        ("POST", "/v1/pools/p/close", "{}"),
        ("POST", "/v1/pools/p/recover", "{}"),
        (
            "POST",
            "/v1/pools",
            r#"{"id": "q", "name": "q", "mode": "stock", "items": [{"id": "a", "stock": 1}]}"#,
        ),
        ("GET", "/v1/pools/p/audit", ""),
    ];
    let mut cases = Vec::new();
    for (authorization, status) in wrong {
        for (method, path, body) in routes {
            cases.push(Case {
                method,
                path: (*path).to_owned(),
                authorization: authorization.clone(),
                body: body.as_bytes().to_vec(),
                status: *status,
                field: None,
            });
        }
    }
    refuse_all(&app, cases).await;

    // The same requests with the token go through: the refusals above
    // were the token's doing.
    let closed = app
        .admin_post("/v1/pools/p/close", &json!({}))
        .await
        .unwrap();
    closed.assert_status(200);
}

/// The state API stores any JSON value, so a deep one reaches
/// serde_json's recursion limit (128): that is a 400, never a trap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_state_value_is_refused() {
    let app = app_with_pool().await;
    let before = everything(&app).await;
    let auth = admin().unwrap();
    let headers = [
        ("content-type", "application/json"),
        ("authorization", auth.as_str()),
    ];
    for depth in [129, 10_000] {
        for value in [
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
            format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth)),
        ] {
            for field in ["value", "metadata"] {
                let body = format!(r#"{{"value": 1, "{field}": {value}}}"#);
                let response = app
                    .request("PUT", "/api/v1/state/deep", &headers, body)
                    .await
                    .unwrap();
                assert_eq!(
                    response.status,
                    400,
                    "{field} {depth} deep: {}",
                    String::from_utf8_lossy(&response.body)
                );
                let answer = response.json();
                assert_eq!(answer["success"], false, "{answer}");
                assert_eq!(answer["error"]["status"], 400, "{answer}");
            }
        }
    }
    assert!(
        everything(&app).await == before,
        "a deep value changed Redis"
    );

    // A value just inside the limit is stored: the refusals were the depth's.
    let shallow = format!(r#"{{"value": {}1{}}}"#, "[".repeat(100), "]".repeat(100));
    let stored = app
        .request("PUT", "/api/v1/state/deep", &headers, shallow.clone())
        .await
        .unwrap();
    assert_eq!(
        stored.status,
        201,
        "{}",
        String::from_utf8_lossy(&stored.body)
    );
    assert!(
        everything(&app).await != before,
        "the shallow value was stored"
    );
}
