//! The bundled sample data set (samples/), embedded so `--sample` works anywhere.

use std::path::Path;

use crate::model::{BillingSummary, Snapshot};
use crate::source::Result;
use crate::source::focus::{FocusOptions, read_focus_reader};
use crate::source::snapshot_file::parse_snapshot;

/// File name shown in messages and evidence for the sample billing.
pub const BILLING_NAME: &str = "sample:samples/focus-2026-09-10.csv.gz";
pub const SNAPSHOT_NAME: &str = "sample:samples/snapshot.json";
/// File name shown in messages for the sample's budgets config.
pub const CONFIG_NAME: &str = "sample:samples/costscope.toml";
/// The sample's `costscope.toml` (budgets), used by `budgets --sample` when the user has none.
pub const CONFIG_TOML: &str = include_str!("../samples/costscope.toml");

const BILLING_GZ: &[u8] = include_bytes!("../samples/focus-2026-09-10.csv.gz");
const SNAPSHOT_JSON: &str = include_str!("../samples/snapshot.json");

/// The sample's inventory, utilization and cluster (without billing).
pub fn snapshot() -> Result<Snapshot> {
    parse_snapshot(SNAPSHOT_JSON, Path::new(SNAPSHOT_NAME))
}

/// The sample's two billing months, read like any FOCUS file.
pub fn billing(options: FocusOptions) -> Result<BillingSummary> {
    let decoder = flate2::read::MultiGzDecoder::new(BILLING_GZ);
    read_focus_reader(decoder, Path::new(BILLING_NAME), options)
}

/// The units `costscope units --sample` shows when the config has no `[[unit]]`: what a
/// platform team asks of the sample's EKS cluster and its `env` tag. Read by the config's own
/// parser, so it is checked like a user's file.
pub const UNITS_TOML: &str = r#"
[[unit]]
name = "cost per namespace"
per = "namespace"

[[unit]]
name = "cost per node"
per = "node"

[[unit]]
name = "cost per cluster"
per = "cluster"

[[unit]]
name = "cost per environment"
per = "tag:env"
"#;

/// Where [`UNITS_TOML`] is said to come from in messages.
pub const UNITS_NAME: &str = "sample:units.toml";
