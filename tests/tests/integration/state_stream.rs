//! The change feed as Server-Sent Events (`GET /api/v1/state/events`
//! with `Accept: text/event-stream`), read as a browser's `EventSource`
//! reads it: message by message while the response is still streaming.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tombola_tests::app::TestApp;

use super::state::{BASE, READER_TOKEN, admin, put, read, start};

/// One message of the stream: its fields as sent.
#[derive(Debug, Default, Clone, PartialEq)]
struct Message {
    id: Option<u64>,
    event: Option<String>,
    data: Vec<Value>,
    comment: bool,
}

/// A stream being read.
struct Stream {
    status: u16,
    content_type: Option<String>,
    body: Incoming,
    buffered: String,
    ended: bool,
}

async fn open(app: &TestApp, query: &str, last_event_id: Option<&str>) -> Stream {
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .uri(format!("{BASE}/events{query}"))
        .header("host", app.addr.to_string())
        .header("accept", "text/event-stream")
        .header("authorization", format!("Bearer {READER_TOKEN}"));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    Stream {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: response.into_body(),
        buffered: String::new(),
        ended: false,
    }
}

impl Stream {
    /// The next whole message, or `None` once the stream has ended.
    async fn next(&mut self) -> Option<Message> {
        loop {
            if let Some((text, rest)) = self.buffered.split_once("\n\n") {
                let mut message = Message::default();
                for line in text.lines() {
                    match line.split_once(": ") {
                        Some(("id", id)) => message.id = Some(id.parse().unwrap()),
                        Some(("event", name)) => message.event = Some(name.to_owned()),
                        Some(("data", data)) => {
                            message.data.push(serde_json::from_str(data).unwrap())
                        }
                        Some(("retry", _)) => {}
                        _ if line.starts_with(':') => message.comment = true,
                        _ => panic!("{line:?} is no field of an event stream"),
                    }
                }
                self.buffered = rest.to_owned();
                return Some(message);
            }
            if self.ended {
                return None;
            }
            match self.body.frame().await {
                Some(frame) => {
                    if let Ok(data) = frame.unwrap().into_data() {
                        self.buffered.push_str(std::str::from_utf8(&data).unwrap());
                    }
                }
                None => self.ended = true,
            }
        }
    }

    /// The next message that carries changes, skipping heartbeats and the
    /// opening `retry:`.
    async fn next_change(&mut self) -> Option<Message> {
        loop {
            let message = self.next().await?;
            if message.id.is_some() || message.event.is_some() {
                return Some(message);
            }
        }
    }
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within 10 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_that_disconnects_resumes_without_missing_or_repeating_an_event() {
    let app = Arc::new(start(&[]).await);
    put(&app, "k/0", json!({"value": 0})).await;
    let mut first = open(&app, "?after=0", None).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.content_type.as_deref(), Some("text/event-stream"));
    let opening = within("the opening", first.next()).await.unwrap();
    assert_eq!(opening, Message::default(), "retry: only");

    let writer = {
        let app = app.clone();
        tokio::spawn(async move {
            for i in 1..=20 {
                if i == 10 {
                    let txn = json!({"success": [
                        {"op": "put", "key": "k/a", "value": i},
                        {"op": "put", "key": "k/b", "value": i},
                    ]});
                    admin(&app, "POST", "/txn", Some(&txn)).await.expect(200);
                } else {
                    put(&app, &format!("k/{i}"), json!({"value": i})).await;
                }
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        })
    };
    // Streamed while the writes go on: the answer is still open.
    let mut seen: Vec<Message> = Vec::new();
    while seen.len() < 6 {
        seen.push(within("a change", first.next_change()).await.unwrap());
    }
    drop(first);
    writer.await.unwrap();

    let last = seen.last().unwrap().id.unwrap().to_string();
    let mut resumed = open(&app, "?after=0", Some(&last)).await;
    assert_eq!(resumed.status, 200);
    while seen.last().unwrap().id != Some(21) {
        seen.push(
            within("a change after resuming", resumed.next_change())
                .await
                .unwrap(),
        );
    }
    let ids: Vec<u64> = seen.iter().map(|m| m.id.unwrap()).collect();
    assert_eq!(
        ids,
        (1..=21).collect::<Vec<_>>(),
        "every revision once, in order"
    );
    let streamed: Vec<Value> = seen.into_iter().flat_map(|m| m.data).collect();
    let polled = read(&app, "/events?after=0").await;
    assert_eq!(
        &Value::from(streamed),
        &polled.expect(200)["events"],
        "the stream carries the feed's events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_filters_by_prefix_beats_its_heart_and_ends_on_time() {
    let app = start(&[("events_stream_secs", "4")]).await;
    let mut stream = open(&app, "?prefix=app/", None).await;
    put(&app, "other", json!({"value": 1})).await;
    put(&app, "app/x", json!({"value": 2})).await;
    let change = within("a change", stream.next_change()).await.unwrap();
    assert_eq!(change.id, Some(2), "the other key's revision is not sent");
    assert_eq!(change.data[0]["key"], "app/x");
    let mut heartbeats = 0;
    while let Some(message) = within("the stream's end", stream.next()).await {
        assert!(message.comment, "{message:?}");
        heartbeats += 1;
    }
    assert!(heartbeats >= 1, "a heartbeat while nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_behind_compaction_is_told_so_and_ends() {
    let app = start(&[("event_retention", "3")]).await;
    for i in 0..6 {
        put(&app, "k", json!({"value": i})).await;
    }
    let mut stream = open(&app, "?after=1", None).await;
    assert_eq!(stream.status, 200);
    let told = within("the compacted event", stream.next_change())
        .await
        .unwrap();
    assert_eq!(told.event.as_deref(), Some("compacted"));
    assert_eq!(
        (
            &told.data[0]["code"],
            &told.data[0]["compacted"],
            &told.data[0]["revision"]
        ),
        (&json!("compacted"), &json!(3), &json!(6))
    );
    assert_eq!(within("the end", stream.next()).await, None);
    // From a revision still held, it streams.
    let mut kept = open(&app, "?after=3", None).await;
    assert_eq!(
        within("a change", kept.next_change()).await.unwrap().id,
        Some(4)
    );

    // The long poll reads the same start and filter.
    put(&app, "app/a", json!({"value": 1})).await;
    let polled = super::state::call(
        &app,
        "GET",
        "/events?after=0&prefix=app/",
        Some(READER_TOKEN),
        &[("last-event-id", "5")],
        None,
    )
    .await;
    let polled = polled.expect(200);
    let keys: Vec<&Value> = polled["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["key"])
        .collect();
    assert_eq!(keys, [&json!("app/a")]);
    assert_eq!(polled["next_after"], 7);

    let refused = open(&app, "", Some("seven")).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.content_type.as_deref(), Some("application/json"));
    let body = refused.body.collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["field"], "Last-Event-ID");
}
