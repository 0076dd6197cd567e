//! `GET /v1/openapi.json`: the OpenAPI 3.1 document of every route.
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
    }

    #[test]
    fn operator_routes_and_only_they_require_the_admin_token() {
        let doc = doc();
        for route in ROUTES {
            let operation = &doc["paths"][route.path][route.method.to_lowercase()];
            let secured = operation.get("security").is_some();
            let admin = route.handler.admin();
            // The metrics take the reader token too.
            let reader = route.handler == crate::router::Handler::Metrics;
            assert_eq!(secured, admin || reader, "{} {}", route.method, route.path);
            let responses = operation["responses"].as_object().unwrap();
            if secured {
                assert!(responses.contains_key("401") && responses.contains_key("403"));
            }
            if route.path.contains("{pool}") {
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
