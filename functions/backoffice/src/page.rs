//! `GET /` and `GET /assets/{name}`: the store's lottery page, compiled
//! into the component so it is served with no network and nothing to build.
//!
//! The page (`assets/`) is plain HTML, CSS and JavaScript that calls this
//! component's API on the same origin; each file is answered whole with its
//! content type and length.

use spin_sdk::http::Response;
use tombola_edge::answer;
use tombola_edge::error::ApiError;

/// Every file the page is made of: its name under `/assets/`, its content
/// type and its text. The page itself is [`INDEX`].
pub const ASSETS: &[(&str, &str, &str)] = &[
    (
        "page.css",
        "text/css; charset=utf-8",
        include_str!("../assets/page.css"),
    ),
    (
        "page.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/page.js"),
    ),
];

/// The page's HTML.
pub const INDEX: &str = include_str!("../assets/index.html");

/// The page's files change with the component: a browser revalidates them.
const CACHE: (&str, &str) = ("cache-control", "no-cache");

/// `GET /`: the page.
pub fn index() -> Response {
    file("text/html; charset=utf-8", INDEX)
}

/// `GET /assets/{name}`: one of [`ASSETS`]; 404 for any other name.
pub fn asset(name: &str) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|(file, _, _)| *file == name)
        .map(|(_, content_type, text)| file(content_type, text))
        .ok_or_else(|| {
            ApiError::not_found(
                "not-found",
                "No such file",
                format!("the page has no file {name:?}"),
            )
        })
}

fn file(content_type: &str, text: &str) -> Response {
    answer::bytes(
        200,
        content_type,
        &[(CACHE.0, CACHE.1.to_owned())],
        text.as_bytes().to_vec(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_links_exactly_its_assets() {
        for (name, _, _) in ASSETS {
            assert!(
                INDEX.contains(&format!("\"/assets/{name}\"")),
                "{name} is not linked"
            );
        }
        assert_eq!(INDEX.matches("\"/assets/").count(), ASSETS.len());
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for text in ASSETS.iter().map(|(_, _, t)| *t).chain([INDEX]) {
            assert!(!text.contains("http://") && !text.contains("https://"));
        }
    }

    #[test]
    fn an_unknown_file_is_not_found() {
        assert_eq!(asset("secrets.txt").unwrap_err().status, 404);
    }
}
