//! The one rule for whole numbers in JSON: `3`, `3.0`, `3e0` and `0.3e1`
//! are the same whole number, as JSON Schema and JavaScript count them.
//!
//! Every API applies it the same way, exactly (never through a float):
//! the draw API's bodies, which hold only counts, weights and stocks, are
//! rewritten by [`whole_numbers`] before they are parsed; the state API,
//! whose values are the caller's own JSON, reads one member (`ttl`) with
//! [`whole_u64`].

use std::borrow::Cow;

use serde_json::Number;

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
///
/// ```
/// use tombola_core::number::integer_form;
///
/// assert_eq!(integer_form(b"3.0").as_deref(), Some("3"));
/// assert_eq!(integer_form(b"2.50E+1").as_deref(), Some("25"));
/// assert_eq!(integer_form(b"3"), None);
/// assert_eq!(integer_form(b"1.5"), None);
/// ```
pub fn integer_form(token: &[u8]) -> Option<String> {
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

/// The whole number a JSON number is, when it is one from 0 to
/// `u64::MAX`, however it was spelt; `None` for fractions, negatives and
/// numbers out of range.
///
/// ```
/// use tombola_core::number::whole_u64;
/// use serde_json::json;
///
/// for spelt in [json!(60), json!(60.0), json!(6e1)] {
///     assert_eq!(whole_u64(spelt.as_number().unwrap()), Some(60));
/// }
/// assert_eq!(whole_u64(json!(60.5).as_number().unwrap()), None);
/// assert_eq!(whole_u64(json!(-1).as_number().unwrap()), None);
/// ```
pub fn whole_u64(number: &Number) -> Option<u64> {
    if let Some(value) = number.as_u64() {
        return Some(value);
    }
    // A float's shortest text spells its value exactly; every float with
    // no fraction up to 2^64 reads back as the integer it is.
    integer_form(number.to_string().as_bytes())?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn floats_and_integers_agree() {
        let parsed: serde_json::Value =
            serde_json::from_str("[9007199254740992.0, 1e19, 1.5e1, 2.5]").unwrap();
        let wholes: Vec<Option<u64>> = parsed
            .as_array()
            .unwrap()
            .iter()
            .map(|value| whole_u64(value.as_number().unwrap()))
            .collect();
        assert_eq!(
            wholes,
            [
                Some(9_007_199_254_740_992),
                Some(10_000_000_000_000_000_000),
                Some(15),
                None
            ]
        );
    }

    #[test]
    fn rewritten_bodies_parse_as_integers() {
        let read = |text: &[u8]| serde_json::from_slice::<Vec<u32>>(&whole_numbers(text));
        assert_eq!(read(b"[4.0, 4e0, 40e-1]").unwrap(), [4, 4, 4]);
        assert!(read(b"[4.5]").is_err());
        assert!(read(b"[1e20]").is_err());
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
