//! costscope: a FinOps cost analyzer for the terminal.
//!
//! Data flows one way: sources → [`model::Snapshot`] → analysis → report → exports.

pub mod model;
pub mod source;
pub mod analysis;
pub mod export;
