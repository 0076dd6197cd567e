//! Route tables: a method and a path template per route, matched in table
//! order, with typed path parameters.
//!
//! A template is a path whose segments may be `{name}`, one non-empty
//! segment, or (last) `{name*}`, the rest of the path, slashes included.
//! The first template that matches a path decides it; when none of its
//! routes takes the method, the answer is 405 with the methods they take.
//! Matching reads the path as sent, so an encoded `/` (`%2F`) never moves
//! a request to another route; a parameter is percent-decoded once
//! matched ([`Params::get`]), as are query values ([`query`]).
//!
//! ```
//! use tombola_edge::route::{find, Miss, Route};
//!
//! const ROUTES: &[Route<u8>] = &[
//!     Route::new("GET", "/v1/pools/{pool}", 1),
//!     Route::new("POST", "/v1/pools/{pool}/draws", 2),
//!     Route::new("GET", "/state/{key*}", 3),
//! ];
//! let (route, params) = find(ROUTES, "POST", "/v1/pools/summer/draws").unwrap();
//! assert_eq!((route.handler, params.raw("pool")), (2, Some("summer")));
//! let (_, params) = find(ROUTES, "GET", "/state/app/config").unwrap();
//! assert_eq!(params.raw("key"), Some("app/config"));
//! assert_eq!(find(ROUTES, "PUT", "/v1/pools/summer").unwrap_err(), Miss::Method(vec!["GET"]));
//! assert_eq!(find(ROUTES, "GET", "/v1/other").unwrap_err(), Miss::NotFound);
//! ```

use std::fmt::Display;

use spin_sdk::http::{IncomingRequest, Response};

use crate::error::{ApiError, Format};

/// A route: method, path template and what serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<H> {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// What serves it (and what it needs).
    pub handler: H,
}

impl<H> Route<H> {
    /// A route.
    pub const fn new(method: &'static str, path: &'static str, handler: H) -> Self {
        Self {
            method,
            path,
            handler,
        }
    }

    /// The template as OpenAPI spells it: `{name*}` is `{name}`.
    pub fn documented_path(&self) -> String {
        self.path.replace("*}", "}")
    }
}

/// The path parameters a template captured, in template order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params<'a>(Vec<(&'static str, &'a str)>);

impl<'a> Params<'a> {
    /// The raw text of parameter `name`, as it stood in the path.
    pub fn raw(&self, name: &str) -> Option<&'a str> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// Parameter `name`, percent-decoded (OpenAPI clients send `:` as
    /// `%3A`; unlike in a query, `+` is itself), parsed by `parse`.
    ///
    /// # Errors
    ///
    /// 400 naming the parameter when its encoding is broken or not UTF-8,
    /// when `parse` refuses it, or when the route's template has no such
    /// parameter (a route table bug, but still an answer rather than a
    /// panic).
    pub fn get<T, E: Display>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, ApiError> {
        let raw = self
            .raw(name)
            .ok_or_else(|| ApiError::bad_request(name, format!("the path has no {name}")))?;
        let text = percent_decode(raw, false).ok_or_else(|| not_encoded(name))?;
        ApiError::parsed(name, &text, parse)
    }
}

/// Matches `path` against `template`, capturing its parameters.
pub fn match_template<'a>(template: &'static str, path: &'a str) -> Option<Params<'a>> {
    let mut params = Vec::new();
    let mut rest = path;
    let mut segments = template.split('/').peekable();
    while let Some(segment) = segments.next() {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix("*}")) {
            if segments.peek().is_some() || rest.is_empty() {
                return None;
            }
            params.push((name, rest));
            return Some(Params(params));
        }
        let (here, next) = match rest.split_once('/') {
            Some((here, next)) => (here, Some(next)),
            None => (rest, None),
        };
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) if !here.is_empty() => params.push((name, here)),
            Some(_) => return None,
            None if segment == here => {}
            None => return None,
        }
        match (next, segments.peek()) {
            (Some(next), Some(_)) => rest = next,
            (None, None) => return Some(Params(params)),
            _ => return None,
        }
    }
    None
}

/// The `(method, path)` pairs a route table lists more than once (a
/// table's own test asserts there are none).
pub fn repeated<H>(routes: &[Route<H>]) -> Vec<(&'static str, &'static str)> {
    let mut seen = std::collections::BTreeSet::new();
    routes
        .iter()
        .filter(|r| !seen.insert((r.method, r.path)))
        .map(|r| (r.method, r.path))
        .collect()
}

/// Why no route serves a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// No template matches the path: 404.
    NotFound,
    /// The path exists, but not with this method: 405, with the methods
    /// it takes.
    Method(Vec<&'static str>),
}

impl Miss {
    /// The error answer for a request `method path` that missed.
    pub fn into_error(self, method: &str, path: &str) -> ApiError {
        match self {
            Miss::NotFound => ApiError::no_route(method, path),
            Miss::Method(allowed) => ApiError::method_not_allowed(method, path, &allowed),
        }
    }
}

