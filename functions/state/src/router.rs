//! Maps a method and a path under `/api/v1/state` to a handler.
//!
//! [`ROUTES`] is the one list of what the component serves: dispatch reads
//! it, a 405's `Allow` header is read from it, and a test compares the
//! published OpenAPI document ([`crate::openapi`]) with it.
//!
//! A path is matched against the templates in table order, fixed paths
//! first, and the first that matches is the resource, whatever the method.
//! `{key}` is last and takes the rest of the path, `/` included, so a key
//! can never be read back under a fixed route's name: the core refuses
//! those names as keys ([`tombola_core::state::RESERVED_KEYS`] and
//! [`tombola_core::state::RESERVED_PREFIXES`]), and a test holds this
//! table to them. Matching reads the path as sent; a parameter is
//! percent-decoded only once matched ([`request::path_param`]).

use spin_sdk::http::{IncomingRequest, Response};
use tombola_core::state::check_source;

use crate::answer::ApiError;
use crate::auth::{Access, Caller, Tokens};
use crate::backend::Settings;
use crate::store::{Store, WriteFailed};
use crate::{entries, feed, listing, openapi, request, snapshots};

/// Where every route lives.
pub const BASE: &str = "/api/v1/state/";

/// What serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `GET openapi.json`
    OpenApi,
    /// `GET keys`
    Keys,
    /// `GET stats`
    Stats,
    /// `GET events`
    Events,
    /// `POST cas`
    Cas,
    /// `POST snapshot`
    TakeSnapshot,
    /// `GET snapshots`
    ListSnapshots,
    /// `POST snapshots/{revision}/restore`
    Restore,
    /// `GET {key}`
    Get,
    /// `PUT {key}`
    Put,
    /// `DELETE {key}`
    Delete,
}

/// A route: method, path template, the token it needs, and its handler.
///
/// A template holds at most one parameter, `{name}`: `{key}` takes the
/// rest of the path (keys may hold `/`), any other one path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// The token it needs.
    pub access: Access,
    /// What serves it.
    pub handler: Handler,
}

const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    handler: Handler,
) -> Route {
    Route {
        method,
        path,
        access,
        handler,
    }
}

/// Every route the component serves, in matching order.
pub const ROUTES: &[Route] = &[
    route(
        "GET",
        "/api/v1/state/openapi.json",
        Access::Public,
        Handler::OpenApi,
    ),
    route("GET", "/api/v1/state/keys", Access::Read, Handler::Keys),
    route("GET", "/api/v1/state/stats", Access::Read, Handler::Stats),
    route("GET", "/api/v1/state/events", Access::Read, Handler::Events),
    route("POST", "/api/v1/state/cas", Access::Write, Handler::Cas),
    route(
        "POST",
        "/api/v1/state/snapshot",
        Access::Write,
        Handler::TakeSnapshot,
    ),
    route(
        "GET",
        "/api/v1/state/snapshots",
        Access::Read,
        Handler::ListSnapshots,
    ),
    route(
        "POST",
        "/api/v1/state/snapshots/{revision}/restore",
        Access::Write,
        Handler::Restore,
    ),
    route("GET", "/api/v1/state/{key}", Access::Read, Handler::Get),
    route("PUT", "/api/v1/state/{key}", Access::Write, Handler::Put),
    route(
        "DELETE",
        "/api/v1/state/{key}",
        Access::Write,
        Handler::Delete,
    ),
];

/// Matches `path` against `template`: `None` if it does not match, else
/// the parameter's value, if the template has one.
fn capture<'a>(template: &str, path: &'a str) -> Option<Option<&'a str>> {
    let Some((before, rest)) = template.split_once('{') else {
        return (template == path).then_some(None);
    };
    let (name, after) = rest.split_once('}')?;
    let value = path.strip_prefix(before)?.strip_suffix(after)?;
    let fits = !value.is_empty() && (name == "key" || !value.contains('/'));
    fits.then_some(Some(value))
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

/// Finds the route for `method` and `path`, with the value of the path's
/// parameter if its template has one.
pub fn find<'a>(method: &str, path: &'a str) -> Result<(&'static Route, Option<&'a str>), Miss> {
    let (template, param) = ROUTES
        .iter()
        .find_map(|r| capture(r.path, path).map(|param| (r.path, param)))
        .ok_or(Miss::NotFound)?;
    let same_path = || ROUTES.iter().filter(move |r| r.path == template);
    match same_path().find(|r| r.method == method) {
        Some(route) => Ok((route, param)),
        None => Err(Miss::Method(same_path().map(|r| r.method).collect())),
    }
}

