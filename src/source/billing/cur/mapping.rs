//! The CUR → FOCUS mapping as data: which CUR columns exist (under their CUR 2.0 names), what
//! each line item type means in FOCUS, and the lookups (product code → ServiceCategory, product
//! family → ResourceType, Savings Plans offering → CommitmentDiscountType). docs/cur-mapping.md
//! is this table in prose, with its sources.

use crate::source::focus::Column;

/// A CUR column the mapping reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Src {
    LineItemType,
    UnblendedCost,
    NetUnblendedCost,
    UsageStart,
    UsageEnd,
    Currency,
    PayerId,
    PayerName,
    UsageAccountId,
    UsageAccountName,
    ProductCode,
    ProductName,
    ProductFamily,
    RegionCode,
    ResourceId,
    PricingTerm,
    PublicOnDemandCost,
    SpArn,
    SpEffectiveCost,
    SpTotalCommitment,
    SpUsedCommitment,
    SpOfferingType,
    RiArn,
    RiEffectiveCost,
    RiUnusedUpfront,
    RiUnusedRecurring,
}

/// Each source column under its canonical name (CUR 2.0's snake case; legacy names are
/// normalised to it, see `canonical`). `ProductName` is also a key of CUR 2.0's `product` map.
pub(crate) const SOURCES: [(Src, &str); 26] = [
    (Src::LineItemType, "line_item_line_item_type"),
    (Src::UnblendedCost, "line_item_unblended_cost"),
    (Src::NetUnblendedCost, "line_item_net_unblended_cost"),
    (Src::UsageStart, "line_item_usage_start_date"),
    (Src::UsageEnd, "line_item_usage_end_date"),
    (Src::Currency, "line_item_currency_code"),
    (Src::PayerId, "bill_payer_account_id"),
    (Src::PayerName, "bill_payer_account_name"),
    (Src::UsageAccountId, "line_item_usage_account_id"),
    (Src::UsageAccountName, "line_item_usage_account_name"),
    (Src::ProductCode, "line_item_product_code"),
    (Src::ProductName, "product_product_name"),
    (Src::ProductFamily, "product_product_family"),
    (Src::RegionCode, "product_region_code"),
    (Src::ResourceId, "line_item_resource_id"),
    (Src::PricingTerm, "pricing_term"),
    (Src::PublicOnDemandCost, "pricing_public_on_demand_cost"),
    (Src::SpArn, "savings_plan_savings_plan_arn"),
    (Src::SpEffectiveCost, "savings_plan_savings_plan_effective_cost"),
    (Src::SpTotalCommitment, "savings_plan_total_commitment_to_date"),
    (Src::SpUsedCommitment, "savings_plan_used_commitment"),
    (Src::SpOfferingType, "savings_plan_offering_type"),
    (Src::RiArn, "reservation_reservation_arn"),
    (Src::RiEffectiveCost, "reservation_effective_cost"),
    (Src::RiUnusedUpfront, "reservation_unused_amortized_upfront_fee_for_billing_period"),
    (Src::RiUnusedRecurring, "reservation_unused_recurring_fee"),
];

/// The key of CUR 2.0's `product` map holding the product name.
pub(crate) const PRODUCT_NAME_KEY: &str = "product_name";

/// What a line item's EffectiveCost is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effective {
    /// The same as BilledCost (not amortized).
    Billed,
    Zero,
    Column(Src),
    /// The first column minus the second.
    Difference(Src, Src),
    Sum(Src, Src),
    /// Zero when the line names a reservation (its upfront fee is amortized onto usage), else
    /// BilledCost.
    ZeroWithReservation,
}

/// What one `line_item_line_item_type` means in FOCUS.
#[derive(Debug)]
pub(crate) struct LineType {
    pub name: &'static str,
    pub charge_category: &'static str,
    pub charge_frequency: &'static str,
    /// Usage a commitment covered: PricingCategory `Committed`, CommitmentDiscountStatus `Used`.
    pub committed: bool,
    pub effective: Effective,
    /// A recurring commitment fee carries the commitment's unused part: it becomes a second
    /// FOCUS row (Usage, `Unused`, BilledCost 0, EffectiveCost this).
    pub unused: Option<Effective>,
}

const fn line(
    name: &'static str,
    charge_category: &'static str,
    charge_frequency: &'static str,
    committed: bool,
    effective: Effective,
    unused: Option<Effective>,
) -> LineType {
    LineType { name, charge_category, charge_frequency, committed, effective, unused }
}

use Effective as E;