/// The route of `routes` for `method` and `path`, with its parameters.
///
/// # Errors
///
/// [`Miss`] when no route serves it.
pub fn find<'r, 'p, H>(
    routes: &'r [Route<H>],
    method: &str,
    path: &'p str,
) -> Result<(&'r Route<H>, Params<'p>), Miss> {
    let (template, params) = routes
        .iter()
        .find_map(|r| match_template(r.path, path).map(|params| (r.path, params)))
        .ok_or(Miss::NotFound)?;
    let same_path = || routes.iter().filter(move |r| r.path == template);
    match same_path().find(|r| r.method == method) {
        Some(route) => Ok((route, params)),
        None => Err(Miss::Method(same_path().map(|r| r.method).collect())),
    }
}

/// Answers `request` from `routes`: `serve` runs the route found, with
/// its handler, path parameters and query; a miss or an error is logged
/// and rendered in `format`.
pub async fn dispatch<H: Copy>(
    request: IncomingRequest,
    routes: &[Route<H>],
    format: Format,
    serve: impl AsyncFnOnce(H, &Params<'_>, &str, IncomingRequest) -> Result<Response, ApiError>,
) -> Response {
    let method = crate::host::method_name(&request.method());
    let target = request.path_with_query().unwrap_or_default();
    let (path, query) = split_target(&target);
    let result = match find(routes, &method, path) {
        Ok((route, params)) => serve(route.handler, &params, query, request).await,
        Err(miss) => Err(miss.into_error(&method, path)),
    };
    result.unwrap_or_else(|error| {
        error.log(&method, path);
        error.render(format)
    })
}

/// Splits a request target into its path and its query (empty when there
/// is none).
pub fn split_target(target: &str) -> (&str, &str) {
    target.split_once('?').unwrap_or((target, ""))
}

fn not_encoded(name: &str) -> ApiError {
    ApiError::bad_request(name, format!("{name} is not valid percent-encoded UTF-8"))
}

/// Decodes `%XX` escapes and, in a query (`plus_is_space`), `+`; `None`
/// when an escape is broken or the result is not UTF-8.
fn percent_decode(text: &str, plus_is_space: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
                continue;
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The percent-decoded value of query parameter `name` (`+` is a space),
/// if present.
///
/// # Errors
///
/// 400 naming the parameter when it is given more than once (which one
/// would count is a guess), or its encoding is broken or not UTF-8.
pub fn query(query: &str, name: &str) -> Result<Option<String>, ApiError> {
    let mut values = query
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v);
    let Some(raw) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::bad_request(
            name,
            format!("{name} is given more than once"),
        ));
    }
    percent_decode(raw, true)
        .map(Some)
        .ok_or_else(|| not_encoded(name))
}

/// A numeric query parameter within `range`, or `default` when absent.
///
/// # Errors
///
/// 400 naming the parameter when it is not a whole number in `range`, or
/// not a single well-encoded value ([`query`]).
pub fn query_number(
    query_string: &str,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ApiError> {
    match query(query_string, name)? {
        None => Ok(default),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    name,
                    format!(
                        "{name} must be a whole number from {} to {}, not {text:?}",
                        range.start(),
                        range.end()
                    ),
                )
            }),
    }
}

