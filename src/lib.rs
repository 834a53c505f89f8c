//! costscope: a FinOps cost analyzer for the terminal.
//!
//! Data flows one way: sources → [`model::Snapshot`] → analysis → [`report::Report`] → exports.

pub mod analysis;
pub mod app;
pub mod cli;
pub mod config;
pub mod export;
pub mod model;
pub mod panic_guard;
pub mod pricing;
pub mod report;
pub mod sample;
pub mod samplegen;
pub mod source;
pub mod suppressions;
pub mod tui;
