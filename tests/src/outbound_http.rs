//! Outgoing HTTP from components (`wasi:http/outgoing-handler`), allowed or
//! denied per the component's `allowed_outbound_hosts`, as Spin 4.0.2's
//! outbound HTTP factor does: a URL no entry allows fails with
//! `HttpRequestDenied` before any connection is made, and an allowed one
//! is sent by wasmtime-wasi-http's own client.
//!
//! Spin checks the full URL with `https` as the scheme a URL without one
//! takes; wasmtime-wasi-http fills in the same default before the hook
//! runs. Relative URLs (Spin's self-requests through `self`) are not
//! granted by this host: no Tombola component makes them.

use std::sync::Arc;

use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::outbound::AllowedHost;
use crate::spin::Grants;

type IoFuture = Box<dyn std::future::Future<Output = Result<(), Error>> + Send>;

type SendFuture = Box<
    dyn std::future::Future<Output = Result<(hyper::Response<WasiBody>, IoFuture), Error>> + Send,
>;

/// The outgoing-handler hook of one request, with the hosts its component
/// may reach.
pub struct OutboundHttp {
    grants: Arc<Grants>,
}

impl OutboundHttp {
    /// The hook for a component with `grants`.
    pub fn new(grants: Arc<Grants>) -> Self {
        Self { grants }
    }
}

/// Whether one of `allowed` lets a request go to `uri`: it needs a host
/// (a relative URL is a self-request, not granted here).
pub fn is_allowed(allowed: &[AllowedHost], uri: &hyper::Uri) -> bool {
    let has_host = uri.authority().is_some_and(|a| !a.host().is_empty());
    let url = uri.to_string();
    has_host && allowed.iter().any(|entry| entry.allows(&url))
}

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> SendFuture {
        if !is_allowed(&self.grants.allowed_hosts, request.uri()) {
            tracing::debug!(uri = %request.uri(), "outbound HTTP denied: not in allowed_outbound_hosts");
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as IoFuture,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> Vec<AllowedHost> {
        entries
            .iter()
            .map(|e| AllowedHost::parse(e).unwrap())
            .collect()
    }

    #[test]
    fn only_granted_urls_go_out() {
        let allowed = hosts(&["http://127.0.0.1:3000"]);
        let uri = |text: &str| text.parse::<hyper::Uri>().unwrap();
        assert!(is_allowed(
            &allowed,
            &uri("http://127.0.0.1:3000/v1/lottery/x?y=1")
        ));
        assert!(!is_allowed(&allowed, &uri("http://127.0.0.1:3001/v1")));
        assert!(!is_allowed(&allowed, &uri("https://127.0.0.1:3000/v1")));
        assert!(!is_allowed(&allowed, &uri("http://10.0.0.1:3000/")));
        assert!(!is_allowed(&allowed, &uri("/relative")));
        assert!(!is_allowed(&[], &uri("http://127.0.0.1:3000/")));
        let wide = hosts(&["http://*:*"]);
        assert!(is_allowed(&wide, &uri("http://example.com:8080/")));
        assert!(is_allowed(&wide, &uri("http://example.com/")));
        let https = hosts(&["https://cloud.example"]);
        assert!(is_allowed(&https, &uri("https://cloud.example/v1")));
        assert!(!is_allowed(&https, &uri("http://cloud.example/v1")));
    }
}
