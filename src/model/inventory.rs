//! Cloud resource inventory: EC2 instances, EBS volumes, Elastic IPs, EBS snapshots, NAT
//! gateways here; each further service in a module of its own.

pub mod dynamodb;
pub mod elasticache;
pub mod images;
pub mod lambda;
pub mod load_balancer;
pub mod log_group;
pub mod opensearch;
pub mod rds;
pub mod redshift;
pub mod s3;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::tags::Tags;

pub use dynamodb::{BillingMode, DynamoDbTable};
pub use elasticache::CacheCluster;
pub use images::{Image, ImageSnapshot, LaunchTemplate};
pub use lambda::{Architecture, LambdaFunction};
pub use load_balancer::{LoadBalancer, LoadBalancerType};
pub use log_group::LogGroup;
pub use opensearch::SearchDomain;
pub use rds::{DbCluster, DbInstance, DbSnapshot, DbSnapshotSource};
pub use redshift::RedshiftCluster;
pub use s3::S3Bucket;

/// Everything a source found, by kind. Each list is sorted by id when a snapshot is written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Inventory {
    pub instances: Vec<Instance>,
    pub volumes: Vec<Volume>,
    pub addresses: Vec<ElasticIp>,
    pub snapshots: Vec<EbsSnapshot>,
    pub nat_gateways: Vec<NatGateway>,
    pub db_instances: Vec<DbInstance>,
    pub db_clusters: Vec<DbCluster>,
    pub db_snapshots: Vec<DbSnapshot>,
    pub cache_clusters: Vec<CacheCluster>,
    pub search_domains: Vec<SearchDomain>,
    pub redshift_clusters: Vec<RedshiftCluster>,
    pub dynamodb_tables: Vec<DynamoDbTable>,
    pub load_balancers: Vec<LoadBalancer>,
    pub log_groups: Vec<LogGroup>,
    pub lambda_functions: Vec<LambdaFunction>,
    pub s3_buckets: Vec<S3Bucket>,
    /// The account's own AMIs.
    pub images: Vec<Image>,
    pub launch_templates: Vec<LaunchTemplate>,
}

