//! Answering through the response outparam, for a component whose handler
//! streams some answers and sends the rest whole.
//!
//! Spin's HTTP trigger hands the guest a `ResponseOutparam`: the response
//! head goes out when the outparam is set, and the body as the guest
//! writes it, so a stream reaches the client while the handler still
//! runs.

use futures::SinkExt;
use spin_sdk::http::{Fields, OutgoingResponse, Response, ResponseOutparam};

/// Sends `response`, head and body, in one piece.
pub async fn send_whole(out: ResponseOutparam, mut response: Response) {
    let body = std::mem::take(response.body_mut());
    match OutgoingResponse::try_from(response) {
        Ok(outgoing) => {
            if let Err(error) = out.set_with_body(outgoing, body).await {
                tracing::warn!(%error, "the client went away before the answer was written");
            }
        }
        Err(error) => tracing::error!(%error, "an answer could not be built"),
    }
}

/// Sets a 200 response with `headers` and returns its body, into which the
/// caller writes the rest as it goes.
pub fn start_stream(
    out: ResponseOutparam,
    headers: &[(&str, &str)],
) -> impl futures::Sink<Vec<u8>> + Unpin {
    let list: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&list).expect("the stream's own headers are valid");
    let response = OutgoingResponse::new(fields);
    response.set_status_code(200).expect("200 is a status code");
    let body = response.take_body();
    out.set(response);
    Box::pin(body)
}

/// Writes `text` to a stream's body; `false` once the client has gone.
pub async fn write(body: &mut (impl futures::Sink<Vec<u8>> + Unpin), text: &str) -> bool {
    body.send(text.as_bytes().to_vec()).await.is_ok()
}