/// Every line item type AWS documents, in FOCUS terms.
pub(crate) const LINE_TYPES: [LineType; 15] = [
    line("Usage", "Usage", "Usage-Based", false, E::Billed, None),
    line(
        "SavingsPlanCoveredUsage",
        "Usage",
        "Usage-Based",
        true,
        E::Column(Src::SpEffectiveCost),
        None,
    ),
    line("SavingsPlanNegation", "Usage", "Usage-Based", true, E::Zero, None),
    line("DiscountedUsage", "Usage", "Usage-Based", true, E::Column(Src::RiEffectiveCost), None),
    line("SavingsPlanUpfrontFee", "Purchase", "One-Time", false, E::Zero, None),
    line(
        "SavingsPlanRecurringFee",
        "Purchase",
        "Recurring",
        false,
        E::Zero,
        Some(E::Difference(Src::SpTotalCommitment, Src::SpUsedCommitment)),
    ),
    line(
        "RIFee",
        "Purchase",
        "Recurring",
        false,
        E::Zero,
        Some(E::Sum(Src::RiUnusedUpfront, Src::RiUnusedRecurring)),
    ),
    line("Fee", "Purchase", "One-Time", false, E::ZeroWithReservation, None),
    line("Tax", "Tax", "One-Time", false, E::Billed, None),
    line("Credit", "Credit", "One-Time", false, E::Billed, None),
    line("Refund", "Adjustment", "One-Time", false, E::Billed, None),
    line("Discount", "Usage", "Usage-Based", false, E::Billed, None),
    line("BundledDiscount", "Usage", "Usage-Based", false, E::Billed, None),
    line("EdpDiscount", "Usage", "Usage-Based", false, E::Billed, None),
    line("PrivateRateDiscount", "Usage", "Usage-Based", false, E::Billed, None),
];

/// A type AWS adds later, or an empty cell: plain usage, so costs still add up.
pub(crate) const OTHER_LINE: LineType = line("", "Usage", "Usage-Based", false, E::Billed, None);

/// The unused part of a recurring commitment fee, as its own FOCUS row.
pub(crate) const UNUSED_PART: LineType = line("", "Usage", "Usage-Based", true, E::Zero, None);

pub(crate) fn line_type(name: &[u8]) -> &'static LineType {
    LINE_TYPES.iter().find(|t| t.name.as_bytes().eq_ignore_ascii_case(name)).unwrap_or(&OTHER_LINE)
}

/// FOCUS columns written as constants.
pub(crate) const PROVIDER: &str = "AWS";

/// The CUR columns behind each FOCUS column (what a columnar reader must decode for it).
#[allow(dead_code, reason = "read through Mapping::needed, which the Parquet reader calls")]
pub(crate) fn sources_of(column: Column) -> &'static [Src] {
    use Src::*;
    match column {
        Column::BilledCost => &[UnblendedCost, NetUnblendedCost, LineItemType],
        Column::EffectiveCost => &[
            UnblendedCost,
            NetUnblendedCost,
            LineItemType,
            SpEffectiveCost,
            SpTotalCommitment,
            SpUsedCommitment,
            RiEffectiveCost,
            RiUnusedUpfront,
            RiUnusedRecurring,
            RiArn,
        ],
        Column::ListCost => &[PublicOnDemandCost],
        Column::ChargePeriodStart => &[UsageStart],
        Column::ChargePeriodEnd => &[UsageEnd],
        Column::BillingCurrency => &[Currency],
        Column::BillingAccountId => &[PayerId],
        Column::BillingAccountName => &[PayerName],
        Column::SubAccountId => &[UsageAccountId],
        Column::SubAccountName => &[UsageAccountName],
        Column::ServiceName => &[ProductName],
        Column::ServiceCategory => &[ProductCode],
        Column::RegionId => &[RegionCode],
        Column::ResourceId => &[ResourceId],
        Column::ResourceType => &[ProductFamily],
        Column::ChargeCategory | Column::ChargeFrequency => &[LineItemType],
        Column::PricingCategory => &[LineItemType, PricingTerm],
        Column::CommitmentDiscountId
        | Column::CommitmentDiscountCategory
        | Column::CommitmentDiscountStatus => &[LineItemType, SpArn, RiArn],
        Column::CommitmentDiscountType => &[SpArn, RiArn, SpOfferingType],
        Column::ProviderName
        | Column::ResourceName
        | Column::Tags
        | Column::CommitmentDiscountName
        | Column::CommitmentDiscountUnit => &[],
    }
}

