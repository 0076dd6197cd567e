//! Documents a component serves as they are, such as its OpenAPI document.

use spin_sdk::http::Response;

/// A 200 answer carrying a JSON document compiled into the component.
pub fn json(text: &'static str) -> Response {
    crate::answer::bytes(200, "application/json", &[], text.as_bytes().to_vec())
}

/// The `(METHOD, path)` pairs an OpenAPI document describes, for a test
/// that holds it to a component's route table.
///
/// # Panics
///
/// When `text` is not an OpenAPI document with `paths`: a test's failure.
pub fn documented_routes(text: &str) -> std::collections::BTreeSet<(String, String)> {
    let doc: serde_json::Value = serde_json::from_str(text).expect("the document is JSON");
    let mut routes = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("the document has paths") {
        for method in item.as_object().expect("a path item is an object").keys() {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    routes
}

/// Checks an OpenAPI document against a route table: its version is 3.1.0,
/// it describes exactly the routes, and every `$ref` resolves. The
/// problems found, empty when there is none.
///
/// # Panics
///
/// When `text` is not an OpenAPI document: a test's failure.
pub fn mismatches<H>(text: &str, routes: &[crate::route::Route<H>]) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(text).expect("the document is JSON");
    let mut problems = Vec::new();
    if doc["openapi"] != "3.1.0" {
        problems.push(format!("openapi is {}, not 3.1.0", doc["openapi"]));
    }
    let documented = documented_routes(text);
    let served: std::collections::BTreeSet<_> = routes
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    for (method, path) in served.difference(&documented) {
        problems.push(format!("{method} {path} is served but not documented"));
    }
    for (method, path) in documented.difference(&served) {
        problems.push(format!("{method} {path} is documented but not served"));
    }
    problems.extend(
        dangling_references(text)
            .into_iter()
            .map(|r| format!("dangling {r}")),
    );
    problems
}

/// Every `$ref` of an OpenAPI document that points at nothing in it.
///
/// # Panics
///
/// When `text` is not JSON: a test's failure.
pub fn dangling_references(text: &str) -> Vec<String> {
    fn walk(value: &serde_json::Value, doc: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(reference) = map.get("$ref").and_then(|r| r.as_str())
                    && doc.pointer(reference.trim_start_matches('#')).is_none()
                {
                    out.push(reference.to_owned());
                }
                map.values().for_each(|v| walk(v, doc, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, doc, out)),
            _ => {}
        }
    }
    let doc: serde_json::Value = serde_json::from_str(text).expect("the document is JSON");
    let mut out = Vec::new();
    walk(&doc, &doc, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_references_are_read() {
        let text = r##"{"paths": {"/a": {"get": {"$ref": "#/x"}, "post": {}}}, "x": {"$ref": "#/nowhere"}}"##;
        assert_eq!(
            documented_routes(text).into_iter().collect::<Vec<_>>(),
            [
                ("GET".to_owned(), "/a".to_owned()),
                ("POST".to_owned(), "/a".to_owned())
            ]
        );
        assert_eq!(dangling_references(text), ["#/nowhere"]);
        let routes = [
            crate::route::Route::new("GET", "/a", ()),
            crate::route::Route::new("GET", "/b", ()),
        ];
        assert_eq!(
            mismatches(text, &routes),
            [
                "openapi is null, not 3.1.0",
                "GET /b is served but not documented",
                "POST /a is documented but not served",
                "dangling #/nowhere",
            ]
        );
    }
}
