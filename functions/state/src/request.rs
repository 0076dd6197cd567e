//! Reading a request: the body (bounded), JSON with the field at fault,
//! keys, query parameters, and the `X-Source` and `Idempotency-Key`
//! headers.

use serde::de::DeserializeOwned;
use spin_sdk::http::IncomingRequest;
use tombola_core::state::{IDEMPOTENCY_KEY_HEADER, IdempotencyKey, StateKey};
use tombola_edge::body::{BodyError, FieldError};

use crate::answer::ApiError;

/// Reads the body, refusing one over `max` bytes without reading it all.
pub async fn body(request: IncomingRequest, max: usize) -> Result<Vec<u8>, ApiError> {
    tombola_edge::body::read(request, max)
        .await
        .map_err(|error| match error {
            BodyError::TooLarge { max } => ApiError::new(
                413,
                "body-too-large",
                format!("the request body is over this route's limit of {max} bytes"),
            ),
            BodyError::Unreadable(message) => ApiError::bad_request("body", message),
        })
}

fn field_error(error: FieldError) -> ApiError {
    ApiError::bad_request(&error.field, error.message)
}

/// Parses a JSON body; an error names the field at fault.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    tombola_edge::body::json(body).map_err(field_error)
}

/// A key from the path or from `field` of a body.
///
/// Fails on [`StateKey`]'s rules, the names of the fixed routes included.
pub fn key(field: &str, text: &str) -> Result<StateKey, ApiError> {
    StateKey::new(text).map_err(|e| ApiError::bad_request(field, format!("{field} {text:?} {e}")))
}

/// The `Idempotency-Key` of a write, if it carries one (`values`: the
/// header's values as sent).
///
/// Fails when it is given more than once (which one would count is a
/// guess) or breaks [`IdempotencyKey`]'s rules.
pub fn idempotency_key(values: &[String]) -> Result<Option<IdempotencyKey>, ApiError> {
    let refuse = |message: String| ApiError::bad_request(IDEMPOTENCY_KEY_HEADER, message);
    match values {
        [] => Ok(None),
        [value] => IdempotencyKey::parse(value)
            .map(Some)
            .map_err(|e| refuse(format!("{IDEMPOTENCY_KEY_HEADER} {value:?} {e}"))),
        _ => Err(refuse(format!(
            "{IDEMPOTENCY_KEY_HEADER} is given more than once"
        ))),
    }
}

/// The percent-decoded value of query parameter `name`, if present.
///
/// Fails when the parameter is given more than once (which one would
/// count is a guess), or its percent-encoding is broken or not UTF-8.
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
    percent_decode(raw, true).map(Some).ok_or_else(|| {
        ApiError::bad_request(name, format!("{name} is not valid percent-encoded UTF-8"))
    })
}

/// The percent-decoded value of path parameter `name`.
///
/// OpenAPI clients percent-encode a parameter (`:` as `%3A`, `/` as
/// `%2F`), so a key reads the same whether its characters came literally
/// or encoded. Routing looks at the path as sent, so an encoded `/` never
/// makes a key into another route. Unlike in a query, `+` is itself.
///
/// Fails when the encoding is broken or not UTF-8.
pub fn path_param(name: &str, raw: &str) -> Result<String, ApiError> {
    percent_decode(raw, false).ok_or_else(|| {
        ApiError::bad_request(name, format!("{name} is not valid percent-encoded UTF-8"))
    })
}

/// Decodes `%XX` escapes and, in a query (`plus_is_space`), `+`.
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
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A whole-number query parameter within `range`, or `default` when absent.
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

/// One header's value, if present.
pub fn header(request: &IncomingRequest, name: &str) -> Option<String> {
    headers(request, name).into_iter().next()
}

