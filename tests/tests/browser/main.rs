//! The screens in a real headless Chromium: the store's lottery page and
//! the operators' console, typed and clicked as a clerk or an operator
//! would, served by the compiled components in the test host.
//!
//! Build the components first (`cargo xtask test` does). Every screen is
//! saved under `target/screens/`; `TOMBOLA_SCREENSHOTS=docs` also writes
//! the README's pictures under `docs/screens/`.

mod chrome;
mod console;
mod store;
