//! The rules engine: rule files (TOML with CEL expressions) evaluated over a snapshot.

pub mod context;
pub mod engine;
pub mod fields_read;
pub mod finding;
pub mod probe;
pub mod rule;
mod shortcut;

pub use engine::{Engine, Evaluation};
pub use finding::{Confidence, Finding};
pub use rule::{Param, ResourceKind, Rule, RuleError, RuleSet};
