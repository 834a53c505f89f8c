//! Pure data types shared by every layer: money, billing, inventory, utilization, clusters.

pub mod billing;
pub mod cluster;
pub mod commitments;
pub mod currency;
pub mod inventory;
pub mod money;
pub mod snapshot;
pub mod sym;
pub mod tags;
pub mod utilization;

pub use billing::{
    BilledResource, BillingLine, BillingSummary, DailyLine, Grain, ResourceCost, SkippedRows,
    TagCost,
};
pub use commitments::CommitmentData;
pub use currency::Currency;
pub use money::Money;
pub use snapshot::{Snapshot, SourceState, SourceStatus};
pub use sym::Sym;
pub use tags::Tags;
