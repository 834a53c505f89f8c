//! Public cloud list prices: the AWS catalog that prices resources when no bill does.
//!
//! The default catalog is `rules/prices/aws.toml`, embedded in the binary; a user file with the
//! same shape can replace it (see [`PriceCatalog::load`]).

pub mod catalog;
pub mod commitments;
pub mod services;

pub use catalog::{HOURS_PER_MONTH, InstanceShape, NoPrice, PriceCatalog, PricingError};
pub use commitments::{CommitmentRates, Payment};
pub use services::{ClassShape, SERVICES, ServiceCatalog, ServicePrices};
