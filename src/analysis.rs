//! Pure, synchronous analyses of a snapshot: cost breakdowns, the overview, tag coverage, cluster
//! utilization and idle cost, rules, budgets, trends, forecast, anomalies, unit costs.

pub mod allocation;
pub mod anomalies;
pub mod budgets;
pub mod cluster;
pub mod commitments;
pub mod costs;
pub mod daily_spend;
pub mod forecast;
pub mod overview;
pub mod rules;
pub mod spend_coverage;
pub mod tag_coverage;
pub mod trends;
pub mod units;
