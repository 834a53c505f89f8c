//! Pure, synchronous analyses of a snapshot: cost breakdowns, tag coverage, rules.

pub mod costs;
pub mod tag_coverage;
pub mod rules;
