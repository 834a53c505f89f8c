//! costscope: a FinOps cost analyzer for the terminal.
//!
//! Data flows one way: sources → [`model::Snapshot`] → analysis → [`report::Report`] → exports.

pub mod analysis;
pub mod app;
pub mod cli;
pub mod config;
pub mod export;
pub mod http_client;
pub mod model;
pub mod notify;
pub mod panic_guard;
pub mod pricing;
pub mod report;
pub mod sample;
pub mod samplegen;
pub mod source;
pub mod suppressions;
pub mod tui;

/// An error and its causes on one line, joined by ": " ("client error (Connect): tcp connect
/// error: …"), leaving out a cause whose text is already in the line: wrappers often print their
/// source inline and also return it from `source()`.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}
