//! The route table and dispatch, under `/api/v1/state`.
//!
//! [`ROUTES`] is the one list of what the component serves: dispatch reads
//! it, a 405's `Allow` header is read from it, and a test compares the
//! published OpenAPI document ([`crate::openapi`]) with it.
//!
//! Templates are matched in table order, fixed paths first
//! ([`tombola_edge::route`]). `{key*}` is last and takes the rest of the
//! path, `/` included, so a key can never be read back under a fixed
//! route's name: the core refuses those names as keys
//! ([`tombola_core::state::RESERVED_KEYS`] and
//! [`tombola_core::state::RESERVED_PREFIXES`]), and a test holds this
//! table to them.

use spin_sdk::http::{IncomingRequest, Response, ResponseOutparam};
use tombola_core::state::StateKey;
use tombola_core::state::stream::LAST_EVENT_ID_HEADER;
use tombola_edge::error::{ApiError, Format};
use tombola_edge::redis::StoreError;
use tombola_edge::route::{self, Params, Route};

use crate::auth::{Access, Tokens};
use crate::store::Store;
use crate::{entries, feed, listing, metrics, openapi, request, snapshots, stream, txn};

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
    /// `GET metrics`
    Metrics,
    /// `GET events`
    Events,
    /// `POST cas`
    Cas,
    /// `POST txn`
    Txn,
    /// `POST snapshot`
    TakeSnapshot,
    /// `GET snapshots`
    ListSnapshots,
    /// `POST snapshots/{revision}/restore`
    Restore,
    /// `GET {key*}`
    Get,
    /// `PUT {key*}`
    Put,
    /// `DELETE {key*}`
    Delete,
}

impl Handler {
    /// The token the route needs.
    pub fn access(self) -> Access {
        match self {
            Handler::OpenApi => Access::Public,
            Handler::Keys
            | Handler::Stats
            | Handler::Metrics
            | Handler::Events
            | Handler::ListSnapshots
            | Handler::Get => Access::Read,
            Handler::Cas
            | Handler::Txn
            | Handler::TakeSnapshot
            | Handler::Restore
            | Handler::Put
            | Handler::Delete => Access::Write,
        }
    }
}

/// Every route the component serves, in matching order.
pub const ROUTES: &[Route<Handler>] = &[
    Route::new("GET", "/api/v1/state/openapi.json", Handler::OpenApi),
    Route::new("GET", "/api/v1/state/keys", Handler::Keys),
    Route::new("GET", "/api/v1/state/stats", Handler::Stats),
    Route::new("GET", "/api/v1/state/metrics", Handler::Metrics),
    Route::new("GET", "/api/v1/state/events", Handler::Events),
    Route::new("POST", "/api/v1/state/cas", Handler::Cas),
    Route::new("POST", "/api/v1/state/txn", Handler::Txn),
    Route::new("POST", "/api/v1/state/snapshot", Handler::TakeSnapshot),
    Route::new("GET", "/api/v1/state/snapshots", Handler::ListSnapshots),
    Route::new(
        "POST",
        "/api/v1/state/snapshots/{revision}/restore",
        Handler::Restore,
    ),
    Route::new("GET", "/api/v1/state/{key*}", Handler::Get),
    Route::new("PUT", "/api/v1/state/{key*}", Handler::Put),
    Route::new("DELETE", "/api/v1/state/{key*}", Handler::Delete),
];

/// Answers a request from [`ROUTES`], errors in the envelope, tracked
/// when `track_requests` is on; the feed asked for as an event stream is
/// streamed ([`stream`]).
pub async fn dispatch(request: IncomingRequest, out: ResponseOutparam) {
    let method = tombola_edge::host::method_name(&request.method());
    let target = request.path_with_query().unwrap_or_default();
    let (path, query) = route::split_target(&target);
    let found = route::find(ROUTES, &method, path).map(|(r, _)| r.handler);
    if found == Ok(Handler::Events) && stream::wanted(&request) {
        return stream::serve(request, query, out).await;
    }
    let tracked = tombola_edge::tracking::begin(&request, &method, path);
    let answer = route::dispatch(request, ROUTES, Format::Envelope, run).await;
    let answer = tombola_edge::tracking::finish(tracked, answer);
    tombola_edge::outparam::send_whole(out, answer).await;
}

