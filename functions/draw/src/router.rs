//! Maps a method and a path to a handler.
//!
//! [`ROUTES`] is the one list of what the component serves: dispatch reads
//! it, and a test compares the published OpenAPI document with it.

use spin_sdk::http::{IncomingRequest, Response};
use tombola_core::{OperationId, PoolId};

use crate::problem::{self, Problem};
use crate::{admin, audit, auth, draws, health, log, operations, pools, request};

/// What serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `GET /v1/health`
    Health,
    /// `GET /v1/openapi.json`
    OpenApi,
    /// `GET /v1/ping`
    Ping,
    /// `POST /v1/pools`
    CreatePool,
    /// `GET /v1/pools`
    ListPools,
    /// `GET /v1/pools/{pool}`
    ShowPool,
    /// `POST /v1/pools/{pool}/draws`
    Draw,
    /// `POST /v1/pools/{pool}/operations`
    RunOperation,
    /// `GET /v1/pools/{pool}/operations/{operation}`
    GetOperation,
    /// `POST /v1/pools/{pool}/operations/{operation}/rollback`
    Rollback,
    /// `POST /v1/pools/{pool}/restock`
    Restock,
    /// `POST /v1/pools/{pool}/close`
    Close,
    /// `POST /v1/pools/{pool}/recover`
    Recover,
    /// `GET /v1/pools/{pool}/audit`
    Audit,
    /// `GET /v1/pools/{pool}/log`
    Log,
}

/// A route: method, path template (`{name}` marks a path parameter),
/// whether it needs the admin token, and its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// Whether `Authorization: Bearer <admin_token>` is required.
    pub admin: bool,
    /// What serves it.
    pub handler: Handler,
}

const fn route(method: &'static str, path: &'static str, admin: bool, handler: Handler) -> Route {
    Route {
        method,
        path,
        admin,
        handler,
    }
}

/// Every route the component serves.
pub const ROUTES: &[Route] = &[
    route("GET", "/v1/health", false, Handler::Health),
    route("GET", "/v1/openapi.json", false, Handler::OpenApi),
    route("GET", "/v1/ping", false, Handler::Ping),
    route("POST", "/v1/pools", true, Handler::CreatePool),
    route("GET", "/v1/pools", false, Handler::ListPools),
    route("GET", "/v1/pools/{pool}", false, Handler::ShowPool),
    route("POST", "/v1/pools/{pool}/draws", false, Handler::Draw),
    route(
        "POST",
        "/v1/pools/{pool}/operations",
        false,
        Handler::RunOperation,
    ),
    route(
        "GET",
        "/v1/pools/{pool}/operations/{operation}",
        false,
        Handler::GetOperation,
    ),
    route(
        "POST",
        "/v1/pools/{pool}/operations/{operation}/rollback",
        false,
        Handler::Rollback,
    ),
    route("POST", "/v1/pools/{pool}/restock", true, Handler::Restock),
    route("POST", "/v1/pools/{pool}/close", true, Handler::Close),
    route("POST", "/v1/pools/{pool}/recover", true, Handler::Recover),
    route("GET", "/v1/pools/{pool}/audit", true, Handler::Audit),
    route("GET", "/v1/pools/{pool}/log", false, Handler::Log),
];

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

fn param<'a>(params: &Params<'a>, name: &str) -> &'a str {
    params
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .expect("handlers only ask for their template's parameters")
}

/// Finds the route for a request and runs it.
pub async fn dispatch(request: IncomingRequest) -> Response {
    let method = tombola_edge::host::method_name(&request.method());
    let path_and_query = request.path_with_query().unwrap_or_default();
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query.as_str(), ""));
    let (path, query) = (path.to_owned(), query.to_owned());

    let mut allowed = Vec::new();
    for route in ROUTES {
        let Some(params) = match_template(route.path, &path) else {
            continue;
        };
        if route.method != method {
            allowed.push(route.method);
            continue;
        }
        let result = serve(route, &params, &query, request).await;
        return result.unwrap_or_else(|problem| {
            if problem.status >= 500 {
                tracing::error!(%method, %path, status = problem.status, detail = %problem.detail, "request failed");
            } else {
                tracing::debug!(%method, %path, status = problem.status, detail = %problem.detail, "request refused");
            }
            problem.into_response()
        });
    }
    let problem = if allowed.is_empty() {
        Problem::no_route(&method, &path)
    } else {
        Problem::method_not_allowed(&method, &path, &allowed)
    };
    problem.into_response()
}

async fn serve(
    route: &Route,
    params: &Params<'_>,
    query: &str,
    incoming: IncomingRequest,
) -> Result<Response, Problem> {
    if route.admin {
        auth::require_admin(&incoming)?;
    }
    let pool = || request::path_id("pool", param(params, "pool"), PoolId::new);
    let operation = || request::path_id("operation", param(params, "operation"), OperationId::new);
    let body = if route.method == "POST" {
        request::body(incoming).await?
    } else {
        Vec::new()
    };
    match route.handler {
        Handler::Health => Ok(health::get().await),
        Handler::OpenApi => Ok(crate::openapi::document()),
        Handler::Ping => Ok(problem::json(200, &serde_json::json!({ "pong": true }))),
        Handler::CreatePool => pools::create(&body),
        Handler::ListPools => pools::list(),
        Handler::ShowPool => pools::show(&pool()?),
        Handler::Draw => draws::post(&pool()?, &body),
        Handler::RunOperation => operations::run(&pool()?, &body),
        Handler::GetOperation => operations::get(&pool()?, &operation()?),
        Handler::Rollback => operations::rollback(&pool()?, &operation()?),
        Handler::Restock => admin::restock(&pool()?, &body),
        Handler::Close => admin::close(&pool()?, &body),
        Handler::Recover => admin::recover(&pool()?),
        Handler::Audit => audit::run(&pool()?),
        Handler::Log => log::get(&pool()?, query),
    }
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

    #[test]
    fn no_two_routes_share_a_method_and_path() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
    }
}
