//! The route table and dispatch.
//!
//! [`ROUTES`] is the one list of what the component serves: dispatch reads
//! it, and a test compares the published OpenAPI document with it.

use spin_sdk::http::{IncomingRequest, Response, ResponseOutparam};
use tombola_edge::error::{ApiError, Format};
use tombola_edge::route::{self, Params, Route};

use crate::db::Db;
use crate::{auth, barcodes, bins, days, games, health, openapi, packs, page, request, sync};

/// What serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `GET /health`
    Health,
    /// `GET /openapi.json`
    OpenApi,
    /// `GET /games`
    ListGames,
    /// `PUT /games/{code}`
    PutGame,
    /// `GET /bins`
    ListBins,
    /// `POST /bins`
    CreateBins,
    /// `GET /packs`
    ListPacks,
    /// `POST /packs`
    ReceivePack,
    /// `GET /packs/{game}/{number}`
    ShowPack,
    /// `POST /packs/{game}/{number}/activate`
    ActivatePack,
    /// `POST /packs/{game}/{number}/settle`
    SettlePack,
    /// `POST /packs/{game}/{number}/return`
    ReturnPack,
    /// `POST /barcodes/parse`
    ParseBarcode,
    /// `GET /days`
    ListDays,
    /// `POST /days`
    OpenDay,
    /// `GET /days/current`
    CurrentDay,
    /// `GET /days/{date}`
    ShowDay,
    /// `POST /days/{date}/prepare`
    PrepareClose,
    /// `POST /days/{date}/commit`
    CommitClose,
    /// `POST /days/{date}/cancel`
    CancelClose,
    /// `POST /sync`
    Sync,
    /// `GET /sync`
    SyncStatus,
    /// `GET /`: the store's lottery page
    Page,
    /// `GET /assets/{name}`: the page's files
    PageAsset,
}

impl Handler {
    /// Whether the route needs `Authorization: Bearer <store_token>`.
    pub fn needs_token(self) -> bool {
        !matches!(
            self,
            Handler::Health | Handler::OpenApi | Handler::Page | Handler::PageAsset
        )
    }

    /// Whether the route reads a JSON body.
    pub fn body(self) -> bool {
        matches!(
            self,
            Handler::PutGame
                | Handler::CreateBins
                | Handler::ReceivePack
                | Handler::ActivatePack
                | Handler::ReturnPack
                | Handler::ParseBarcode
                | Handler::OpenDay
                | Handler::PrepareClose
        )
    }

    /// Whether the route opens the database.
    pub fn needs_db(self) -> bool {
        !matches!(self, Handler::OpenApi | Handler::Page | Handler::PageAsset)
    }

    /// Whether the route changes the store's data, so a sync follows it.
    pub fn changes_data(self) -> bool {
        matches!(
            self,
            Handler::CreateBins
                | Handler::ReceivePack
                | Handler::ActivatePack
                | Handler::SettlePack
                | Handler::ReturnPack
                | Handler::CommitClose
        )
    }
}

/// Every route the component serves; `/days/current` comes before
/// `/days/{date}`, which would otherwise take it.
pub const ROUTES: &[Route<Handler>] = &[
    Route::new("GET", "/api/v1/lottery/health", Handler::Health),
    Route::new("GET", "/api/v1/lottery/openapi.json", Handler::OpenApi),
    Route::new("GET", "/api/v1/lottery/games", Handler::ListGames),
    Route::new("PUT", "/api/v1/lottery/games/{code}", Handler::PutGame),
    Route::new("GET", "/api/v1/lottery/bins", Handler::ListBins),
    Route::new("POST", "/api/v1/lottery/bins", Handler::CreateBins),
    Route::new("GET", "/api/v1/lottery/packs", Handler::ListPacks),
    Route::new("POST", "/api/v1/lottery/packs", Handler::ReceivePack),
    Route::new(
        "GET",
        "/api/v1/lottery/packs/{game}/{number}",
        Handler::ShowPack,
    ),
    Route::new(
        "POST",
        "/api/v1/lottery/packs/{game}/{number}/activate",
        Handler::ActivatePack,
    ),
    Route::new(
        "POST",
        "/api/v1/lottery/packs/{game}/{number}/settle",
        Handler::SettlePack,
    ),
    Route::new(
        "POST",
        "/api/v1/lottery/packs/{game}/{number}/return",
        Handler::ReturnPack,
    ),
    Route::new(
        "POST",
        "/api/v1/lottery/barcodes/parse",
        Handler::ParseBarcode,
    ),
    Route::new("GET", "/api/v1/lottery/days", Handler::ListDays),
    Route::new("POST", "/api/v1/lottery/days", Handler::OpenDay),
    Route::new("GET", "/api/v1/lottery/days/current", Handler::CurrentDay),
    Route::new("GET", "/api/v1/lottery/days/{date}", Handler::ShowDay),
    Route::new(
        "POST",
        "/api/v1/lottery/days/{date}/prepare",
        Handler::PrepareClose,
    ),
    Route::new(
        "POST",
        "/api/v1/lottery/days/{date}/commit",
        Handler::CommitClose,
    ),
    Route::new(
        "POST",
        "/api/v1/lottery/days/{date}/cancel",
        Handler::CancelClose,
    ),
    Route::new("POST", "/api/v1/lottery/sync", Handler::Sync),
    Route::new("GET", "/api/v1/lottery/sync", Handler::SyncStatus),
    Route::new("GET", "/", Handler::Page),
    Route::new("GET", "/assets/{name}", Handler::PageAsset),
];