/// Runs `handler` for a request: its token first, then its input, then
/// the store.
async fn run(
    handler: Handler,
    path: &Params<'_>,
    query: &str,
    incoming: IncomingRequest,
) -> Result<Response, ApiError> {
    let caller = Tokens::load().check(
        request::header(&incoming, "authorization").as_deref(),
        handler.access(),
    )?;
    // Only the writes that record who made them read X-Source, and only
    // writes read Idempotency-Key.
    let x_source = request::header(&incoming, "x-source");
    let source = || request::source(x_source.clone(), caller);
    let idempotency_values = request::headers(&incoming, "idempotency-key");
    let last_event_id = request::header(&incoming, LAST_EVENT_ID_HEADER);
    let idempotency_key = || request::idempotency_key(&idempotency_values);
    // Input is validated before Redis is touched: bad input writes nothing
    // and is a 400 even when Redis is down.
    let key = || path.get("key", StateKey::new);
    let body = match handler {
        Handler::Put | Handler::Cas => {
            tombola_edge::body::read(incoming, entries::max_body_bytes()).await?
        }
        Handler::Txn => tombola_edge::body::read(incoming, txn::max_body_bytes()).await?,
        _ => Vec::new(),
    };
    // A write that cannot reach Redis has sent nothing.
    let write_store = || Store::open().map_err(StoreError::unsent);
    match handler {
        Handler::OpenApi => Ok(openapi::document()),
        Handler::Keys => listing::keys(&Store::open()?, query),
        Handler::Stats => listing::stats(&Store::open()?),
        Handler::Metrics => metrics::metrics(&Store::open()?),
        Handler::Events => feed::events(&Store::open()?, query, last_event_id.as_deref()),
        Handler::Cas => {
            let (source, idempotency_key) = (source()?, idempotency_key()?);
            entries::cas(&write_store()?, &body, &source, idempotency_key)
        }
        Handler::Txn => {
            let (source, idempotency_key) = (source()?, idempotency_key()?);
            txn::txn(&write_store()?, &body, &source, idempotency_key)
        }
        Handler::TakeSnapshot => {
            let idempotency_key = idempotency_key()?;
            snapshots::take(&write_store()?, idempotency_key)
        }
        Handler::ListSnapshots => snapshots::list(&Store::open()?),
        Handler::Restore => {
            let revision = path.get("revision", snapshots::revision)?;
            let (source, idempotency_key) = (source()?, idempotency_key()?);
            snapshots::restore(&write_store()?, revision, &source, idempotency_key)
        }
        Handler::Get => {
            let key = key()?;
            entries::get(&Store::open()?, &key, query)
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
    use tombola_edge::route::Miss;

    fn handler(method: &str, rest: &str) -> Result<(Handler, Option<String>), Miss> {
        let path = format!("{BASE}{rest}");
        route::find(ROUTES, method, &path).map(|(r, p)| {
            let param = p.raw("key").or(p.raw("revision")).map(str::to_owned);
            (r.handler, param)
        })
    }

    #[test]
    fn fixed_routes_come_before_keys() {
        let fixed = |h| Ok((h, None));
        assert_eq!(handler("GET", "openapi.json"), fixed(Handler::OpenApi));
        assert_eq!(handler("GET", "keys"), fixed(Handler::Keys));
        assert_eq!(handler("GET", "stats"), fixed(Handler::Stats));
        assert_eq!(handler("GET", "metrics"), fixed(Handler::Metrics));
        assert_eq!(handler("GET", "events"), fixed(Handler::Events));
        assert_eq!(handler("POST", "cas"), fixed(Handler::Cas));
        assert_eq!(handler("POST", "txn"), fixed(Handler::Txn));
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
        // An encoded `/` does not move a key to another route.
        assert_eq!(
            handler("POST", "snapshots%2F1%2Frestore").map(|(h, _)| h),
            Err(Miss::Method(vec!["GET", "PUT", "DELETE"]))
        );
    }

    #[test]
    fn every_fixed_route_is_matched_by_its_own_template() {
        for route in ROUTES.iter().filter(|r| !r.path.contains('{')) {
            let (found, params) = route::find(ROUTES, route.method, route.path).unwrap();
            assert_eq!(
                (found, params),
                (route, Params::default()),
                "{}",
                route.path
            );
        }
        assert_eq!(
            ROUTES.last().map(|r| r.path),
            Some("/api/v1/state/{key*}"),
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
        for path in ["/api/v1/state", "/api/v1/statex"] {
            assert_eq!(
                route::find(ROUTES, "GET", path).unwrap_err(),
                Miss::NotFound
            );
        }
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
            let refused = StateKey::new(name).unwrap_err().to_string();
            assert!(refused.contains("reserved"), "{name}: {refused}");
        }
        assert!(StateKey::new("snapshots/1/restore").is_err());
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
            assert_eq!(
                route.handler.access(),
                expected,
                "{} {}",
                route.method,
                route.path
            );
        }
    }
}
