//! `GET /api/v1/state/openapi.json`: the OpenAPI 3.1 document of every
//! route, served without a token.
//!
//! The document is a file of its own (`openapi.json`), checked by the
//! tests below against [`crate::router::ROUTES`] (paths, methods, tokens)
//! and against the limits in the code, so it cannot drift from what the
//! component serves.

use spin_sdk::http::Response;

/// The document's text.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// The document as a response.
pub fn document() -> Response {
    tombola_edge::document::json(DOCUMENT)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};
    use tombola_core::state::{
        DEFAULT_LIST_LIMIT, IDEMPOTENCY_KEY_HEADER, IdempotencyKey, MAX_IDEMPOTENCY_KEY_LEN,
        MAX_KEY_LEN, MAX_LIST_LIMIT, MAX_SOURCE_LEN, MAX_TTL_SECS, RESERVED_KEYS,
        RESERVED_PREFIXES, is_idempotency_key_char,
    };
    use tombola_edge::redis::Outcome;
    use tombola_edge::route::Route;

    use super::*;
    use crate::auth::Access;
    use crate::feed::{MAX_EVENTS, MAX_WAIT_SECS};
    use crate::router::{Handler, ROUTES};

    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    fn doc() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
    }

    /// Follows a local `$ref`, if `value` is one.
    fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => doc
                .pointer(reference.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling {reference}")),
            None => value,
        }
    }

    fn operation<'a>(doc: &'a Value, route: &Route<Handler>) -> &'a Value {
        &doc["paths"][route.documented_path()][route.method.to_lowercase()]
    }

    fn parameter<'a>(doc: &'a Value, route: &Route<Handler>, name: &str) -> &'a Value {
        operation(doc, route)["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| resolve(doc, p))
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{} {} has no {name}", route.method, route.path))
    }

    fn route(method: &str, path: &str) -> &'static Route<Handler> {
        ROUTES
            .iter()
            .find(|r| r.method == method && r.path.ends_with(path))
            .unwrap()
    }

    #[test]
    fn documents_exactly_the_routes_served() {
        let doc = doc();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        let documented: BTreeSet<_> = paths
            .iter()
            .flat_map(|(path, item)| {
                let methods = item.as_object().unwrap().keys();
                methods.map(move |method| {
                    assert!(METHODS.contains(&method.as_str()), "{path} has {method}");
                    (method.to_uppercase(), path.clone())
                })
            })
            .collect();
        let served: BTreeSet<_> = ROUTES
            .iter()
            .map(|r| (r.method.to_owned(), r.documented_path()))
            .collect();
        assert_eq!(documented, served);
    }

    #[test]
    fn each_route_declares_the_token_it_needs() {
        let doc = doc();
        let schemes = &doc["components"]["securitySchemes"];
        for scheme in ["admin", "reader"] {
            assert_eq!(
                (&schemes[scheme]["type"], &schemes[scheme]["scheme"]),
                (&json!("http"), &json!("bearer")),
                "{scheme}"
            );
        }
        for route in ROUTES {
            let operation = operation(&doc, route);
            let expected = match route.handler.access() {
                Access::Public => None,
                Access::Read => Some(json!([{"reader": []}, {"admin": []}])),
                Access::Write => Some(json!([{"admin": []}])),
            };
            assert_eq!(
                operation.get("security").cloned(),
                expected,
                "{} {}",
                route.method,
                route.path
            );
            let responses = operation["responses"].as_object().unwrap();
            let refuses = responses.contains_key("401") && responses.contains_key("403");
            assert_eq!(
                refuses,
                route.handler.access() != Access::Public,
                "{} {}",
                route.method,
                route.path
            );
        }
    }

    #[test]
    fn path_parameters_are_the_templates_own() {
        let doc = doc();
        for route in ROUTES {
            let path = route.documented_path();
            let templated: Vec<_> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            let declared: Vec<_> = operation(&doc, route)["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| resolve(&doc, p))
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    assert_eq!(p["required"], true, "{}", route.path);
                    p["name"].as_str().unwrap()
                })
                .collect();
            assert_eq!(declared, templated, "{} {}", route.method, route.path);
            if !templated.is_empty() && route.method != "PUT" {
                let responses = operation(&doc, route)["responses"].as_object().unwrap();
                assert!(
                    responses.contains_key("400") && responses.contains_key("404"),
                    "{} {}",
                    route.method,
                    route.path
                );
            }
        }
    }

    #[test]
    fn every_answer_is_json_and_every_503_says_when_to_retry() {
        let doc = doc();
        for route in ROUTES {
            for (status, response) in operation(&doc, route)["responses"].as_object().unwrap() {
                let response = resolve(&doc, response);
                let what = format!("{} {} {status}", route.method, route.path);
                // The metrics are Prometheus's text, the feed may be an
                // event stream; every other answer is JSON.
                let content_types: &[&str] = match (route.handler, status.as_str()) {
                    (Handler::Metrics, "200") => &[tombola_edge::metrics::CONTENT_TYPE],
                    (Handler::Events, "200") => &["application/json", crate::stream::EVENT_STREAM],
                    _ => &["application/json"],
                };
                let content = response["content"].as_object().unwrap();
                let documented: Vec<&str> = content.keys().map(String::as_str).collect();
                assert_eq!(documented, content_types, "{what}");
                for content_type in content_types {
                    assert!(content[*content_type]["schema"].is_object(), "{what}");
                }
                if status == "503" {
                    assert_eq!(
                        response["headers"]["Retry-After"]["required"], true,
                        "{what}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_limits_are_the_codes() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let get = route("GET", "{key*}");
        let path_key = resolve(&doc, &parameter(&doc, get, "key")["schema"]);
        assert_eq!(path_key, &schemas["Key"], "a path key is any key");
        let key = schemas["Key"]["pattern"].as_str().unwrap();
        assert!(key.ends_with(&format!("]{{1,{MAX_KEY_LEN}}}$")), "{key}");
        for name in RESERVED_KEYS {
            let e = name.replace('.', "\\.");
            let alternative = [format!("(?:{e}|"), format!("|{e}|"), format!("|{e})")];
            assert!(
                alternative.iter().any(|a| key.contains(a.as_str())),
                "{name} is not refused by {key}"
            );
        }
        for prefix in RESERVED_PREFIXES {
            assert!(key.contains(&format!("$|{prefix})")), "{prefix} in {key}");
        }
        assert_eq!(
            schemas["Metadata"]["properties"]["ttl"]["maximum"],
            MAX_TTL_SECS
        );
        assert_eq!(schemas["Source"]["maxLength"], MAX_SOURCE_LEN);
        let x_source = parameter(&doc, route("PUT", "{key*}"), "X-Source")["schema"]["pattern"]
            .as_str()
            .unwrap();
        assert!(
            x_source.contains(&format!("{{0,{}}}", MAX_SOURCE_LEN - 2)),
            "{x_source}"
        );
        let keys = route("GET", "/keys");
        let limit = &parameter(&doc, keys, "limit")["schema"];
        assert_eq!(
            (&limit["minimum"], &limit["maximum"], &limit["default"]),
            (
                &json!(1),
                &json!(MAX_LIST_LIMIT),
                &json!(DEFAULT_LIST_LIMIT)
            )
        );
        let events = route("GET", "/events");
        let wait = &parameter(&doc, events, "wait")["schema"];
        assert_eq!(
            (&wait["minimum"], &wait["maximum"]),
            (&json!(0), &json!(MAX_WAIT_SECS))
        );
        let limit = &parameter(&doc, events, "limit")["schema"];
        assert_eq!(
            (&limit["minimum"], &limit["maximum"], &limit["default"]),
            (&json!(1), &json!(MAX_EVENTS), &json!(MAX_EVENTS))
        );
        assert_eq!(
            schemas["Events"]["properties"]["events"]["maxItems"],
            MAX_EVENTS * tombola_core::state::txn::MAX_TXN_OPS as u64
        );
        assert_eq!(
            schemas["Listing"]["properties"]["keys"]["maxItems"],
            MAX_LIST_LIMIT
        );
    }

    /// The characters a regular expression's `[...]` class admits, of
    /// printable ASCII: ranges `a-z` and single characters (a `-` last).
    fn class_admits(class: &str) -> BTreeSet<char> {
        let chars: Vec<char> = class.chars().collect();
        let mut admitted = BTreeSet::new();
        let mut i = 0;
        while i < chars.len() {
            if i + 2 < chars.len() && chars[i + 1] == '-' {
                admitted.extend(chars[i]..=chars[i + 2]);
                i += 3;
            } else {
                admitted.insert(chars[i]);
                i += 1;
            }
        }
        admitted
    }

    #[test]
    fn every_write_takes_an_idempotency_key_as_the_core_reads_it() {
        let doc = doc();
        let header = &doc["components"]["parameters"]["IdempotencyKey"];
        assert_eq!(header["name"], IDEMPOTENCY_KEY_HEADER);
        assert_eq!(
            (&header["in"], &header["required"]),
            (&json!("header"), &json!(false))
        );
        let pattern = header["schema"]["pattern"].as_str().unwrap();
        let class = pattern
            .split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(class, _)| class)
            .unwrap();
        let bare = format!("[{class}]{{1,{MAX_IDEMPOTENCY_KEY_LEN}}}");
        assert_eq!(
            pattern,
            format!("^(?:{bare}|\"{bare}\")$"),
            "bare or quoted, at most the core's length"
        );
        let core: BTreeSet<char> = (' '..='~')
            .filter(|&c| is_idempotency_key_char(c))
            .collect();
        assert_eq!(class_admits(class), core);
        for key in [
            "8e03978e-40d5",
            "a/b+c=",
            &"k".repeat(MAX_IDEMPOTENCY_KEY_LEN),
        ] {
            assert!(IdempotencyKey::parse(key).is_ok(), "{key}");
        }

        let reused = &doc["components"]["schemas"]["IdempotencyKeyReused"];
        assert_eq!(
            reused["properties"]["code"]["const"],
            "idempotency-key-reused"
        );
        for route in ROUTES {
            let operation = operation(&doc, route);
            let what = format!("{} {}", route.method, route.path);
            let takes_key = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["$ref"] == "#/components/parameters/IdempotencyKey");
            assert_eq!(takes_key, route.handler.access() == Access::Write, "{what}");
            if route.handler.access() != Access::Write {
                continue;
            }
            let responses = operation["responses"].as_object().unwrap();
            let conflict = resolve(&doc, &responses["409"]).to_string();
            assert!(
                conflict.contains("#/components/schemas/IdempotencyKeyReused"),
                "{what}"
            );
            assert!(responses.contains_key("400"), "{what}: a malformed key");
            for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('2')) {
                assert_eq!(
                    response["headers"]["Idempotent-Replayed"]["schema"]["const"], "true",
                    "{what} {status}"
                );
            }
        }
    }

    #[test]
    fn a_failed_write_names_its_outcome() {
        let doc = doc();
        let outcomes = json!([Outcome::NotWritten.name(), Outcome::Unknown.name()]);
        for error in ["Unavailable", "ServerError"] {
            let schema = &doc["components"]["schemas"][error];
            assert_eq!(schema["properties"]["outcome"]["enum"], outcomes, "{error}");
            assert!(
                !schema["required"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("outcome")),
                "a read has no outcome"
            );
        }
    }

    #[test]
    fn bodies_refuse_members_the_server_refuses() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        for (body, required) in [
            ("PutBody", json!(["value"])),
            ("CasBody", json!(["key", "expected", "new_value"])),
        ] {
            assert_eq!(schemas[body]["additionalProperties"], false, "{body}");
            assert_eq!(schemas[body]["required"], required, "{body}");
        }
    }

    #[test]
    fn every_reference_resolves() {
        fn walk(value: &Value, doc: &Value) {
            match value {
                Value::Object(map) => {
                    if map.contains_key("$ref") {
                        resolve(doc, value);
                    }
                    map.values().for_each(|v| walk(v, doc));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, doc)),
                _ => {}
            }
        }
        let doc = doc();
        walk(&doc, &doc);
    }
}
