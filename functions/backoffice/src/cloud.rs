//! Talking to the lottery cloud: one HTTP request with a deadline, over
//! `wasi:http/outgoing-handler`.
//!
//! spin-sdk's `send` takes no request options, and a clerk must never wait
//! on a cloud that hangs, so requests go through the WASI interface itself
//! with its connect, first-byte and between-bytes timeouts. The host
//! grants the cloud's address through `allowed_outbound_hosts`.

use std::time::Duration;

use wasi::http::outgoing_handler;
use wasi::http::types::{
    Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use wasi::io::streams::StreamError;

/// Where the cloud is and how this store signs in to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    /// `http` or `https`.
    pub https: bool,
    /// `host:port`.
    pub authority: String,
    /// The store's id at the cloud.
    pub store: String,
    /// The store's API key.
    pub key: String,
    /// How long one request may take to connect, and to answer.
    pub timeout: Duration,
}

/// An HTTP answer, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Its status.
    pub status: u16,
    /// Its `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// Its body.
    pub body: Vec<u8>,
}

/// Why no answer came back: the message, for logs and the sync status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoAnswer(pub String);

impl Cloud {
    /// Reads a cloud URL (`http://host:port`, no path); `None` for anything
    /// else.
    pub fn parse_url(url: &str) -> Option<(bool, String)> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else {
            (false, url.strip_prefix("http://")?)
        };
        let authority = rest.trim_end_matches('/');
        (!authority.is_empty() && !authority.contains('/')).then(|| (https, authority.to_owned()))
    }

    /// Sends `method path` with `body` (JSON) and the store's key, and
    /// reads the whole answer.
    ///
    /// # Errors
    ///
    /// [`NoAnswer`] when the request cannot be made, is denied, does not
    /// connect or answer within the timeout, or its body cannot be read.
    pub fn request(&self, method: &Method, path: &str, body: &[u8]) -> Result<Answer, NoAnswer> {
        let fail = |what: &str, detail: String| NoAnswer(format!("{what}: {detail}"));
        let headers = Fields::from_list(&[
            ("content-type".into(), b"application/json".to_vec()),
            (
                "authorization".into(),
                format!("Bearer {}", self.key).into_bytes(),
            ),
        ])
        .map_err(|e| fail("headers", format!("{e:?}")))?;
        let request = OutgoingRequest::new(headers);
        let scheme = if self.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        request
            .set_method(method)
            .and_then(|()| request.set_scheme(Some(&scheme)))
            .and_then(|()| request.set_authority(Some(&self.authority)))
            .and_then(|()| request.set_path_with_query(Some(path)))
            .map_err(|()| {
                fail(
                    "request",
                    format!("cannot address {}{path}", self.authority),
                )
            })?;
        let outgoing = request
            .body()
            .map_err(|()| fail("request", "no body".into()))?;
        let options = RequestOptions::new();
        let nanos = u64::try_from(self.timeout.as_nanos()).unwrap_or(u64::MAX);
        // A host may not support every timeout; those it refuses stay its own.
        let _ = options.set_connect_timeout(Some(nanos));
        let _ = options.set_first_byte_timeout(Some(nanos));
        let _ = options.set_between_bytes_timeout(Some(nanos));
        let pending = outgoing_handler::handle(request, Some(options))
            .map_err(|e| fail("send", format!("{e:?}")))?;
        {
            let stream = outgoing
                .write()
                .map_err(|()| fail("request body", "no stream".into()))?;
            for chunk in body.chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| fail("request body", format!("{e:?}")))?;
            }
        }
        OutgoingBody::finish(outgoing, None).map_err(|e| fail("request body", format!("{e:?}")))?;
        let response = loop {
            match pending.get() {
                Some(result) => break result,
                None => pending.subscribe().block(),
            }
        }
        .map_err(|()| fail("answer", "taken twice".into()))?
        .map_err(|e| fail("answer", format!("{e:?}")))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .entries()
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
            .map(|(_, value)| String::from_utf8_lossy(&value).into_owned());
        let incoming = response
            .consume()
            .map_err(|()| fail("answer body", "taken twice".into()))?;
        let mut body = Vec::new();
        {
            let stream = incoming
                .stream()
                .map_err(|()| fail("answer body", "no stream".into()))?;
            loop {
                match stream.blocking_read(64 * 1024) {
                    Ok(bytes) => body.extend_from_slice(&bytes),
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(e)) => {
                        return Err(fail("answer body", e.to_debug_string()));
                    }
                }
            }
        }
        drop(IncomingBody::finish(incoming));
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_urls_are_a_scheme_and_an_authority() {
        assert_eq!(
            Cloud::parse_url("http://127.0.0.1:3000"),
            Some((false, "127.0.0.1:3000".into()))
        );
        assert_eq!(
            Cloud::parse_url("https://cloud.example/"),
            Some((true, "cloud.example".into()))
        );
        assert_eq!(Cloud::parse_url("http://host/path"), None);
        assert_eq!(Cloud::parse_url("redis://host:6379"), None);
        assert_eq!(Cloud::parse_url("http://"), None);
    }
}
