//! Documents a component serves as they are, such as its OpenAPI document.

use spin_sdk::http::Response;

/// A 200 answer carrying a JSON document compiled into the component.
pub fn json(text: &'static str) -> Response {
    crate::answer::bytes(200, "application/json", &[], text.as_bytes().to_vec())
}
