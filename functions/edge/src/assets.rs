//! A page's files compiled into a component: each answered whole, with its
//! content type and length, and revalidated by browsers (`no-cache`), as
//! it changes with the component.

use spin_sdk::http::Response;

use crate::error::ApiError;

/// One file of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// Its name in the page's URLs.
    pub name: &'static str,
    /// Its `content-type`.
    pub content_type: &'static str,
    /// Its text.
    pub text: &'static str,
}

/// An HTML page.
pub fn page(html: &'static str) -> Response {
    answer("text/html; charset=utf-8", html)
}

/// The asset of `assets` named `name`.
///
/// # Errors
///
/// 404 `not-found` for any other name.
pub fn serve(assets: &[Asset], name: &str) -> Result<Response, ApiError> {
    assets
        .iter()
        .find(|asset| asset.name == name)
        .map(|asset| answer(asset.content_type, asset.text))
        .ok_or_else(|| {
            ApiError::not_found(
                "not-found",
                "No such file",
                format!("the page has no file {name:?}"),
            )
        })
}

/// The texts of `html` and `assets` that name another origin (`http://` or
/// `https://`): a page must load nothing from elsewhere.
pub fn foreign_references(html: &str, assets: &[Asset]) -> Vec<String> {
    std::iter::once(("page", html))
        .chain(assets.iter().map(|a| (a.name, a.text)))
        .filter(|(_, text)| text.contains("http://") || text.contains("https://"))
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// The assets `html` does not link as `"{prefix}{name}"`, and whether it
/// links anything else under `prefix`.
pub fn unlinked(html: &str, prefix: &str, assets: &[Asset]) -> (Vec<&'static str>, bool) {
    let missing = assets
        .iter()
        .filter(|a| !html.contains(&format!("\"{prefix}{}\"", a.name)))
        .map(|a| a.name)
        .collect();
    let extra = html.matches(&format!("\"{prefix}")).count() != assets.len();
    (missing, extra)
}

fn answer(content_type: &str, text: &str) -> Response {
    crate::answer::bytes(
        200,
        content_type,
        &[("cache-control", "no-cache".to_owned())],
        text.as_bytes().to_vec(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSETS: &[Asset] = &[Asset {
        name: "a.js",
        content_type: "text/javascript",
        text: "let x = 1;",
    }];

    #[test]
    fn an_unknown_file_is_not_found() {
        assert_eq!(serve(ASSETS, "b.js").unwrap_err().status, 404);
    }

    #[test]
    fn links_and_foreign_origins_are_found() {
        assert_eq!(
            unlinked("<script src=\"/p/a.js\">", "/p/", ASSETS),
            (vec![], false)
        );
        assert_eq!(unlinked("<p>", "/p/", ASSETS), (vec!["a.js"], true));
        assert_eq!(
            foreign_references("<img src=\"https://cdn.example/x.png\">", ASSETS),
            ["page"]
        );
        assert!(foreign_references("<p>", ASSETS).is_empty());
    }
}
