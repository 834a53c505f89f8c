//! costscope: a FinOps cost analyzer for the terminal.
//!
//! Data flows one way: sources → [`model::Snapshot`] → analysis → report → exports.

pub mod model;
