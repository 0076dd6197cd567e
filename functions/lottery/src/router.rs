//! The route table and dispatch.
//!
//! [`ROUTES`] is the one list of what the component serves: dispatch reads
//! it, and a test compares the published OpenAPI document with it.

use spin_sdk::http::{IncomingRequest, Response};
use tombola_edge::error::{ApiError, Format};
use tombola_edge::route::{self, Params, Route};

use crate::request::{self, MAX_BODY, MAX_PUSH_BODY};
use crate::{auth, bins, games, openapi, packs, pull, push, stores};

/// What serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `GET /v1/lottery/openapi.json`
    OpenApi,
    /// `GET /v1/lottery/games`
    ListGames,
    /// `PUT /v1/lottery/games/{code}`
    PutGame,
    /// `POST /v1/lottery/games/{code}/retire`
    RetireGame,
    /// `POST /v1/lottery/stores`
    Register,
    /// `GET /v1/lottery/stores`
    ListStores,
    /// `GET /v1/lottery/stores/{store}`
    ShowStore,
    /// `POST /v1/lottery/stores/{store}/key`
    RotateKey,
    /// `GET /v1/lottery/stores/{store}/bins`
    ListBins,
    /// `PUT /v1/lottery/stores/{store}/bins/{number}`
    PutBin,
    /// `DELETE /v1/lottery/stores/{store}/bins/{number}`
    RemoveBin,
    /// `GET /v1/lottery/stores/{store}/packs`
    ListPacks,
    /// `PUT /v1/lottery/stores/{store}/packs/{game}/{number}/settlement`
    Settle,
    /// `GET /v1/lottery/stores/{store}/closes`
    ListCloses,
    /// `GET /v1/lottery/stores/{store}/pull`
    Pull,
    /// `POST /v1/lottery/stores/{store}/push`
    Push,
}

impl Handler {
    /// Whether the route needs `Authorization: Bearer <admin_token>`.
    pub fn admin(self) -> bool {
        !matches!(self, Handler::OpenApi | Handler::Pull | Handler::Push)
    }

    /// Whether the route needs the store's own API key.
    pub fn store_key(self) -> bool {
        matches!(self, Handler::Pull | Handler::Push)
    }

    /// The largest body the route reads (0: it reads none).
    pub fn body_limit(self) -> usize {
        match self {
            Handler::Push => MAX_PUSH_BODY,
            Handler::PutGame | Handler::Register | Handler::Settle => MAX_BODY,
            _ => 0,
        }
    }
}

/// Every route the component serves.
pub const ROUTES: &[Route<Handler>] = &[
    Route::new("GET", "/v1/lottery/openapi.json", Handler::OpenApi),
    Route::new("GET", "/v1/lottery/games", Handler::ListGames),
    Route::new("PUT", "/v1/lottery/games/{code}", Handler::PutGame),
    Route::new(
        "POST",
        "/v1/lottery/games/{code}/retire",
        Handler::RetireGame,
    ),
    Route::new("POST", "/v1/lottery/stores", Handler::Register),
    Route::new("GET", "/v1/lottery/stores", Handler::ListStores),
    Route::new("GET", "/v1/lottery/stores/{store}", Handler::ShowStore),
    Route::new("POST", "/v1/lottery/stores/{store}/key", Handler::RotateKey),
    Route::new("GET", "/v1/lottery/stores/{store}/bins", Handler::ListBins),
    Route::new(
        "PUT",
        "/v1/lottery/stores/{store}/bins/{number}",
        Handler::PutBin,
    ),
    Route::new(
        "DELETE",
        "/v1/lottery/stores/{store}/bins/{number}",
        Handler::RemoveBin,
    ),
    Route::new(
        "GET",
        "/v1/lottery/stores/{store}/packs",
        Handler::ListPacks,
    ),
    Route::new(
        "PUT",
        "/v1/lottery/stores/{store}/packs/{game}/{number}/settlement",
        Handler::Settle,
    ),
    Route::new(
        "GET",
        "/v1/lottery/stores/{store}/closes",
        Handler::ListCloses,
    ),
    Route::new("GET", "/v1/lottery/stores/{store}/pull", Handler::Pull),
    Route::new("POST", "/v1/lottery/stores/{store}/push", Handler::Push),
];

/// Finds the route for a request and runs it.
pub async fn dispatch(request: IncomingRequest) -> Response {
    route::dispatch(request, ROUTES, Format::Problem, serve).await
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
    let header = auth::header(&incoming);
    let header = header.as_deref().filter(|_| handler.store_key());
    let store = || request::store(params);
    let body = match handler.body_limit() {
        0 => Vec::new(),
        limit => request::body(incoming, limit).await?,
    };
    match handler {
        Handler::OpenApi => Ok(openapi::document()),
        Handler::ListGames => games::list(),
        Handler::PutGame => games::put(request::game_code(params)?, &body),
        Handler::RetireGame => games::retire(request::game_code(params)?),
        Handler::Register => stores::register(&body),
        Handler::ListStores => stores::list(query),
        Handler::ShowStore => stores::show(&store()?),
        Handler::RotateKey => stores::rotate(&store()?),
        Handler::ListBins => bins::list(&store()?),
        Handler::PutBin => bins::change(&store()?, request::bin(params)?, true),
        Handler::RemoveBin => bins::change(&store()?, request::bin(params)?, false),
        Handler::ListPacks => packs::list(&store()?),
        Handler::Settle => packs::settle(&store()?, request::pack_key(params)?, &body),
        Handler::ListCloses => packs::closes(&store()?),
        Handler::Pull => pull::get(&store()?, header, query),
        Handler::Push => push::post(&store()?, header, &body),
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
    fn every_route_but_the_document_needs_a_token_of_one_kind() {
        for route in ROUTES {
            let tokens = [route.handler.admin(), route.handler.store_key()];
            let expected = usize::from(route.handler != Handler::OpenApi);
            assert_eq!(
                tokens.iter().filter(|t| **t).count(),
                expected,
                "{} {}",
                route.method,
                route.path
            );
        }
    }

    #[test]
    fn bodies_are_read_by_writes_only() {
        for route in ROUTES {
            if route.handler.body_limit() > 0 {
                assert!(
                    route.method == "POST" || route.method == "PUT",
                    "{}",
                    route.path
                );
            }
        }
        assert_eq!(Handler::Push.body_limit(), MAX_PUSH_BODY);
    }
}
