//! Tombola's operators' console: a Spin HTTP component that serves, under
//! `/console/`, one page compiled in with its stylesheet and script. The
//! page calls the cloud app's APIs on the same origin (the draw engine
//! under `/v1`, the state API under `/api/v1/state`, the lottery cloud
//! under `/v1/lottery` where the app has it); this component reads no
//! store and holds no token.
//!
//! # Layout
//! - [`ROUTES`] and [`serve`]: the route table and what answers it;
//!   `openapi.json` documents it, held to the table by a test.
//! - [`ASSETS`]: the page's files, each answered whole with its content
//!   type and length by `tombola_edge::assets`.

use spin_sdk::http::{IncomingRequest, Response};
use tombola_edge::assets::{self, Asset};
use tombola_edge::error::{ApiError, Format};
use tombola_edge::route::{self, Params, Route};

/// What serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `GET /console` and `GET /console/`: the page
    Page,
    /// `GET /console/{name}`: one of the page's files
    Asset,
    /// `GET /console/openapi.json`: this component's OpenAPI document
    OpenApi,
}

/// Every route the component serves.
pub const ROUTES: &[Route<Handler>] = &[
    Route::new("GET", "/console", Handler::Page),
    Route::new("GET", "/console/", Handler::Page),
    Route::new("GET", "/console/openapi.json", Handler::OpenApi),
    Route::new("GET", "/console/{name}", Handler::Asset),
];

/// The component's OpenAPI document.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// The page's HTML.
pub const INDEX: &str = include_str!("../assets/index.html");

/// The page's files under `/console/`.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        text: include_str!("../assets/console.css"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../assets/console.js"),
    },
];

/// Answers one route.
///
/// # Errors
///
/// 404 for a file the page does not have.
pub fn serve(handler: Handler, params: &Params<'_>) -> Result<Response, ApiError> {
    match handler {
        Handler::Page => Ok(assets::page(INDEX)),
        Handler::OpenApi => Ok(tombola_edge::document::json(DOCUMENT)),
        Handler::Asset => assets::serve(ASSETS, params.raw("name").unwrap_or_default()),
    }
}

/// The component's entry point (wasm only: the export's name is not a
/// symbol a native linker accepts).
#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_component]
async fn handle(request: IncomingRequest) -> Response {
    tombola_edge::host::init_tracing();
    dispatch(request).await
}

/// Finds the route for a request and answers it.
pub async fn dispatch(request: IncomingRequest) -> Response {
    route::dispatch(
        request,
        ROUTES,
        Format::Problem,
        async |handler, params, _, _| serve(handler, params),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_exactly_the_routes_served() {
        assert_eq!(
            tombola_edge::document::mismatches(DOCUMENT, ROUTES),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_page_and_its_files_are_routed() {
        for path in ["/console", "/console/"] {
            let (route, _) = route::find(ROUTES, "GET", path).unwrap();
            assert_eq!(route.handler, Handler::Page, "{path}");
        }
        let (route, _) = route::find(ROUTES, "GET", "/console/openapi.json").unwrap();
        assert_eq!(route.handler, Handler::OpenApi);
        for asset in ASSETS {
            let path = format!("/console/{}", asset.name);
            let (route, params) = route::find(ROUTES, "GET", &path).unwrap();
            assert_eq!(
                (route.handler, params.raw("name")),
                (Handler::Asset, Some(asset.name))
            );
        }
    }

    #[test]
    fn the_page_links_exactly_its_assets_and_nothing_elsewhere() {
        assert_eq!(
            assets::unlinked(INDEX, "/console/", ASSETS),
            (vec![], false)
        );
        assert_eq!(
            assets::foreign_references(INDEX, ASSETS),
            Vec::<String>::new()
        );
    }
}
