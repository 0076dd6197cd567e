//! `GET /v1/lottery/openapi.json`: the OpenAPI 3.1 document of every route.
//!
//! The document is a file of its own (`openapi.json`), checked against
//! [`crate::router::ROUTES`] by the tests below, so it cannot drift from
//! what the component serves.

use spin_sdk::http::Response;

/// The document's text.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// The document as a response.
pub fn document() -> Response {
    tombola_edge::document::json(DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::ROUTES;

    fn doc() -> serde_json::Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
    }

    #[test]
    fn documents_exactly_the_routes_served() {
        assert_eq!(
            tombola_edge::document::mismatches(DOCUMENT, ROUTES),
            Vec::<String>::new()
        );
        assert_eq!(
            tombola_edge::document::dangling_references(DOCUMENT),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_route_documents_its_token_and_its_refusals() {
        let doc = doc();
        for route in ROUTES {
            let operation = &doc["paths"][route.path][route.method.to_lowercase()];
            let security = operation["security"].as_array();
            let schemes: Vec<&str> = security
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_object()?.keys().next().map(String::as_str))
                .collect();
            let expected: Vec<&str> = if route.handler.admin() {
                vec!["admin"]
            } else if route.handler.store_key() {
                vec!["storeKey"]
            } else {
                vec![]
            };
            assert_eq!(schemes, expected, "{} {}", route.method, route.path);
            let responses = operation["responses"].as_object().unwrap();
            if !expected.is_empty() {
                assert!(
                    responses.contains_key("401") && responses.contains_key("403"),
                    "{} {}",
                    route.method,
                    route.path
                );
            }
            if route.path.contains("{store}") || route.path.contains("{code}") {
                assert!(
                    responses.contains_key("404"),
                    "{} {}",
                    route.method,
                    route.path
                );
            }
        }
    }
}
