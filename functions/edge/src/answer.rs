//! Successful answers: JSON written in one piece.
//!
//! Every answer is built with its whole body and a `content-length`, so the
//! host writes headers and body together: a response written in pieces can
//! wait on the client's delayed ACK when the server does not set
//! `TCP_NODELAY`, as Spin's does not.

use serde::Serialize;
use spin_sdk::http::Response;

/// A JSON answer with the given status.
pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Response {
    let body = serde_json::to_vec(value).expect("response types always serialize");
    bytes(status, "application/json", &[], body)
}

/// The state API's success envelope, `{"success": true, "data": ...}`.
pub fn envelope<T: Serialize + ?Sized>(status: u16, data: &T) -> Response {
    envelope_with(status, data, &[])
}

/// The success envelope with response headers of its own.
pub fn envelope_with<T: Serialize + ?Sized>(
    status: u16,
    data: &T,
    headers: &[(&str, String)],
) -> Response {
    let body = serde_json::to_vec(&serde_json::json!({ "success": true, "data": data }))
        .expect("response types always serialize");
    bytes(status, "application/json", headers, body)
}

/// An answer of `content_type` with extra `headers` and `body`.
pub fn bytes(
    status: u16,
    content_type: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Response {
    let mut builder = Response::builder();
    builder
        .status(status)
        .header("content-type", content_type)
        .header("content-length", body.len().to_string());
    for (name, value) in headers {
        builder.header(*name, value.as_str());
    }
    builder.body(body).build()
}
