//! Request bodies: read with a bound, parsed as JSON with the field at
//! fault named.

use futures::StreamExt;
use serde::de::DeserializeOwned;
use spin_sdk::http::IncomingRequest;

use crate::error::ApiError;

/// Bad input, and the request field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// A path such as `items[2].id`, or `body` for the body as a whole.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    fn body(message: String) -> Self {
        Self {
            field: "body".into(),
            message,
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        ApiError::bad_request(&error.field, error.message)
    }
}

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Over the route's limit: 413. Nothing past the limit was read.
    TooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// The stream broke: 400.
    Unreadable(String),
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge { max } => ApiError::too_large(max),
            BodyError::Unreadable(message) => ApiError::bad_request("body", message),
        }
    }
}

/// Reads the body, refusing one over `max` bytes before reading it when its
/// `content-length` says so, and otherwise as soon as it passes the limit,
/// so memory stays bounded by `max` whatever the client sends.
pub async fn read(request: IncomingRequest, max: usize) -> Result<Vec<u8>, BodyError> {
    let declared = request
        .headers()
        .get("content-length")
        .first()
        .and_then(|value| std::str::from_utf8(value).ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return Err(BodyError::TooLarge { max });
    }
    let mut body = Vec::with_capacity(declared.map_or(0, |length| length as usize));
    let mut stream = request.into_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            BodyError::Unreadable(format!("the request body could not be read: {e}"))
        })?;
        if body.len() + chunk.len() > max {
            return Err(BodyError::TooLarge { max });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a JSON body whose numbers are all counts (an empty body is
/// `{}`): whole numbers may be spelt `307.0` or `3.07e2`, as JSON Schema
/// counts them ([`tombola_core::number`]); an error names the field at
/// fault, as [`json`] does.
///
/// # Errors
///
/// As [`json`].
pub fn counts_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, FieldError> {
    let text = if body.is_empty() {
        b"{}" as &[u8]
    } else {
        body
    };
    json(&tombola_core::number::whole_numbers(text))
}

/// Parses a JSON body; an error names the field at fault (`items[2].id`,
/// a missing field by its own path, broken JSON as `body`).
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, FieldError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // serde names a missing field in the message, with the path of the
        // object that lacks it.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name);
        // Broken JSON has no field to blame, only the body.
        let broken = e.inner().is_syntax() || e.inner().is_eof();
        let field = match (path.as_str(), missing) {
            _ if broken => "body".to_owned(),
            (".", Some(name)) => name.to_owned(),
            (".", None) => "body".to_owned(),
            (_, Some(name)) => format!("{path}.{name}"),
            (_, None) => path,
        };
        FieldError { field, message }
    })?;
    de.end()
        .map_err(|e| FieldError::body(format!("trailing data after the JSON value: {e}")))?;
    Ok(value)
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

    fn field(body: &[u8]) -> String {
        json::<Body>(body).unwrap_err().field
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(
            field(br#"{"count": 1, "items": [{"id": "a"}, {"id": 7}]}"#),
            "items[1].id"
        );
        assert_eq!(field(br#"{"count": -1, "items": []}"#), "count");
        assert_eq!(field(br#"{"items": []}"#), "count");
        assert_eq!(field(br#"{"count": 1, "items": [{}]}"#), "items[0].id");
        assert_eq!(field(br#"{"count": 1, "items": []} x"#), "body");
        assert_eq!(field(b"not json"), "body");
        assert_eq!(field(br#"{"count": 1, "items": [{"id": "a""#), "body");
        let err = json::<Body>(br#"{"count": 1, "items": [], "extra": 1}"#).unwrap_err();
        assert!(
            err.message.contains("unknown field `extra`"),
            "{}",
            err.message
        );
    }
}
