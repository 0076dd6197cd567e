//! Reading a request: the body (bounded), JSON with the field at fault,
//! query parameters and path ids.

use futures::StreamExt;
use serde::de::DeserializeOwned;
use spin_sdk::http::IncomingRequest;

use crate::problem::Problem;

/// The largest body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// Reads the body, refusing one over [`MAX_BODY`] without reading it all.
pub async fn body(request: IncomingRequest) -> Result<Vec<u8>, Problem> {
    let mut body = Vec::new();
    let mut stream = request.into_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            Problem::bad_request("body", format!("the request body could not be read: {e}"))
        })?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(Problem::bad_request(
                "body",
                format!("the request body is over {MAX_BODY} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a JSON body; an error names the field at fault (`items[2].id`).
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let text = if body.is_empty() {
        b"{}" as &[u8]
    } else {
        body
    };
    let mut de = serde_json::Deserializer::from_slice(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // serde names a missing field in the message, with the path of the
        // object that lacks it.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name);
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => name.to_owned(),
            (".", None) => "body".to_owned(),
            (_, Some(name)) => format!("{path}.{name}"),
            (_, None) => path,
        };
        Problem::bad_request(&field, message)
    })?;
    de.end().map_err(|e| {
        Problem::bad_request("body", format!("trailing data after the JSON value: {e}"))
    })?;
    Ok(value)
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

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        count: u32,
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        id: String,
    }

    #[test]
    fn json_errors_name_the_field() {
        let err = json::<Body>(br#"{"count": 1, "items": [{"id": "a"}, {"id": 7}]}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("items[1].id"));
        let err = json::<Body>(br#"{"count": -1, "items": []}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("count"));
        let err = json::<Body>(br#"{"count": 1, "items": [], "extra": 1}"#).unwrap_err();
        assert!(
            err.detail.contains("unknown field `extra`"),
            "{}",
            err.detail
        );
        let err = json::<Body>(br#"{"count": 1, "items": []} x"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("body"));
        let err = json::<Body>(br#"{"items": []}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("count"));
        let err = json::<Body>(br#"{"count": 1, "items": [{}]}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("items[0].id"));
        let err = json::<Body>(b"not json").unwrap_err();
        assert_eq!(err.status, 400);
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
