//! The route table and dispatch.
//!
//! [`ROUTES`] is the one list of what the component serves: dispatch reads
//! it, and a test compares the published OpenAPI document with it.

use spin_sdk::http::{IncomingRequest, Response};
use tombola_core::pool::{OperationId, PoolId, RequestId};
use tombola_edge::error::{ApiError, Format};
use tombola_edge::route::{self, Params, Route};

use crate::request::{MAX_BODY, MAX_POOL_BODY};
use crate::{admin, audit, auth, draws, fairness, health, log, operations, pools, request};

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
    /// `POST /v1/pools/{pool}/rotate`
    Rotate,
    /// `GET /v1/pools/{pool}/fairness`
    Fairness,
    /// `GET /v1/pools/{pool}/draws/{request_id}/proof`
    Proof,
    /// `GET /v1/metrics`
    Metrics,
}

impl Handler {
    /// Whether the route needs `Authorization: Bearer <admin_token>`.
    pub fn admin(self) -> bool {
        matches!(
            self,
            Handler::CreatePool
                | Handler::Restock
                | Handler::Close
                | Handler::Recover
                | Handler::Audit
                | Handler::Rotate
        )
    }

    /// The largest body the route reads (0: it reads none).
    pub fn body_limit(self) -> usize {
        match self {
            Handler::CreatePool => MAX_POOL_BODY,
            Handler::Draw
            | Handler::RunOperation
            | Handler::Rollback
            | Handler::Restock
            | Handler::Close
            | Handler::Recover
            | Handler::Rotate => MAX_BODY,
            _ => 0,
        }
    }
}

/// Every route the component serves.
pub const ROUTES: &[Route<Handler>] = &[
    Route::new("GET", "/v1/health", Handler::Health),
    Route::new("GET", "/v1/openapi.json", Handler::OpenApi),
    Route::new("GET", "/v1/ping", Handler::Ping),
    Route::new("POST", "/v1/pools", Handler::CreatePool),
    Route::new("GET", "/v1/pools", Handler::ListPools),
    Route::new("GET", "/v1/pools/{pool}", Handler::ShowPool),
    Route::new("POST", "/v1/pools/{pool}/draws", Handler::Draw),
    Route::new("POST", "/v1/pools/{pool}/operations", Handler::RunOperation),
    Route::new(
        "GET",
        "/v1/pools/{pool}/operations/{operation}",
        Handler::GetOperation,
    ),
    Route::new(
        "POST",
        "/v1/pools/{pool}/operations/{operation}/rollback",
        Handler::Rollback,
    ),
    Route::new("POST", "/v1/pools/{pool}/restock", Handler::Restock),
    Route::new("POST", "/v1/pools/{pool}/close", Handler::Close),
    Route::new("POST", "/v1/pools/{pool}/recover", Handler::Recover),
    Route::new("GET", "/v1/pools/{pool}/audit", Handler::Audit),
    Route::new("GET", "/v1/pools/{pool}/log", Handler::Log),
    Route::new("POST", "/v1/pools/{pool}/rotate", Handler::Rotate),
    Route::new("GET", "/v1/pools/{pool}/fairness", Handler::Fairness),
    Route::new(
        "GET",
        "/v1/pools/{pool}/draws/{request_id}/proof",
        Handler::Proof,
    ),
    Route::new("GET", "/v1/metrics", Handler::Metrics),
];

/// Finds the route for a request and runs it.
pub async fn dispatch(request: IncomingRequest) -> Response {
    let method = tombola_edge::host::method_name(&request.method());
    let target = request.path_with_query().unwrap_or_default();
    let path = route::split_target(&target).0;
    let tracked = tombola_edge::tracking::begin(&request, &method, path);
    let answer = route::dispatch(request, ROUTES, Format::Problem, serve).await;
    tombola_edge::tracking::finish(tracked, answer)
}

async fn serve(
    handler: Handler,
    params: &Params<'_>,
    query: &str,
    incoming: IncomingRequest,
) -> Result<Response, ApiError> {
    if handler.admin() {
        auth::require_admin(&incoming)?;
    }
    if handler == Handler::Metrics {
        crate::metrics::require_reader(&incoming)?;
    }
    let pool = || params.get("pool", PoolId::new);
    let operation = || params.get("operation", OperationId::new);
    let body = match handler.body_limit() {
        0 => Vec::new(),
        limit => request::body(incoming, limit).await?,
    };
    match handler {
        Handler::Health => Ok(health::get().await),
        Handler::OpenApi => Ok(crate::openapi::document()),
        Handler::Ping => Ok(tombola_edge::answer::json(
            200,
            &serde_json::json!({ "pong": true }),
        )),
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
        Handler::Rotate => fairness::rotate(&pool()?, &body),
        Handler::Fairness => fairness::get(&pool()?),
        Handler::Proof => fairness::proof(&pool()?, &params.get("request_id", RequestId::logged)?),
        Handler::Metrics => crate::metrics::get(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_routes_share_a_method_and_path() {
        assert_eq!(route::repeated(ROUTES), []);
    }

    #[test]
    fn only_posts_read_a_body_and_pools_take_the_largest() {
        for route in ROUTES {
            assert_eq!(
                route.handler.body_limit() > 0,
                route.method == "POST",
                "{} {}",
                route.method,
                route.path
            );
        }
        assert_eq!(Handler::CreatePool.body_limit(), MAX_POOL_BODY);
    }
}
