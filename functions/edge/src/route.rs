//! Route tables: a method and a path template per route, matched in table
//! order, with typed path parameters.
//!
//! A template is a path whose segments may be `{name}`, one non-empty
//! segment, or (last) `{name*}`, the rest of the path, slashes included.
//! The first template that matches a path decides it; when none of its
//! routes takes the method, the answer is 405 with the methods they take.
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

use crate::error::ApiError;

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
}

/// The path parameters a template captured, in template order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params<'a>(Vec<(&'static str, &'a str)>);

impl<'a> Params<'a> {
    /// The raw text of parameter `name`, as it stood in the path.
    pub fn raw(&self, name: &str) -> Option<&'a str> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// Parameter `name` parsed by `parse`.
    ///
    /// # Errors
    ///
    /// 400 naming the parameter when `parse` refuses it, or when the
    /// route's template has no such parameter (a route table bug, but
    /// still an answer rather than a panic).
    pub fn get<T, E: Display>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, ApiError> {
        let text = self
            .raw(name)
            .ok_or_else(|| ApiError::bad_request(name, format!("the path has no {name}")))?;
        parse(text).map_err(|e| ApiError::bad_request(name, format!("{name} {text:?} {e}")))
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

/// Splits a request target into its path and its query (empty when there
/// is none).
pub fn split_target(target: &str) -> (&str, &str) {
    target.split_once('?').unwrap_or((target, ""))
}

/// The value of query parameter `name`, if present (not percent-decoded:
/// every value Tombola's queries take is an id or a number).
pub fn query<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A numeric query parameter within `range`, or `default` when absent.
///
/// # Errors
///
/// 400 naming the parameter when it is not a whole number in `range`.
pub fn query_number(
    query_string: &str,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ApiError> {
    match query(query_string, name) {
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
        assert!(query_number("limit=x", "limit", 100, 1..=1000).is_err());
        assert_eq!(split_target("/a?b=1"), ("/a", "b=1"));
        assert_eq!(split_target("/a"), ("/a", ""));
    }
}
