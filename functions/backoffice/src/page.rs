//! `GET /` and `GET /assets/{name}`: the store's lottery page, compiled
//! into the component so it is served with no network and nothing to build.
//!
//! The page (`assets/`) is plain HTML, CSS and JavaScript that calls this
//! component's API on the same origin.

use spin_sdk::http::Response;
use tombola_edge::assets::{self, Asset};
use tombola_edge::error::ApiError;

/// The page's files under `/assets/`. The page itself is [`INDEX`].
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "page.css",
        content_type: "text/css; charset=utf-8",
        text: include_str!("../assets/page.css"),
    },
    Asset {
        name: "page.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../assets/page.js"),
    },
];

/// The page's HTML.
pub const INDEX: &str = include_str!("../assets/index.html");

/// `GET /`: the page.
pub fn index() -> Response {
    assets::page(INDEX)
}

/// `GET /assets/{name}`: one of [`ASSETS`]; 404 for any other name.
pub fn asset(name: &str) -> Result<Response, ApiError> {
    assets::serve(ASSETS, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_links_exactly_its_assets_and_nothing_elsewhere() {
        assert_eq!(assets::unlinked(INDEX, "/assets/", ASSETS), (vec![], false));
        assert_eq!(
            assets::foreign_references(INDEX, ASSETS),
            Vec::<String>::new()
        );
    }
}