/// A boolean query parameter: `true`, `false`, or absent (`false`).
///
/// # Errors
///
/// 400 naming the parameter for any other value.
pub fn query_flag(query_string: &str, name: &str) -> Result<bool, ApiError> {
    match query(query_string, name)?.as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_request(
            name,
            format!("{name} must be true or false, not {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(template: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
        match_template(template, path)
            .map(|p| p.0.into_iter().map(|(n, v)| (n, v.to_owned())).collect())
    }

    #[test]
    fn templates_capture_segments() {
        assert_eq!(
            captured("/v1/pools/{pool}/draws", "/v1/pools/summer/draws"),
            Some(vec![("pool", "summer".into())])
        );
        assert_eq!(captured("/v1/pools/{pool}", "/v1/pools/"), None);
        assert_eq!(captured("/v1/pools/{pool}", "/v1/pools/a/b"), None);
        assert_eq!(captured("/v1/pools/{pool}/draws", "/v1/pools/a"), None);
        assert_eq!(captured("/v1/health", "/v1/health"), Some(vec![]));
        assert_eq!(captured("/v1/health", "/v1/healthz"), None);
        assert_eq!(captured("/v1/health", "/v1/health/"), None);
        assert_eq!(
            captured("/s/{key*}", "/s/a/b/"),
            Some(vec![("key", "a/b/".into())])
        );
        assert_eq!(captured("/s/{key*}", "/s/"), None);
        assert_eq!(
            captured("/s/snapshots/{revision}/restore", "/s/snapshots/4/restore"),
            Some(vec![("revision", "4".into())])
        );
    }

    #[test]
    fn the_first_matching_template_decides() {
        const ROUTES: &[Route<u8>] = &[
            Route::new("GET", "/s/keys", 1),
            Route::new("GET", "/s/{key*}", 2),
            Route::new("PUT", "/s/{key*}", 3),
        ];
        assert_eq!(
            find(ROUTES, "GET", "/s/keys").map(|(r, _)| r.handler),
            Ok(1)
        );
        assert_eq!(
            find(ROUTES, "PUT", "/s/keys").unwrap_err(),
            Miss::Method(vec!["GET"])
        );
        assert_eq!(find(ROUTES, "PUT", "/s/a").map(|(r, _)| r.handler), Ok(3));
    }

    #[test]
    fn parameters_are_typed() {
        let params = match_template("/p/{n}", "/p/x7").unwrap();
        let error = params.get("n", str::parse::<u32>).unwrap_err();
        assert_eq!((error.status, error.field.as_deref()), (400, Some("n")));
        assert_eq!(params.get("n", |t| Ok::<_, String>(t.len())), Ok(2));
        let missing = params.get("m", str::parse::<u32>).unwrap_err();
        assert_eq!(missing.field.as_deref(), Some("m"));
    }

    #[test]
    fn path_parameters_are_percent_decoded_but_plus_is_itself() {
        let text = |raw: &'static str| {
            let params = Params(vec![("key", raw)]);
            params.get("key", |t| Ok::<_, String>(t.to_owned()))
        };
        assert_eq!(text("app%2Fx%3Ay"), Ok("app/x:y".to_owned()));
        assert_eq!(text("app%2fx"), Ok("app/x".to_owned()));
        assert_eq!(text("a+b"), Ok("a+b".to_owned()));
        for bad in ["a%", "a%2", "a%zz", "a%ff"] {
            let error = text(bad).unwrap_err();
            assert_eq!(error.field.as_deref(), Some("key"), "{bad}");
            assert!(error.detail.contains("percent-encoded"), "{bad}");
        }
        let refused = Params(vec![("n", "%41")])
            .get("n", str::parse::<u32>)
            .unwrap_err();
        assert_eq!(&*refused.detail, "n \"A\" invalid digit found in string");
    }

    #[test]
    fn query_values_are_percent_decoded_and_given_once() {
        let prefix = |q: &str| query(q, "prefix");
        assert_eq!(prefix("prefix=app%2Fx&limit=2"), Ok(Some("app/x".into())));
        assert_eq!(prefix("prefix=a+b"), Ok(Some("a b".into())));
        assert_eq!(prefix("limit=2"), Ok(None));
        assert_eq!(prefix("prefix"), Ok(Some(String::new())));
        assert_eq!(
            prefix("limit=1&limit=2"),
            Ok(None),
            "another parameter given twice is not this one's fault"
        );
        let twice = query("limit=1&prefix=a&limit=2", "limit").unwrap_err();
        assert_eq!(twice.field.as_deref(), Some("limit"));
        for bad in ["prefix=%", "prefix=%2", "prefix=%zz", "prefix=%ff"] {
            assert_eq!(
                prefix(bad).unwrap_err().field.as_deref(),
                Some("prefix"),
                "{bad}"
            );
        }
    }

    #[test]
    fn flags_are_true_false_or_absent() {
        assert_eq!(query_flag("m=true", "m"), Ok(true));
        assert_eq!(query_flag("m=false", "m"), Ok(false));
        assert_eq!(query_flag("", "m"), Ok(false));
        assert_eq!(
            query_flag("m=1", "m").unwrap_err().field.as_deref(),
            Some("m")
        );
    }

    #[test]
    fn documented_paths_spell_rest_parameters_as_openapi_does() {
        assert_eq!(
            Route::new("GET", "/s/{key*}", ()).documented_path(),
            "/s/{key}"
        );
        assert_eq!(
            Route::new("GET", "/p/{pool}/x", ()).documented_path(),
            "/p/{pool}/x"
        );
    }

    #[test]
    fn query_numbers_are_bounded() {
        assert_eq!(
            query_number("after=5&limit=10", "limit", 100, 1..=1000),
            Ok(10)
        );
        assert_eq!(query_number("after=5", "limit", 100, 1..=1000), Ok(100));
        let error = query_number("limit=0", "limit", 100, 1..=1000).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("limit"));
        let error = query_number("limit=x", "limit", 100, 1..=1000).unwrap_err();
        assert!(error.detail.ends_with("not \"x\""), "{}", error.detail);
        assert_eq!(query_number("limit=1%30", "limit", 100, 1..=1000), Ok(10));
        assert_eq!(split_target("/a?b=1"), ("/a", "b=1"));
        assert_eq!(split_target("/a"), ("/a", ""));
    }
}
