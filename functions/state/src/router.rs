//! Maps a method and a path under `/api/v1/state` to a handler.
//!
//! The fixed routes come first; any other path is a key (keys may hold
//! `/`), which is why [`tombola_core::state_api::RESERVED_KEYS`] exist.

use spin_sdk::http::{IncomingRequest, Response};
use tombola_core::state_api::{StateKey, check_source};

use crate::answer::ApiError;
use crate::auth::{Access, Caller, Tokens};
use crate::backend::Settings;
use crate::store::Store;
use crate::{entries, feed, listing, request, snapshots};

/// Where every route lives.
pub const BASE: &str = "/api/v1/state/";

/// What serves a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
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
    Restore(String),
    /// `GET {key}`
    Get(String),
    /// `PUT {key}`
    Put(String),
    /// `DELETE {key}`
    Delete(String),
}

impl Route {
    /// Finds the route for `method` and `rest`, the path after [`BASE`]:
    /// `Err(true)` for a known path asked with the wrong method,
    /// `Err(false)` for an unknown one.
    pub fn find(method: &str, rest: &str) -> Result<Self, bool> {
        let restore = rest
            .strip_prefix("snapshots/")
            .and_then(|r| r.strip_suffix("/restore"))
            .filter(|r| !r.is_empty() && !r.contains('/'));
        let fixed = match (rest, restore) {
            ("keys", _) => Some(("GET", Route::Keys)),
            ("stats", _) => Some(("GET", Route::Stats)),
            ("events", _) => Some(("GET", Route::Events)),
            ("cas", _) => Some(("POST", Route::Cas)),
            ("snapshot", _) => Some(("POST", Route::TakeSnapshot)),
            ("snapshots", _) => Some(("GET", Route::ListSnapshots)),
            (_, Some(revision)) => Some(("POST", Route::Restore(revision.to_owned()))),
            _ => None,
        };
        match fixed {
            Some((want, route)) if want == method => Ok(route),
            Some(_) => Err(true),
            None if rest.is_empty() => Err(false),
            None => match method {
                "GET" => Ok(Route::Get(rest.to_owned())),
                "PUT" => Ok(Route::Put(rest.to_owned())),
                "DELETE" => Ok(Route::Delete(rest.to_owned())),
                _ => Err(true),
            },
        }
    }

    /// What the route needs: reads take the reader or the admin token,
    /// writes the admin token.
    pub fn access(&self) -> Access {
        match self {
            Route::Keys | Route::Stats | Route::Events | Route::ListSnapshots | Route::Get(_) => {
                Access::Read
            }
            Route::Cas
            | Route::TakeSnapshot
            | Route::Restore(_)
            | Route::Put(_)
            | Route::Delete(_) => Access::Write,
        }
    }
}

/// Finds the route for a request and runs it.
pub async fn dispatch(request: IncomingRequest) -> Response {
    let method = tombola_edge::host::method_name(&request.method());
    let path_and_query = request.path_with_query().unwrap_or_default();
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query.as_str(), ""));
    let (path, query) = (path.to_owned(), query.to_owned());
    let route = match path
        .strip_prefix(BASE)
        .map(|rest| Route::find(&method, rest))
    {
        Some(Ok(route)) => route,
        Some(Err(true)) => {
            return ApiError::new(
                405,
                "method-not-allowed",
                format!("{path} does not accept {method}"),
            )
            .into_response();
        }
        Some(Err(false)) | None => {
            return ApiError::new(404, "not-found", format!("no route for {method} {path}"))
                .into_response();
        }
    };
    serve(route, &query, request).await.unwrap_or_else(|error| {
        if error.status >= 500 {
            tracing::error!(%method, %path, status = error.status, message = %error.message, "request failed");
        } else {
            tracing::debug!(%method, %path, status = error.status, message = %error.message, "request refused");
        }
        error.into_response()
    })
}

fn key(text: &str) -> Result<StateKey, ApiError> {
    StateKey::new(text).map_err(|e| ApiError::bad_request("key", format!("key {text:?} {e}")))
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

async fn serve(route: Route, query: &str, incoming: IncomingRequest) -> Result<Response, ApiError> {
    let caller = Tokens::load().check(
        request::header(&incoming, "authorization").as_deref(),
        route.access(),
    )?;
    let source = source(request::header(&incoming, "x-source"), caller)?;
    let settings = Settings::load();
    let body = match route {
        Route::Put(_) | Route::Cas => request::body(incoming, settings.max_body_bytes()).await?,
        _ => Vec::new(),
    };
    // Keys are validated before Redis is touched: bad input writes nothing
    // and is a 400 even when Redis is down.
    let store = || Store::open(settings.clone());
    match route {
        Route::Keys => listing::keys(&store()?, query),
        Route::Stats => listing::stats(&store()?),
        Route::Events => feed::events(&store()?, query),
        Route::Cas => entries::cas(&store()?, &body, &source),
        Route::TakeSnapshot => snapshots::take(&store()?),
        Route::ListSnapshots => snapshots::list(&store()?),
        Route::Restore(revision) => snapshots::restore(&store()?, &revision, &source),
        Route::Get(text) => {
            let key = key(&text)?;
            entries::get(&store()?, &key, query)
        }
        Route::Put(text) => {
            let key = key(&text)?;
            entries::put(&store()?, &key, &body, &source)
        }
        Route::Delete(text) => {
            let key = key(&text)?;
            entries::delete(&store()?, &key, &source)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_routes_come_before_keys() {
        assert_eq!(Route::find("GET", "keys"), Ok(Route::Keys));
        assert_eq!(Route::find("GET", "stats"), Ok(Route::Stats));
        assert_eq!(Route::find("GET", "events"), Ok(Route::Events));
        assert_eq!(Route::find("POST", "cas"), Ok(Route::Cas));
        assert_eq!(Route::find("POST", "snapshot"), Ok(Route::TakeSnapshot));
        assert_eq!(Route::find("GET", "snapshots"), Ok(Route::ListSnapshots));
        assert_eq!(
            Route::find("POST", "snapshots/12/restore"),
            Ok(Route::Restore("12".into()))
        );
        assert_eq!(Route::find("GET", "a/b:c"), Ok(Route::Get("a/b:c".into())));
        assert_eq!(Route::find("PUT", "a"), Ok(Route::Put("a".into())));
        assert_eq!(Route::find("DELETE", "a"), Ok(Route::Delete("a".into())));
    }

    #[test]
    fn wrong_methods_and_unknown_paths_are_told_apart() {
        assert_eq!(Route::find("POST", "keys"), Err(true));
        assert_eq!(Route::find("DELETE", "stats"), Err(true));
        assert_eq!(Route::find("GET", "snapshots/12/restore"), Err(true));
        assert_eq!(Route::find("POST", "some-key"), Err(true));
        assert_eq!(Route::find("GET", ""), Err(false));
    }

    #[test]
    fn reads_need_read_access_and_writes_write_access() {
        for (method, rest) in [
            ("GET", "keys"),
            ("GET", "stats"),
            ("GET", "events"),
            ("GET", "snapshots"),
            ("GET", "k"),
        ] {
            assert_eq!(
                Route::find(method, rest).unwrap().access(),
                Access::Read,
                "{method} {rest}"
            );
        }
        for (method, rest) in [
            ("POST", "cas"),
            ("POST", "snapshot"),
            ("POST", "snapshots/1/restore"),
            ("PUT", "k"),
            ("DELETE", "k"),
        ] {
            assert_eq!(
                Route::find(method, rest).unwrap().access(),
                Access::Write,
                "{method} {rest}"
            );
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