impl Inventory {
    pub fn len(&self) -> usize {
        self.instances.len()
            + self.volumes.len()
            + self.addresses.len()
            + self.snapshots.len()
            + self.nat_gateways.len()
            + self.db_instances.len()
            + self.db_clusters.len()
            + self.db_snapshots.len()
            + self.cache_clusters.len()
            + self.search_domains.len()
            + self.redshift_clusters.len()
            + self.dynamodb_tables.len()
            + self.load_balancers.len()
            + self.log_groups.len()
            + self.lambda_functions.len()
            + self.s3_buckets.len()
            + self.images.len()
            + self.launch_templates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends every list of `other` (another region, profile or source).
    pub fn extend(&mut self, other: Inventory) {
        self.instances.extend(other.instances);
        self.volumes.extend(other.volumes);
        self.addresses.extend(other.addresses);
        self.snapshots.extend(other.snapshots);
        self.nat_gateways.extend(other.nat_gateways);
        self.db_instances.extend(other.db_instances);
        self.db_clusters.extend(other.db_clusters);
        self.db_snapshots.extend(other.db_snapshots);
        self.cache_clusters.extend(other.cache_clusters);
        self.search_domains.extend(other.search_domains);
        self.redshift_clusters.extend(other.redshift_clusters);
        self.dynamodb_tables.extend(other.dynamodb_tables);
        self.load_balancers.extend(other.load_balancers);
        self.log_groups.extend(other.log_groups);
        self.lambda_functions.extend(other.lambda_functions);
        self.s3_buckets.extend(other.s3_buckets);
        self.images.extend(other.images);
        self.launch_templates.extend(other.launch_templates);
    }

    pub fn sort(&mut self) {
        self.instances.sort_by(|a, b| a.id.cmp(&b.id));
        self.volumes.sort_by(|a, b| a.id.cmp(&b.id));
        self.addresses.sort_by(|a, b| a.allocation_id.cmp(&b.allocation_id));
        self.snapshots.sort_by(|a, b| a.id.cmp(&b.id));
        self.nat_gateways.sort_by(|a, b| a.id.cmp(&b.id));
        self.db_instances.sort_by(|a, b| a.id.cmp(&b.id));
        self.db_clusters.sort_by(|a, b| a.id.cmp(&b.id));
        self.db_snapshots.sort_by(|a, b| a.id.cmp(&b.id));
        self.cache_clusters.sort_by(|a, b| a.id.cmp(&b.id));
        self.search_domains.sort_by(|a, b| a.id.cmp(&b.id));
        self.redshift_clusters.sort_by(|a, b| a.id.cmp(&b.id));
        self.dynamodb_tables.sort_by(|a, b| a.id.cmp(&b.id));
        self.load_balancers.sort_by(|a, b| a.id.cmp(&b.id));
        self.log_groups.sort_by(|a, b| a.id.cmp(&b.id));
        self.lambda_functions.sort_by(|a, b| a.id.cmp(&b.id));
        self.s3_buckets.sort_by(|a, b| a.id.cmp(&b.id));
        self.images.sort_by(|a, b| a.id.cmp(&b.id));
        self.launch_templates.sort_by(|a, b| a.id.cmp(&b.id));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
}

impl InstanceState {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::ShuttingDown => "shutting-down",
            InstanceState::Terminated => "terminated",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    pub id: String,
    pub account_id: String,
    pub region: String,
    pub instance_type: String,
    pub state: InstanceState,
    pub launch_time: Option<DateTime<Utc>>,
    /// When the instance entered its current state, parsed from StateTransitionReason.
    #[serde(default)]
    pub state_transition_time: Option<DateTime<Utc>>,
    /// The raw StateTransitionReason text, kept as evidence.
    #[serde(default)]
    pub state_transition_reason: Option<String>,
    /// `linux` unless the provider says otherwise (e.g. `windows`).
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub tags: Tags,
    /// Ids of the EBS volumes attached to it.
    #[serde(default)]
    pub volume_ids: Vec<String>,
    /// The AMI it was launched from.
    #[serde(default)]
    pub image_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VolumeState {
    Creating,
    Available,
    InUse,
    Deleting,
    Deleted,
    Error,
}

impl VolumeState {
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeState::Creating => "creating",
            VolumeState::Available => "available",
            VolumeState::InUse => "in-use",
            VolumeState::Deleting => "deleting",
            VolumeState::Deleted => "deleted",
            VolumeState::Error => "error",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeAttachment {
    pub instance_id: String,
    #[serde(default)]
    pub device: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    pub id: String,
    pub account_id: String,
    pub region: String,
    /// `gp2`, `gp3`, `io1`, `io2`, `st1`, `sc1` or `standard`.
    pub volume_type: String,
    pub size_gib: u64,
    #[serde(default)]
    pub iops: Option<u64>,
    /// MiB/s; gp3 only.
    #[serde(default)]
    pub throughput: Option<u64>,
    pub state: VolumeState,
    #[serde(default)]
    pub attachments: Vec<VolumeAttachment>,
    pub create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElasticIp {
    pub allocation_id: String,
    pub public_ip: String,
    pub account_id: String,
    pub region: String,
    #[serde(default)]
    pub association_id: Option<String>,
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub tags: Tags,
}

impl ElasticIp {
    pub fn is_associated(&self) -> bool {
        self.association_id.as_deref().is_some_and(|s| !s.is_empty())
            || self.instance_id.as_deref().is_some_and(|s| !s.is_empty())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EbsSnapshot {
    pub id: String,
    pub account_id: String,
    pub region: String,
    #[serde(default)]
    pub volume_id: Option<String>,
    pub size_gib: u64,
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatGateway {
    pub id: String,
    pub account_id: String,
    pub region: String,
    /// `available`, `pending`, `deleting`, `deleted`, `failed`.
    pub state: String,
    pub create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub tags: Tags,
}
