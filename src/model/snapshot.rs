//! The one serializable picture of everything the sources gathered.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::billing::BillingSummary;
use super::cluster::Cluster;
use super::inventory::Inventory;
use super::utilization::UtilizationSummary;

/// Bumped whenever a field changes meaning or a required field is added.
pub const SCHEMA_VERSION: u32 = 1;

/// Whether a source delivered everything it was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceState {
    Ok,
    Partial,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceStatus {
    /// `focus:billing.csv`, `snapshot:snap.json`, `sample`, …
    pub name: String,
    pub state: SourceState,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// What the source wants the user to know that is not a problem (e.g. how many paid
    /// Cost Explorer requests the run made).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Inventory, utilization, cluster state and billing, as of `collected_at`. Rules measure ages
/// against `collected_at`, not the wall clock, so a saved snapshot always gives the same report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub schema_version: u32,
    pub collected_at: DateTime<Utc>,
    #[serde(default)]
    pub sources: Vec<SourceStatus>,
    #[serde(default)]
    pub billing: Option<BillingSummary>,
    #[serde(default)]
    pub inventory: Inventory,
    /// Sorted by resource id.
    #[serde(default)]
    pub utilization: Vec<UtilizationSummary>,
    #[serde(default)]
    pub clusters: Vec<Cluster>,
    /// Commitments as the provider's APIs describe them (`--aws`); absent in snapshots written
    /// before they were read, and when nothing was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_commitments: Option<super::commitments::LiveCommitments>,
}

impl Snapshot {
    pub fn empty(collected_at: DateTime<Utc>) -> Snapshot {
        Snapshot {
            schema_version: SCHEMA_VERSION,
            collected_at,
            sources: Vec::new(),
            billing: None,
            inventory: Inventory::default(),
            utilization: Vec::new(),
            clusters: Vec::new(),
            live_commitments: None,
        }
    }

    /// Puts every list in id order so the same data always serializes to the same bytes.
    pub fn normalize(&mut self) {
        self.inventory.sort();
        self.utilization.sort_by(|a, b| a.resource_id.cmp(&b.resource_id));
    }
}