/// `line_item_product_code` → ServiceCategory, after the FinOps Foundation converter's
/// aws_category_mapping.csv; AWS's own FOCUS export where they differ (see the docs).
pub(crate) const SERVICE_CATEGORIES: &[(&str, &str)] = &[
    ("AmazonEC2", "Compute"),
    ("AWSLambda", "Compute"),
    ("AmazonECS", "Compute"),
    ("AmazonEKS", "Compute"),
    ("AmazonECR", "Compute"),
    ("AmazonECRPublic", "Compute"),
    ("AmazonLightsail", "Compute"),
    ("AWSAppRunner", "Compute"),
    ("AWSOutposts", "Compute"),
    ("AmazonAppStream", "Compute"),
    ("ComputeSavingsPlans", "Compute"),
    ("AmazonS3", "Storage"),
    ("AmazonS3GlacierDeepArchive", "Storage"),
    ("AmazonGlacier", "Storage"),
    ("AmazonEFS", "Storage"),
    ("AmazonFSx", "Storage"),
    ("AmazonEBS", "Storage"),
    ("AWSBackup", "Storage"),
    ("AWSStorageGateway", "Storage"),
    ("AmazonRDS", "Databases"),
    ("AmazonDynamoDB", "Databases"),
    ("AmazonElastiCache", "Databases"),
    ("AmazonDocDB", "Databases"),
    ("AmazonNeptune", "Databases"),
    ("AmazonMemoryDB", "Databases"),
    ("AmazonTimestream", "Databases"),
    ("AmazonMCS", "Databases"),
    ("AmazonRedshift", "Analytics"),
    ("AmazonES", "Analytics"),
    ("AmazonAthena", "Analytics"),
    ("AWSGlue", "Analytics"),
    ("AmazonKinesis", "Analytics"),
    ("AmazonKinesisFirehose", "Analytics"),
    ("AmazonMSK", "Analytics"),
    ("ElasticMapReduce", "Analytics"),
    ("AmazonQuickSight", "Analytics"),
    ("AmazonVPC", "Networking"),
    ("AWSELB", "Networking"),
    ("AmazonCloudFront", "Networking"),
    ("AmazonRoute53", "Networking"),
    ("AWSDataTransfer", "Networking"),
    ("AWSDirectConnect", "Networking"),
    ("AWSGlobalAccelerator", "Networking"),
    ("AmazonApiGateway", "Networking"),
    ("AWSNetworkFirewall", "Networking"),
    ("AWSQueueService", "Integration"),
    ("AmazonSNS", "Integration"),
    ("AmazonMQ", "Integration"),
    ("AmazonStates", "Integration"),
    ("AmazonMWAA", "Integration"),
    ("AWSEvents", "Integration"),
    ("AWSSecretsManager", "Security"),
    ("awskms", "Security"),
    ("awswaf", "Security"),
    ("AWSShield", "Security"),
    ("AmazonGuardDuty", "Security"),
    ("AWSSecurityHub", "Security"),
    ("AmazonCognito", "Security"),
    ("AWSCertificateManager", "Security"),
    ("AmazonInspectorV2", "Security"),
    ("AmazonMacie", "Security"),
    ("AmazonCloudWatch", "Management and Governance"),
    ("AWSCloudTrail", "Management and Governance"),
    ("AWSConfig", "Management and Governance"),
    ("AWSCloudFormation", "Management and Governance"),
    ("AWSSystemsManager", "Management and Governance"),
    ("AWSCostExplorer", "Management and Governance"),
    ("AWSBudgets", "Management and Governance"),
    ("AWSSupportBusiness", "Management and Governance"),
    ("AWSSupportEnterprise", "Management and Governance"),
    ("AWSDeveloperSupport", "Management and Governance"),
    ("AmazonSageMaker", "AI and Machine Learning"),
    ("AmazonBedrock", "AI and Machine Learning"),
    ("AmazonRekognition", "AI and Machine Learning"),
    ("AmazonTextract", "AI and Machine Learning"),
    ("comprehend", "AI and Machine Learning"),
    ("transcribe", "AI and Machine Learning"),
    ("translate", "AI and Machine Learning"),
    ("AmazonSES", "Business Applications"),
    ("AWSCodeCommit", "Developer Tools"),
    ("AWSCodePipeline", "Developer Tools"),
    ("CodeBuild", "Developer Tools"),
    ("AWSDatabaseMigrationSvc", "Migration"),
    ("AWSDataSync", "Migration"),
    ("AWSTransfer", "Migration"),
];