/// Finds the route for a request and runs it.
pub async fn dispatch(request: IncomingRequest) -> Response {
    let method = tombola_edge::host::method_name(&request.method());
    let path_and_query = request.path_with_query().unwrap_or_default();
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query.as_str(), ""));
    let (route, param) = match find(&method, path) {
        Ok(found) => found,
        Err(Miss::Method(allow)) => {
            return ApiError::method_not_allowed(path, &method, &allow).into_response();
        }
        Err(Miss::NotFound) => {
            return ApiError::new(404, "not-found", format!("no route for {method} {path}"))
                .into_response();
        }
    };
    serve(route, param, query, request)
        .await
        .unwrap_or_else(|error| {
            if error.status >= 500 {
                tracing::error!(%method, %path, status = error.status, message = %error.message, "request failed");
            } else {
                tracing::debug!(%method, %path, status = error.status, message = %error.message, "request refused");
            }
            error.into_response()
        })
}

/// Who a write is attributed to: `X-Source` if given, else the token's name.
fn source(header: Option<String>, caller: Caller) -> Result<String, ApiError> {
    match header {
        None => Ok(caller.name().to_owned()),
        Some(source) => {
            check_source(&source)
                .map_err(|e| ApiError::bad_request("X-Source", format!("X-Source {e}")))?;
            Ok(source)
        }
    }
}