/// Finds the route for a request, runs it and answers; after a write that
/// changed data, syncs with the cloud once the answer is sent, so a clerk
/// never waits on the network (Spin runs a handler on after its answer).
pub async fn dispatch(request: IncomingRequest, out: ResponseOutparam) {
    let method = tombola_edge::host::method_name(&request.method());
    let target = request.path_with_query().unwrap_or_default();
    let (path, query) = route::split_target(&target);
    let span = tracing::info_span!("request", %method, %path);
    let _entered = span.enter();
    let found = route::find(ROUTES, &method, path);
    let changes = found
        .as_ref()
        .is_ok_and(|(route, _)| route.handler.changes_data());
    let result = match found {
        Ok((route, params)) => serve(route.handler, &params, query, request).await,
        Err(miss) => Err(miss.into_error(&method, path)),
    };
    let answer = result.unwrap_or_else(|error| {
        error.log(&method, path);
        error.render(Format::Problem)
    });
    let wrote = changes && answer.status() < &300;
    let after = wrote.then(sync::AfterWrite::claim).flatten();
    tombola_edge::outparam::send_whole(out, answer).await;
    if let Some(after) = after {
        after.run();
    }
}

async fn serve(
    handler: Handler,
    params: &Params<'_>,
    query: &str,
    incoming: IncomingRequest,
) -> Result<Response, ApiError> {
    if handler.needs_token() {
        auth::require_store(&incoming)?;
    }
    let body = if handler.body() {
        request::body(incoming).await?
    } else {
        Vec::new()
    };
    // The database is opened (and migrated) by the routes that use it.
    answer(handler, params, query, &body, Db::open)
}

fn answer(
    handler: Handler,
    params: &Params<'_>,
    query: &str,
    body: &[u8],
    db: fn() -> Result<Db, ApiError>,
) -> Result<Response, ApiError> {
    match handler {
        Handler::Health => health::get(&db()?),
        Handler::OpenApi => Ok(openapi::document()),
        Handler::ListGames => games::list(&db()?),
        Handler::PutGame => games::put(&db()?, request::game_code(params, "code")?, body),
        Handler::ListBins => bins::list(&db()?),
        Handler::CreateBins => bins::create(&db()?, body),
        Handler::ListPacks => packs::list(&db()?, query),
        Handler::ReceivePack => packs::receive(&db()?, body),
        Handler::ShowPack => packs::show(&db()?, request::pack_key(params)?),
        Handler::ActivatePack => packs::activate(&db()?, request::pack_key(params)?, body),
        Handler::SettlePack => packs::settle(&db()?, request::pack_key(params)?),
        Handler::ReturnPack => packs::return_pack(&db()?, request::pack_key(params)?, body),
        Handler::ParseBarcode => barcodes::parse(&db()?, body),
        Handler::ListDays => days::list(&db()?, query),
        Handler::OpenDay => days::open(&db()?, body),
        Handler::CurrentDay => days::current(&db()?),
        Handler::ShowDay => days::show(&db()?, request::date(params)?),
        Handler::PrepareClose => days::prepare(&db()?, request::date(params)?, body),
        Handler::CommitClose => days::commit(&db()?, request::date(params)?),
        Handler::CancelClose => days::cancel(&db()?, request::date(params)?),
        Handler::Sync => sync::post(&db()?),
        Handler::SyncStatus => sync::get(&db()?),
        Handler::Page => Ok(page::index()),
        Handler::PageAsset => page::asset(params.raw("name").unwrap_or_default()),
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
    fn the_current_day_is_not_read_as_a_date() {
        let (route, _) = route::find(ROUTES, "GET", "/api/v1/lottery/days/current").unwrap();
        assert_eq!(route.handler, Handler::CurrentDay);
        let (route, params) =
            route::find(ROUTES, "GET", "/api/v1/lottery/days/2025-06-02").unwrap();
        assert_eq!(
            (route.handler, params.raw("date")),
            (Handler::ShowDay, Some("2025-06-02"))
        );
    }

    #[test]
    fn only_writes_read_a_body() {
        for route in ROUTES {
            if route.handler.body() {
                assert_ne!(route.method, "GET", "{}", route.path);
            }
        }
    }
}