/// `line_item_product_code` ↔ product name, for the sample writer (the reader takes the name
/// from the row itself).
pub(crate) const PRODUCT_NAMES: &[(&str, &str)] = &[
    ("AmazonEC2", "Amazon Elastic Compute Cloud"),
    ("AWSLambda", "AWS Lambda"),
    ("AmazonS3", "Amazon Simple Storage Service"),
    ("AmazonRDS", "Amazon Relational Database Service"),
    ("AWSSecretsManager", "AWS Secrets Manager"),
    ("AWSQueueService", "Amazon Simple Queue Service"),
    ("AmazonVPC", "Amazon Virtual Private Cloud"),
    ("AWSELB", "Elastic Load Balancing"),
    ("AmazonDynamoDB", "Amazon DynamoDB"),
    ("awskms", "AWS Key Management Service"),
    ("AmazonECR", "Amazon EC2 Container Registry (ECR)"),
    ("AmazonCloudWatch", "Amazon CloudWatch"),
    ("AmazonSNS", "Amazon Simple Notification Service"),
    ("AmazonCloudFront", "Amazon CloudFront"),
    ("AmazonES", "Amazon OpenSearch Service"),
    ("AmazonRoute53", "Amazon Route 53"),
    ("AmazonElastiCache", "Amazon ElastiCache"),
    ("AmazonEKS", "Amazon Elastic Kubernetes Service"),
    ("AmazonRedshift", "Amazon Redshift"),
    ("ComputeSavingsPlans", "Savings Plans for AWS Compute usage"),
    ("AWSSupportBusiness", "AWS Support (Business)"),
];

/// A product code the table does not know.
pub(crate) const OTHER_CATEGORY: &str = "Other";

/// `product_product_family` → FOCUS ResourceType where the names differ; other families are
/// taken as they are. The FOCUS side is what costscope's commitment eligibility keys on
/// (rules/prices/commitments.toml excludes Volume, Snapshot, Elastic IP, NAT Gateway, Image).
pub(crate) const RESOURCE_TYPES: &[(&str, &str)] = &[
    ("Compute Instance", "Instance"),
    ("Storage", "Volume"),
    ("Storage Snapshot", "Snapshot"),
    ("IP Address", "Elastic IP"),
    ("NAT Gateway", "NAT Gateway"),
    ("Database Instance", "DB Instance"),
    ("Load Balancer-Application", "Load Balancer"),
    ("Serverless", "Function"),
];

/// `savings_plan_offering_type` → CommitmentDiscountType.
pub(crate) const SAVINGS_PLAN_TYPES: &[(&str, &str)] = &[
    ("ComputeSavingsPlans", "Compute Savings Plan"),
    ("EC2InstanceSavingsPlans", "EC2 Instance Savings Plan"),
    ("SageMakerSavingsPlans", "SageMaker Savings Plan"),
    ("DatabaseSavingsPlans", "Database Savings Plan"),
];
/// A Savings Plan of an offering the table does not know (or without the column).
pub(crate) const SAVINGS_PLAN: &str = "Savings Plan";
pub(crate) const RESERVED_INSTANCE: &str = "Reserved Instance";
/// CommitmentDiscountCategory: Savings Plans commit to spend, reservations to usage.
pub(crate) const SPEND: &str = "Spend";
pub(crate) const USAGE: &str = "Usage";

/// `value` looked up in a two-column table, case-insensitively.
pub(crate) fn lookup(
    table: &'static [(&'static str, &'static str)],
    value: &[u8],
) -> Option<&'static str> {
    table.iter().find(|(from, _)| from.as_bytes().eq_ignore_ascii_case(value)).map(|(_, to)| *to)
}

/// The reverse lookup (the sample writer's direction).
pub(crate) fn reverse(
    table: &'static [(&'static str, &'static str)],
    value: &str,
) -> Option<&'static str> {
    table.iter().find(|(_, to)| to.eq_ignore_ascii_case(value)).map(|(from, _)| *from)
}

/// A CUR column name in its canonical form.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Canonical {
    Column(String),
    /// A legacy per-tag column: the tag key as FOCUS Tags writes it.
    Tag(String),
    /// CUR 2.0's `resource_tags` map.
    TagMap,
    /// CUR 2.0's `product` map.
    ProductMap,
    /// A tag AWS generates (`aws:createdBy`) or a column costscope does not read.
    Ignored,
}