async fn serve(
    route: &Route,
    param: Option<&str>,
    query: &str,
    incoming: IncomingRequest,
) -> Result<Response, ApiError> {
    let caller = Tokens::load().check(
        request::header(&incoming, "authorization").as_deref(),
        route.access,
    )?;
    // Only the writes that record who made them read X-Source, and only
    // writes read Idempotency-Key.
    let x_source = request::header(&incoming, "x-source");
    let source = || source(x_source.clone(), caller);
    let idempotency_values = request::headers(&incoming, "idempotency-key");
    let idempotency_key = || request::idempotency_key(&idempotency_values);
    // Input is validated before Redis is touched: bad input writes nothing
    // and is a 400 even when Redis is down.
    let param = |name| request::path_param(name, param.unwrap_or_default());
    let key = || request::key("key", &param("key")?);
    let settings = Settings::load();
    let body = match route.handler {
        Handler::Put | Handler::Cas => request::body(incoming, settings.max_body_bytes()).await?,
        _ => Vec::new(),
    };
    let store = || Store::open(settings.clone());
    // A write that cannot reach Redis has sent nothing.
    let write_store = || store().map_err(WriteFailed::unsent);
    match route.handler {
        Handler::OpenApi => Ok(openapi::document()),
        Handler::Keys => listing::keys(&store()?, query),
        Handler::Stats => listing::stats(&store()?),
        Handler::Events => feed::events(&store()?, query),
        Handler::Cas => {
            let (source, idempotency_key) = (source()?, idempotency_key()?);
            entries::cas(&write_store()?, &body, &source, idempotency_key)
        }
        Handler::TakeSnapshot => {
            let idempotency_key = idempotency_key()?;
            snapshots::take(&write_store()?, idempotency_key)
        }
        Handler::ListSnapshots => snapshots::list(&store()?),
        Handler::Restore => {
            let revision = snapshots::revision(&param("revision")?)?;
            let (source, idempotency_key) = (source()?, idempotency_key()?);
            snapshots::restore(&write_store()?, revision, &source, idempotency_key)
        }
        Handler::Get => {
            let key = key()?;
            entries::get(&store()?, &key, query)
        }
        Handler::Put => {
            let (key, source, idempotency_key) = (key()?, source()?, idempotency_key()?);
            entries::put(&write_store()?, &key, &body, &source, idempotency_key)
        }
        Handler::Delete => {
            let (key, source, idempotency_key) = (key()?, source()?, idempotency_key()?);
            entries::delete(&write_store()?, &key, &source, idempotency_key)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tombola_core::state::{RESERVED_KEYS, RESERVED_PREFIXES};

    fn handler(method: &str, rest: &str) -> Result<(Handler, Option<String>), Miss> {
        find(method, &format!("{BASE}{rest}")).map(|(r, p)| (r.handler, p.map(str::to_owned)))
    }

    #[test]
    fn fixed_routes_come_before_keys() {
        let fixed = |h| Ok((h, None));
        assert_eq!(handler("GET", "openapi.json"), fixed(Handler::OpenApi));
        assert_eq!(handler("GET", "keys"), fixed(Handler::Keys));
        assert_eq!(handler("GET", "stats"), fixed(Handler::Stats));
        assert_eq!(handler("GET", "events"), fixed(Handler::Events));
        assert_eq!(handler("POST", "cas"), fixed(Handler::Cas));
        assert_eq!(handler("POST", "snapshot"), fixed(Handler::TakeSnapshot));
        assert_eq!(handler("GET", "snapshots"), fixed(Handler::ListSnapshots));
        assert_eq!(
            handler("POST", "snapshots/12/restore"),
            Ok((Handler::Restore, Some("12".into())))
        );
        assert_eq!(
            handler("GET", "a/b:c"),
            Ok((Handler::Get, Some("a/b:c".into())))
        );
        assert_eq!(handler("PUT", "a"), Ok((Handler::Put, Some("a".into()))));
        assert_eq!(
            handler("DELETE", "a"),
            Ok((Handler::Delete, Some("a".into())))
        );
        // Not a restore (two segments, or none): a key, which the key
        // rules then refuse as reserved.
        assert_eq!(
            handler("GET", "snapshots/1/2/restore"),
            Ok((Handler::Get, Some("snapshots/1/2/restore".into())))
        );
        assert_eq!(
            handler("GET", "snapshots//restore"),
            Ok((Handler::Get, Some("snapshots//restore".into())))
        );
    }

    #[test]
    fn every_fixed_route_is_matched_by_its_own_template() {
        for route in ROUTES.iter().filter(|r| !r.path.contains('{')) {
            let (found, param) = find(route.method, route.path).unwrap();
            assert_eq!((found, param), (route, None), "{}", route.path);
        }
        assert_eq!(
            ROUTES.last().map(|r| r.path),
            Some("/api/v1/state/{key}"),
            "the catch-all comes last"
        );
    }

    #[test]
    fn wrong_methods_name_what_the_path_takes_and_unknown_paths_are_404() {
        let allowed = |methods: &[&'static str]| Err(Miss::Method(methods.to_vec()));
        assert_eq!(handler("POST", "keys"), allowed(&["GET"]));
        assert_eq!(handler("PUT", "openapi.json"), allowed(&["GET"]));
        assert_eq!(handler("DELETE", "openapi.json"), allowed(&["GET"]));
        assert_eq!(handler("DELETE", "stats"), allowed(&["GET"]));
        assert_eq!(handler("GET", "cas"), allowed(&["POST"]));
        assert_eq!(handler("GET", "snapshots/12/restore"), allowed(&["POST"]));
        assert_eq!(
            handler("POST", "some-key"),
            allowed(&["GET", "PUT", "DELETE"])
        );
        assert_eq!(
            handler("OPTIONS", "a/b"),
            allowed(&["GET", "PUT", "DELETE"])
        );
        assert_eq!(handler("GET", ""), Err(Miss::NotFound));
        assert_eq!(find("GET", "/api/v1/state"), Err(Miss::NotFound));
        assert_eq!(find("GET", "/api/v1/statex"), Err(Miss::NotFound));
    }

    #[test]
    fn the_route_names_are_the_keys_the_core_reserves() {
        let fixed: Vec<_> = ROUTES
            .iter()
            .filter(|r| !r.path.contains('{'))
            .filter_map(|r| r.path.strip_prefix(BASE))
            .collect();
        assert_eq!(fixed, RESERVED_KEYS, "the fixed routes, in table order");
        let mut starts: Vec<_> = ROUTES
            .iter()
            .filter_map(|r| r.path.strip_prefix(BASE)?.split_once('{'))
            .map(|(start, _)| start)
            .filter(|start| !start.is_empty())
            .collect();
        starts.dedup();
        assert_eq!(starts, RESERVED_PREFIXES, "the parameterized routes");
        // Whatever the core refuses is a route's, and a key never is.
        for name in RESERVED_KEYS {
            assert_ne!(handler("GET", name).map(|(h, _)| h), Ok(Handler::Get));
        }
        assert_eq!(
            handler("GET", "snapshots1").map(|(h, _)| h),
            Ok(Handler::Get)
        );
    }

    #[test]
    fn reads_need_read_access_and_writes_write_access() {
        for route in ROUTES {
            let expected = match route.handler {
                Handler::OpenApi => Access::Public,
                _ if route.method == "GET" => Access::Read,
                _ => Access::Write,
            };
            assert_eq!(route.access, expected, "{} {}", route.method, route.path);
        }
    }

    #[test]
    fn writes_are_attributed_to_x_source_or_the_token() {
        assert_eq!(source(None, Caller::Admin).unwrap(), "admin");
        assert_eq!(
            source(Some("deploy-bot".into()), Caller::Admin).unwrap(),
            "deploy-bot"
        );
        let bad = source(Some(String::new()), Caller::Admin).unwrap_err();
        assert_eq!((bad.status, bad.field.as_deref()), (400, Some("X-Source")));
    }
}
