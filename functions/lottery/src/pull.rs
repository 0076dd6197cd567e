//! `GET /v1/lottery/stores/{store}/pull`: the games or the store's bins
//! changed since the store's cookie, a page at a time
//! ([`tombola_core::lottery::pull_page`]). A cookie is a revision the
//! cloud issued, never the store's clock, so clocks may disagree freely.
//! The read that answers a pull records its time as the store's
//! `last_pull_at` when the key it presents is the store's.

use serde_json::json;
use spin_sdk::http::Response;
use tombola_core::lottery::{Cookie, MAX_PULL_PAGE, StoreId, key_hash, pull_page};
use tombola_edge::answer;
use tombola_edge::error::ApiError;
use tombola_edge::host::now_millis;
use tombola_edge::route;

use crate::auth;
use crate::store::{self, Parts, Pulled};

/// What a pull asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Games,
    Bins,
}

/// Answers a pull of `store` with `query` (`entity`, `cookie`, `limit`),
/// authorised by the store's key in `header`.
pub fn get(store: &StoreId, header: Option<&str>, query: &str) -> Result<Response, ApiError> {
    let entity = match route::query(query, "entity")?.as_deref() {
        Some("games") => Entity::Games,
        Some("bins") => Entity::Bins,
        Some(other) => {
            return Err(ApiError::bad_request(
                "entity",
                format!("entity must be games or bins, not {other:?}"),
            ));
        }
        None => {
            return Err(ApiError::bad_request(
                "entity",
                "entity is required: games or bins",
            ));
        }
    };
    let cookie = match route::query(query, "cookie")? {
        None => Cookie::START,
        Some(text) => ApiError::parsed("cookie", &text, str::parse::<Cookie>)?,
    };
    let limit = crate::request::limit(query, MAX_PULL_PAGE, MAX_PULL_PAGE)?;
    let conn = store::connect()?;
    let parts = Parts {
        bins: entity == Entity::Bins,
        ..Parts::default()
    };
    let presented = tombola_edge::token::bearer(header).map(key_hash);
    let pulled = presented.as_deref().map(|key_hash| Pulled {
        at: now_millis(),
        key_hash,
    });
    let view = crate::stores::read(&conn, store, parts, pulled)?;
    auth::require_store(header, &view.key_hash, &store.to_string())?;
    let (name, page) = match entity {
        Entity::Games => {
            let games = store::games(&conn)?;
            let page = pull_page(games.games, cookie, games.revision, limit);
            ("games", serde_json::to_value(page))
        }
        Entity::Bins => {
            let page = pull_page(view.bins, cookie, view.revision, limit);
            ("bins", serde_json::to_value(page))
        }
    };
    let mut page = page.expect("pull pages serialize");
    tracing::debug!(%store, entity = name, %cookie, next = %page["cookie"], "pulled");
    page["entity"] = json!(name);
    Ok(answer::json(200, &page))
}