/// Normalises a header cell: legacy CSV `lineItem/UnblendedCost`, legacy Parquet
/// `line_item_unblended_cost` and CUR 2.0 `line_item_unblended_cost` all become the latter;
/// `resourceTags/user:team` and `resource_tags_user_team` become the tag `team`.
pub(crate) fn canonical(raw: &str) -> Canonical {
    let untrimmed = raw.trim_start_matches('\u{feff}').trim_start();
    let name = untrimmed.trim_end();
    if let Some((group, field)) = name.split_once('/') {
        if group.eq_ignore_ascii_case("resourceTags") {
            // A tag key is kept exactly, trailing spaces included: `team ` is not `team`.
            let field = untrimmed.split_once('/').map_or(field, |(_, f)| f);
            return match field.strip_prefix("user:") {
                Some(key) if !key.is_empty() => Canonical::Tag(key.to_string()),
                _ => Canonical::Ignored,
            };
        }
        return Canonical::Column(format!("{}_{}", snake(group), snake(field)));
    }
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "resource_tags" => return Canonical::TagMap,
        "product" => return Canonical::ProductMap,
        _ => {}
    }
    if let Some(key) = name.strip_prefix("resource_tags_user_") {
        return Canonical::Tag(key.to_string());
    }
    if lower.starts_with("resource_tags_") {
        return Canonical::Ignored;
    }
    // Athena's legacy Parquet names split acronyms letter by letter (`a_r_n`).
    Canonical::Column(lower.replace("_a_r_n", "_arn"))
}

/// `UnusedAmortizedUpfrontFee` → `unused_amortized_upfront_fee`, `SavingsPlanARN` →
/// `savings_plan_arn`: a run of capitals is one word.
fn snake(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_and_parquet_names_normalise_to_cur2() {
        let col = |s: &str| Canonical::Column(s.to_string());
        assert_eq!(canonical("lineItem/UnblendedCost"), col("line_item_unblended_cost"));
        assert_eq!(canonical("savingsPlan/SavingsPlanARN"), col("savings_plan_savings_plan_arn"));
        assert_eq!(canonical("reservation_reservation_a_r_n"), col("reservation_reservation_arn"));
        assert_eq!(canonical("pricing/publicOnDemandCost"), col("pricing_public_on_demand_cost"));
        assert_eq!(canonical("product/ProductName"), col("product_product_name"));
        assert_eq!(canonical("product/regionCode"), col("product_region_code"));
        assert_eq!(
            canonical("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod"),
            col("reservation_unused_amortized_upfront_fee_for_billing_period")
        );
        assert_eq!(
            canonical("resourceTags/user:cost-center"),
            Canonical::Tag("cost-center".into())
        );
        assert_eq!(canonical("resource_tags_user_team"), Canonical::Tag("team".into()));
        assert_eq!(canonical("resourceTags/aws:createdBy"), Canonical::Ignored);
        assert_eq!(canonical("resource_tags"), Canonical::TagMap);
        assert_eq!(canonical("product"), Canonical::ProductMap);
    }

    #[test]
    fn every_source_has_a_distinct_name_and_the_table_is_in_enum_order() {
        for (i, (src, name)) in SOURCES.iter().enumerate() {
            assert_eq!(*src as usize, i, "{name}");
            assert_eq!(SOURCES.iter().filter(|(_, n)| n == name).count(), 1);
        }
    }

    #[test]
    fn line_item_types_map_to_charge_categories() {
        let category = |t: &str| line_type(t.as_bytes()).charge_category;
        assert_eq!(category("Usage"), "Usage");
        assert_eq!(category("SavingsPlanCoveredUsage"), "Usage");
        assert_eq!(category("SavingsPlanNegation"), "Usage");
        assert_eq!(category("DiscountedUsage"), "Usage");
        assert_eq!(category("SavingsPlanRecurringFee"), "Purchase");
        assert_eq!(category("SavingsPlanUpfrontFee"), "Purchase");
        assert_eq!(category("RIFee"), "Purchase");
        assert_eq!(category("Fee"), "Purchase");
        assert_eq!(category("Tax"), "Tax");
        assert_eq!(category("Credit"), "Credit");
        assert_eq!(category("Refund"), "Adjustment");
        assert_eq!(category("SomethingNew"), "Usage");
    }

    #[test]
    fn lookups_go_both_ways() {
        assert_eq!(lookup(SERVICE_CATEGORIES, b"AmazonEC2"), Some("Compute"));
        assert_eq!(lookup(SERVICE_CATEGORIES, b"awskms"), Some("Security"));
        assert_eq!(lookup(RESOURCE_TYPES, b"Storage Snapshot"), Some("Snapshot"));
        assert_eq!(reverse(RESOURCE_TYPES, "Volume"), Some("Storage"));
        assert_eq!(
            lookup(SAVINGS_PLAN_TYPES, b"ComputeSavingsPlans"),
            Some("Compute Savings Plan")
        );
    }
}