/// Every value of a header, in the order sent.
pub fn headers(request: &IncomingRequest, name: &str) -> Vec<String> {
    request
        .headers()
        .get(name)
        .into_iter()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        key: String,
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(json::<Body>(br#"{"key": "a"}"#).unwrap().key, "a");
        let missing = json::<Body>(b"{}").unwrap_err();
        assert_eq!(missing.field.as_deref(), Some("key"));
        let wrong = json::<Body>(br#"{"key": 1}"#).unwrap_err();
        assert_eq!(wrong.field.as_deref(), Some("key"));
        let trailing = json::<Body>(br#"{"key": "a"} x"#).unwrap_err();
        assert_eq!(trailing.field.as_deref(), Some("body"));
        let cut = json::<Body>(br#"{"key": "#).unwrap_err();
        assert_eq!(cut.field.as_deref(), Some("body"));
        let inside = json::<Body>(br#"{not json"#).unwrap_err();
        assert_eq!(inside.field.as_deref(), Some("body"));
        let broken = json::<Body>(b"not json").unwrap_err();
        assert_eq!(
            (broken.status, broken.field.as_deref()),
            (400, Some("body"))
        );
    }

    #[test]
    fn keys_follow_the_core_rules_and_never_name_a_fixed_route() {
        assert_eq!(key("key", "app/x").unwrap().as_str(), "app/x");
        assert_eq!(
            key("key", "openapi.json2").unwrap().as_str(),
            "openapi.json2"
        );
        let reserved = tombola_core::state::RESERVED_KEYS.iter().copied();
        for name in reserved.chain(["snapshots/1/restore"]) {
            let refused = key("key", name).unwrap_err();
            assert_eq!(
                (refused.status, refused.field.as_deref()),
                (400, Some("key")),
                "{name}"
            );
            assert!(refused.message.contains("reserved"), "{}", refused.message);
        }
        let bad = key("new_key", "a b").unwrap_err();
        assert_eq!(bad.field.as_deref(), Some("new_key"));
        assert!(
            bad.message.starts_with("new_key \"a b\" holds"),
            "{}",
            bad.message
        );
    }

    #[test]
    fn an_idempotency_key_is_optional_single_and_well_formed() {
        let values = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(idempotency_key(&[]).unwrap(), None);
        assert_eq!(
            idempotency_key(&values(&["\"k-1\""]))
                .unwrap()
                .unwrap()
                .as_str(),
            "k-1"
        );
        for bad in [values(&["a b"]), values(&[""]), values(&["a", "b"])] {
            let refused = idempotency_key(&bad).unwrap_err();
            assert_eq!(
                (refused.status, refused.field.as_deref()),
                (400, Some("Idempotency-Key")),
                "{bad:?}"
            );
            assert!(
                refused.message.starts_with("Idempotency-Key "),
                "{}",
                refused.message
            );
        }
    }

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(
            query("prefix=app%2Fx&limit=2", "prefix")
                .unwrap()
                .as_deref(),
            Some("app/x")
        );
        assert_eq!(
            query("prefix=a+b", "prefix").unwrap().as_deref(),
            Some("a b")
        );
        assert_eq!(query("limit=2", "prefix").unwrap(), None);
        assert_eq!(query("prefix", "prefix").unwrap().as_deref(), Some(""));
        assert_eq!(
            query("limit=1&prefix=a&limit=2", "limit")
                .unwrap_err()
                .field
                .as_deref(),
            Some("limit")
        );
        assert_eq!(
            query("limit=1&limit=2", "prefix").unwrap(),
            None,
            "another parameter given twice is not this one's fault"
        );
        for bad in ["prefix=%", "prefix=%2", "prefix=%zz", "prefix=%ff"] {
            assert_eq!(
                query(bad, "prefix").unwrap_err().field.as_deref(),
                Some("prefix"),
                "{bad}"
            );
        }
    }

    #[test]
    fn path_parameters_are_percent_decoded_but_plus_is_itself() {
        assert_eq!(path_param("key", "app%2Fx%3Ay").unwrap(), "app/x:y");
        assert_eq!(path_param("key", "a+b").unwrap(), "a+b");
        assert_eq!(path_param("key", "plain").unwrap(), "plain");
        for bad in ["a%", "a%2", "a%zz", "a%ff"] {
            assert_eq!(
                path_param("key", bad).unwrap_err().field.as_deref(),
                Some("key"),
                "{bad}"
            );
        }
    }

    #[test]
    fn numbers_and_flags_are_checked() {
        assert_eq!(query_number("wait=3", "wait", 0, 0..=30).unwrap(), 3);
        assert_eq!(query_number("", "wait", 7, 0..=30).unwrap(), 7);
        assert_eq!(
            query_number("wait=31", "wait", 0, 0..=30)
                .unwrap_err()
                .field
                .as_deref(),
            Some("wait")
        );
        assert!(query_number("wait=x", "wait", 0, 0..=30).is_err());
        assert!(query_flag("include_metadata=true", "include_metadata").unwrap());
        assert!(!query_flag("include_metadata=false", "include_metadata").unwrap());
        assert!(!query_flag("", "include_metadata").unwrap());
        assert_eq!(
            query_flag("include_metadata=1", "include_metadata")
                .unwrap_err()
                .field
                .as_deref(),
            Some("include_metadata")
        );
    }
}
