//! Pure, synchronous analyses of a snapshot: cost breakdowns, tag coverage, rules.

pub mod costs;
pub mod rules;
pub mod tag_coverage;
