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
//!   type and length.

use spin_sdk::http::{IncomingRequest, Response};
use tombola_edge::answer;
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

/// The page's files under `/console/`: name, content type, text.
pub const ASSETS: &[(&str, &str, &str)] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../assets/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/console.js"),
    ),
];

/// Answers one route.
///
/// # Errors
///
/// 404 for a file the page does not have.
pub fn serve(handler: Handler, params: &Params<'_>) -> Result<Response, ApiError> {
    match handler {
        Handler::Page => Ok(file("text/html; charset=utf-8", INDEX)),
        Handler::OpenApi => Ok(tombola_edge::document::json(DOCUMENT)),
        Handler::Asset => {
            let name = params.raw("name").unwrap_or_default();
            ASSETS
                .iter()
                .find(|(file, _, _)| *file == name)
                .map(|(_, content_type, text)| file(content_type, text))
                .ok_or_else(|| {
                    ApiError::not_found(
                        "not-found",
                        "No such file",
                        format!("the console has no file {name:?}"),
                    )
                })
        }
    }
}

/// A file answered whole; browsers revalidate it, as it changes with the
/// component.
fn file(content_type: &str, text: &str) -> Response {
    answer::bytes(
        200,
        content_type,
        &[("cache-control", "no-cache".to_owned())],
        text.as_bytes().to_vec(),
    )
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
        for (name, _, _) in ASSETS {
            let path = format!("/console/{name}");
            let (route, params) = route::find(ROUTES, "GET", &path).unwrap();
            assert_eq!(
                (route.handler, params.raw("name")),
                (Handler::Asset, Some(*name))
            );
            assert!(
                INDEX.contains(&format!("\"{path}\"")),
                "{name} is not linked"
            );
        }
        assert_eq!(INDEX.matches("\"/console/console.").count(), ASSETS.len());
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for text in ASSETS.iter().map(|(_, _, t)| *t).chain([INDEX]) {
            assert!(!text.contains("http://") && !text.contains("https://"));
        }
    }

    #[test]
    fn an_unknown_file_is_not_found() {
        let params = route::match_template("/console/{name}", "/console/x.txt").unwrap();
        assert_eq!(serve(Handler::Asset, &params).unwrap_err().status, 404);
    }
}
