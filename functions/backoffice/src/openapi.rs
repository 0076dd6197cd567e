//! `GET /api/v1/lottery/openapi.json`: the OpenAPI 3.1 document of every
//! route.
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
    fn routes_with_the_store_token_and_only_they_are_secured() {
        let doc = doc();
        for route in ROUTES {
            let operation = &doc["paths"][route.path][route.method.to_lowercase()];
            let secured = operation.get("security").is_some();
            assert_eq!(
                secured,
                route.handler.needs_token(),
                "{} {}",
                route.method,
                route.path
            );
            let responses = operation["responses"].as_object().unwrap();
            if secured {
                assert!(
                    responses.contains_key("401") && responses.contains_key("403"),
                    "{} {}",
                    route.method,
                    route.path
                );
            }
            if route.handler.body() {
                assert!(
                    operation.get("requestBody").is_some() && responses.contains_key("400"),
                    "{} {} reads a body",
                    route.method,
                    route.path
                );
            }
            // A pack or a day named in the path may not exist; a game named
            // in a PUT is created.
            if route.path.contains("{number}") || route.path.contains("{date}") {
                assert!(
                    responses.contains_key("404"),
                    "{} {}",
                    route.method,
                    route.path
                );
            }
            assert!(
                route.handler.needs_db() <= responses.contains_key("503"),
                "{} {} uses the database but documents no 503",
                route.method,
                route.path
            );
        }
    }

    #[test]
    fn the_body_limit_is_the_documented_one() {
        let doc = doc();
        assert_eq!(
            doc["info"]["x-max-body-bytes"],
            crate::request::MAX_BODY,
            "info.x-max-body-bytes"
        );
    }
}
