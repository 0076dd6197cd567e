//! Request bodies: read with a bound, parsed as JSON with the field at
//! fault named.

use std::borrow::Cow;

use futures::StreamExt;
use serde::de::DeserializeOwned;
use spin_sdk::http::IncomingRequest;

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

/// Reads the body, refusing one over `max` bytes without reading it all.
pub async fn read(request: IncomingRequest, max: usize) -> Result<Vec<u8>, FieldError> {
    let mut body = Vec::new();
    let mut stream = request.into_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| FieldError::body(format!("the request body could not be read: {e}")))?;
        if body.len() + chunk.len() > max {
            return Err(FieldError::body(format!(
                "the request body is over {max} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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

/// Rewrites every number in a JSON text that is a whole number but spelt
/// as a fraction or with an exponent (`307.0`, `1e3`, `-2.50e1`) in plain
/// integer form, exactly (no trip through `f64`); other bytes are kept.
///
/// JSON Schema counts `307.0` as an integer, and so do JavaScript clients,
/// so a body whose integer fields are written that way is valid. Only for
/// bodies with no free-form JSON in them: it would change `1.0` stored as
/// a value into `1`. Numbers whose integer form would run past 40 digits
/// are left alone, to be refused as out of range.
pub fn whole_numbers(text: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::new();
    let mut copied = 0;
    let mut i = 0;
    let mut in_string = false;
    while i < text.len() {
        let byte = text[i];
        i += 1;
        if in_string {
            match byte {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else if byte == b'"' {
            in_string = true;
        } else if byte == b'-' || byte.is_ascii_digit() {
            let start = i - 1;
            while i < text.len()
                && matches!(text[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
            {
                i += 1;
            }
            if let Some(integer) = integer_form(&text[start..i]) {
                out.extend_from_slice(&text[copied..start]);
                out.extend_from_slice(integer.as_bytes());
                copied = i;
            }
        }
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.extend_from_slice(&text[copied..]);
    Cow::Owned(out)
}

/// The plain integer a JSON number token spells, when it is a whole
/// number written with a fraction or an exponent; `None` for anything else
/// (already an integer, a true fraction, too long, or not a number).
fn integer_form(token: &[u8]) -> Option<String> {
    const MAX_DIGITS: usize = 40;
    let (negative, rest) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, token),
    };
    let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let (int, rest) = rest.split_at(int_len);
    if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
        return None;
    }
    let (frac, rest) = match rest.split_first() {
        Some((b'.', rest)) => {
            let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            if len == 0 {
                return None;
            }
            rest.split_at(len)
        }
        _ => (&[][..], rest),
    };
    let exponent: i64 = match rest.split_first() {
        None if frac.is_empty() => return None,
        None => 0,
        Some((b'e' | b'E', rest)) => {
            let (sign, digits) = match rest.split_first() {
                Some((b'-', digits)) => (-1, digits),
                Some((b'+', digits)) => (1, digits),
                _ => (1, rest),
            };
            if digits.is_empty() || digits.len() > 4 || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            sign * std::str::from_utf8(digits).ok()?.parse::<i64>().ok()?
        }
        Some(_) => return None,
    };
    // The value is `digits` times ten to the power `shift`.
    let digits: Vec<u8> = int.iter().chain(frac).copied().collect();
    let shift = exponent - frac.len() as i64;
    let significant = match digits.iter().position(|&d| d != b'0') {
        None => return Some("0".to_owned()),
        Some(first) => &digits[first..],
    };
    let integer = if shift >= 0 {
        if significant.len() as i64 + shift > MAX_DIGITS as i64 {
            return None;
        }
        let mut integer = significant.to_vec();
        integer.resize(significant.len() + shift as usize, b'0');
        integer
    } else {
        let cut = shift.unsigned_abs() as usize;
        let trailing_zeros = significant.iter().rev().take_while(|&&d| d == b'0').count();
        if trailing_zeros < cut {
            return None;
        }
        if significant.len() == cut {
            return Some("0".to_owned());
        }
        significant[..significant.len() - cut].to_vec()
    };
    let integer = String::from_utf8(integer).ok()?;
    Some(if negative {
        format!("-{integer}")
    } else {
        integer
    })
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

    fn whole(text: &str) -> String {
        String::from_utf8(whole_numbers(text.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn whole_numbers_spelt_as_fractions_become_integers() {
        assert_eq!(whole(r#"{"count": 307.0}"#), r#"{"count": 307}"#);
        assert_eq!(
            whole("[1e3,1.5e1,10e-1,-2.00,0.0,-0.0e5,2.50E+1]"),
            "[1000,15,1,-2,0,0,25]"
        );
        assert_eq!(
            whole("[1.000000000000000000001e21]"),
            "[1000000000000000000001]"
        );
    }

    #[test]
    fn everything_else_is_left_byte_for_byte() {
        for text in [
            r#"{"count": 307, "x": -4}"#,
            "[1.25, 1.0e-1, 0.5, 1e400, 1e41, 1.e3, .5, 01.0, 1.0.0, -, 1e, 1e+]",
            r#"{"a\"1.0": "2.0", "b": "\\"}"#,
            "",
        ] {
            let fixed = whole_numbers(text.as_bytes());
            assert!(matches!(fixed, Cow::Borrowed(_)), "{text}");
        }
        assert_eq!(
            whole(r#"{"a\"1.0": "2.0", "n": 2.0, "s": "-3.0"}"#),
            r#"{"a\"1.0": "2.0", "n": 2, "s": "-3.0"}"#
        );
    }

    #[test]
    fn whole_numbers_parse_as_integers() {
        let body: Body = json(&whole_numbers(br#"{"count": 4.0, "items": []}"#)).unwrap();
        assert_eq!(body.count, 4);
        let err = json::<Body>(&whole_numbers(br#"{"count": 4.5, "items": []}"#)).unwrap_err();
        assert_eq!(err.field, "count");
        let err = json::<Body>(&whole_numbers(br#"{"count": 1e20, "items": []}"#)).unwrap_err();
        assert_eq!(err.field, "count");
    }

    proptest::proptest! {
        #[test]
        fn any_spelling_of_a_whole_number_reads_as_it(
            n in proptest::prelude::any::<u64>(),
            zeros in 0usize..4,
            shift in 0usize..6,
        ) {
            // n followed by `zeros` zeros, with a point `shift` digits from
            // the end and an exponent that brings the value back to n.
            let digits = format!("{n}{}", "0".repeat(zeros));
            let point = digits.len().saturating_sub(shift).max(1);
            let exponent = (digits.len() - point) as i64 - zeros as i64;
            let spelt = format!("{}.{}0e{exponent}", &digits[..point], &digits[point..]);
            let fixed = whole(&format!("[{spelt}]"));
            let read: Vec<u64> = serde_json::from_str(&fixed).unwrap();
            proptest::prop_assert_eq!(read, vec![n], "{} became {}", spelt, fixed);
        }
    }
}
