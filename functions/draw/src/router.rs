//! Maps a method and a path to a handler.
//!
//! [`ROUTES`] is the one list of what the component serves: dispatch reads it,
//! and the OpenAPI test compares the published document with it.

use spin_sdk::http::{IncomingRequest, Method, Response};

use crate::health;
use crate::problem::Problem;

/// A route: method and path template (`{name}` marks a path parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template under the component's base.
    pub path: &'static str,
}

/// Every route the component serves.
pub const ROUTES: &[Route] = &[Route {
    method: "GET",
    path: "/v1/health",
}];

/// Path parameters captured by a template match, in template order.
pub type Params<'a> = Vec<(&'static str, &'a str)>;

/// Matches `path` against a template, capturing `{name}` segments.
pub fn match_template<'a>(template: &'static str, path: &'a str) -> Option<Params<'a>> {
    let mut params = Vec::new();
    let mut want = template.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') && !h.is_empty() => {
                params.push((&w[1..w.len() - 1], h));
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return None,
        }
    }
}

fn method_name(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Patch => "PATCH".into(),
        Method::Head => "HEAD".into(),
        Method::Options => "OPTIONS".into(),
        Method::Connect => "CONNECT".into(),
        Method::Trace => "TRACE".into(),
        Method::Other(other) => other.to_ascii_uppercase(),
    }
}

/// Finds the route for a request and runs it.
pub async fn dispatch(request: IncomingRequest) -> Response {
    let method = method_name(&request.method());
    let path_and_query = request.path_with_query().unwrap_or_default();
    let path = path_and_query
        .split_once('?')
        .map_or(path_and_query.as_str(), |(p, _)| p)
        .to_owned();

    let mut path_known = false;
    for route in ROUTES {
        if match_template(route.path, &path).is_none() {
            continue;
        }
        path_known = true;
        if route.method != method {
            continue;
        }
        return match route.path {
            "/v1/health" => health::get().await,
            _ => unreachable!("every route in ROUTES has a handler"),
        };
    }
    let problem = if path_known {
        Problem::method_not_allowed(&method, &path)
    } else {
        Problem::no_route(&method, &path)
    };
    problem.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_capture_segments() {
        assert_eq!(
            match_template("/v1/pools/{pool}/draws", "/v1/pools/summer/draws"),
            Some(vec![("pool", "summer")])
        );
        assert_eq!(match_template("/v1/pools/{pool}", "/v1/pools/"), None);
        assert_eq!(match_template("/v1/pools/{pool}", "/v1/pools/a/b"), None);
        assert_eq!(match_template("/v1/health", "/v1/health"), Some(vec![]));
        assert_eq!(match_template("/v1/health", "/v1/healthz"), None);
    }
}
