//! Reading a request: the body (bounded), JSON with the field at fault,
//! query parameters and path ids.

use serde::de::DeserializeOwned;
use spin_sdk::http::IncomingRequest;
use tombola_edge::body::FieldError;

use crate::problem::Problem;

/// The largest body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// Reads the body, refusing one over [`MAX_BODY`] without reading it all.
pub async fn body(request: IncomingRequest) -> Result<Vec<u8>, Problem> {
    tombola_edge::body::read(request, MAX_BODY)
        .await
        .map_err(field_problem)
}

fn field_problem(error: FieldError) -> Problem {
    Problem::bad_request(&error.field, error.message)
}

/// Parses a JSON body (an empty one as `{}`); an error names the field at
/// fault (`items[2].id`). Whole numbers may be spelt `307.0` or `3.07e2`:
/// every number in the draw API's bodies is a count, a weight or a stock.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let text = if body.is_empty() {
        b"{}" as &[u8]
    } else {
        body
    };
    let text = tombola_edge::body::whole_numbers(text);
    tombola_edge::body::json(&text).map_err(field_problem)
}

/// The value of query parameter `name`, if present (percent-decoding not
/// needed: every value Tombola takes is an id or a number).
pub fn query<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A numeric query parameter within `range`, or `default` when absent.
pub fn query_number(
    query_string: &str,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, Problem> {
    match query(query_string, name) {
        None => Ok(default),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                Problem::bad_request(
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

/// A path id parsed by `parse`, or a 400 naming the path parameter.
pub fn path_id<T, E: std::fmt::Display>(
    name: &str,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, Problem> {
    parse(text).map_err(|e| Problem::bad_request(name, format!("{name} {text:?} {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_bodies_are_empty_objects_and_errors_name_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Close {
            request_id: Option<String>,
        }
        assert_eq!(json::<Close>(b"").unwrap().request_id, None);
        let err = json::<Close>(br#"{"request_id": 7}"#).unwrap_err();
        assert_eq!(
            (err.status, err.field.as_deref()),
            (400, Some("request_id"))
        );
    }

    #[test]
    fn query_numbers_are_bounded() {
        assert_eq!(
            query_number("after=5&limit=10", "limit", 100, 1..=1000).unwrap(),
            10
        );
        assert_eq!(
            query_number("after=5", "limit", 100, 1..=1000).unwrap(),
            100
        );
        assert_eq!(
            query_number("limit=0", "limit", 100, 1..=1000)
                .unwrap_err()
                .field
                .as_deref(),
            Some("limit")
        );
        assert!(query_number("limit=x", "limit", 100, 1..=1000).is_err());
    }
}
