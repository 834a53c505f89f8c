//! The sample's Lambda functions and S3 buckets, each in the inventory, billed by ARN at its
//! price-table price (functions at their measured duration and requests, buckets at their
//! storage) and measured (30 days of invocations, daily bucket sizes), so that every Lambda and
//! S3 rule fires somewhere and has near misses.

use chrono::Duration;

use super::{Account, Charge, GB, Gen, LAMBDA, Result, S3, TagStyle, at, collected_at};
use crate::model::Money;
use crate::model::inventory::{Architecture, LambdaFunction, S3Bucket};
use crate::model::utilization::UtilizationSummary;
use crate::pricing::HOURS_PER_MONTH;

/// The Lambda and S3 metrics window (`source::aws::LONG_LOOKBACK_DAYS`).
const WINDOW_DAYS: u32 = 30;

/// One function: memory, architecture, runtime, package, timeout (s), invocations over the
/// window, average and longest duration (ms), days since it last changed, and what billing shows
/// besides duration and requests (provisioned concurrency), a month.
struct Function {
    account: Account,
    region: &'static str,
    name: &'static str,
    memory_mb: u64,
    arm64: bool,
    runtime: &'static str,
    image: bool,
    timeout: u64,
    invocations: u64,
    avg_ms: u64,
    max_ms: u64,
    modified_days: i64,
    provisioned_monthly: &'static str,
}

/// One bucket: GB per storage type today, Standard GB at the start of its history, days of
/// history, objects, lifecycle rules, Intelligent-Tiering configurations.
struct Bucket {
    account: Account,
    region: &'static str,
    name: String,
    storage: Vec<(&'static str, u64)>,
    standard_first_gb: u64,
    history_days: u32,
    objects: u64,
    lifecycle_rules: u32,
    tiering: u32,
}

impl Gen<'_> {
    pub(super) fn serverless_and_storage(&mut self) -> Result<()> {
        self.functions()?;
        self.buckets()
    }

    fn functions(&mut self) -> Result<()> {
        use Account::{Prod, Staging};
        let f = |account, region, name, memory_mb, arm64, runtime, timeout| Function {
            account,
            region,
            name,
            memory_mb,
            arm64,
            runtime,
            image: false,
            timeout,
            invocations: 0,
            avg_ms: 0,
            max_ms: 0,
            modified_days: 120,
            provisioned_monthly: "0",
        };
        let functions = [
            // x86_64 with 3 GB, runs 1.2 s of a 60 s timeout: arm64 and half the memory.
            Function {
                invocations: 2_000_000,
                avg_ms: 1200,
                max_ms: 3000,
                ..f(Prod, "us-east-1", "image-resize", 3008, false, "python3.12", 60)
            },
            // Already arm64, at 512 MB: nothing to say.
            Function {
                invocations: 5_000_000,
                avg_ms: 80,
                max_ms: 900,
                ..f(Prod, "us-east-1", "order-webhook", 512, true, "nodejs20.x", 30)
            },
            // x86_64: arm64 pays; runs 25 s of a 30 s timeout, so its memory stays.
            Function {
                invocations: 300_000,
                avg_ms: 4000,
                max_ms: 25_000,
                ..f(Prod, "us-west-2", "pdf-render", 2048, false, "java21", 30)
            },
            // go1.x has no arm64; 1024 MB is the memory floor.
            Function {
                invocations: 50_000,
                avg_ms: 500,
                max_ms: 2000,
                ..f(Staging, "us-east-1", "legacy-report", 1024, false, "go1.x", 60)
            },
            // A container image (no arm64 move without a rebuild), with memory to spare.
            Function {
                image: true,
                invocations: 1_000_000,
                avg_ms: 300,
                max_ms: 800,
                ..f(Prod, "eu-west-1", "search-sync", 1536, false, "", 15)
            },
            // Not invoked in 30 days, unchanged for 200: unused, costs nothing billed.
            Function {
                modified_days: 200,
                ..f(Staging, "us-east-1", "cost-export-old", 256, false, "python3.9", 30)
            },
            // Not invoked, but deployed 12 days ago: not yet unused.
            Function {
                modified_days: 12,
                ..f(Staging, "us-west-2", "feature-flags-sync", 128, false, "python3.12", 10)
            },
            // Not invoked, and paying for provisioned concurrency: unused, saves its bill.
            Function {
                modified_days: 90,
                provisioned_monthly: "10.95",
                ..f(Prod, "us-east-1", "checkout-warm", 1024, true, "nodejs20.x", 30)
            },
        ];
        for spec in functions {
            self.function(spec)?;
        }
        // The everyday estate: small arm64 functions, busy, with nothing to say.
        const EVERYDAY: [&str; 16] = [
            "thumbnailer",
            "stripe-webhook",
            "nightly-report",
            "log-shipper",
            "slack-notifier",
            "user-signup",
            "email-sender",
            "cache-warmer",
            "s3-indexer",
            "token-refresh",
            "audit-trail",
            "geoip-lookup",
            "csv-import",
            "cleanup-tmp",
            "order-events",
            "session-reaper",
        ];
        for (n, name) in EVERYDAY.into_iter().enumerate() {
            let (account, region) = match n % 3 {
                0 => (Prod, "us-east-1"),
                1 => (Prod, "us-west-2"),
                _ => (Staging, "us-east-1"),
            };
            let step = n as u64 + 1;
            self.function(Function {
                invocations: 40_000 * step,
                avg_ms: 60 + 15 * step,
                max_ms: 400 + 50 * step,
                ..f(account, region, name, 256, true, "nodejs20.x", 30)
            })?;
        }
        Ok(())
    }

    fn function(&mut self, spec: Function) -> Result<()> {
        let Function { account, region, name, memory_mb, arm64, invocations, avg_ms, .. } = spec;
        let id = format!("arn:aws:lambda:{region}:{}:function:{name}", account.id());
        let tags = self.named_tags(TagStyle::Full, account, "web", name);
        let architecture = if arm64 { Architecture::Arm64 } else { Architecture::X86_64 };
        let gb_second = format!("gb_second_{}", architecture.as_str());
        let gb_second = self.service_price("lambda", region, |t| t.unit(region, &gb_second))?;
        let requests =
            self.service_price("lambda", region, |t| t.unit(region, "requests_million"))?;
        // The window's duration and requests as a 730-hour month: ms × MB / (1000 × 1024) GB-s.
        let hours = i128::from(HOURS_PER_MONTH);
        let window_hours = i128::from(WINDOW_DAYS) * 24;
        let ms = i128::from(invocations) * i128::from(avg_ms);
        let duration =
            gb_second.mul_ratio(ms * i128::from(memory_mb) * hours, 1000 * 1024 * window_hours);
        let requests =
            requests.mul_ratio(i128::from(invocations) * hours, 1_000_000 * window_hours);
        let provisioned = Money::parse(spec.provisioned_monthly).unwrap_or(Money::ZERO);
        let monthly = (duration + requests + provisioned).round_dp(10);
        if !monthly.is_zero() {
            self.bill(
                &id,
                name,
                LAMBDA,
                "Function",
                account,
                region,
                &tags,
                Charge::Monthly(monthly),
                at(2025, 6, 1, 0, 0, 0),
                collected_at(),
                false,
            );
        }
        let modified = collected_at() - Duration::days(spec.modified_days);
        self.inventory.lambda_functions.push(LambdaFunction {
            id: id.clone(),
            name: name.to_string(),
            account_id: account.id().to_string(),
            region: region.to_string(),
            memory_mb,
            timeout_seconds: spec.timeout,
            architecture,
            runtime: spec.runtime.to_string(),
            package_type: if spec.image { "Image" } else { "Zip" }.to_string(),
            last_modified: Some(modified),
            tags,
        });
        let invoked = invocations > 0;
        self.utilization.push(UtilizationSummary {
            resource_id: id.clone(),
            lookback_days: WINDOW_DAYS,
            days_covered: WINDOW_DAYS,
            data_points: if invoked { WINDOW_DAYS * 24 } else { 0 },
            invocations_total: Some(invocations as f64),
            errors_total: Some((invocations / 2000) as f64),
            duration_total_ms: Some(ms as f64),
            duration_max_ms: invoked.then_some(spec.max_ms as f64),
            ..UtilizationSummary::default()
        });

        let x86_only = matches!(spec.runtime, "go1.x" | "java8" | "provided" | "python3.7");
        let graviton = !arm64 && !spec.image && !x86_only && invoked;
        let why = match (arm64, spec.image, x86_only, invoked) {
            (true, ..) => "already arm64".to_string(),
            (_, true, ..) => "container image: must be rebuilt for arm64".to_string(),
            (_, _, true, _) => format!("{} has no arm64", spec.runtime),
            (.., false) => "not invoked: no duration to price".to_string(),
            _ => format!("{} on x86_64, {invocations} invocations", spec.runtime),
        };
        self.expect("lambda-graviton", &id, "Function", graviton, &why);
        let far_under = spec.max_ms * 10 < spec.timeout * 1000;
        let memory = memory_mb > 1024 && far_under && invoked;
        let why = if memory_mb <= 1024 {
            format!("{memory_mb} MB: at or under the 1024 MB floor")
        } else if !far_under {
            format!("longest run {} ms of a {} s timeout", spec.max_ms, spec.timeout)
        } else {
            format!("{memory_mb} MB, longest run {} ms of {} s", spec.max_ms, spec.timeout)
        };
        self.expect("lambda-overprovisioned-memory", &id, "Function", memory, &why);
        let unused = !invoked && spec.modified_days >= 30;
        let why = if invoked {
            format!("{invocations} invocations")
        } else if unused {
            format!("no invocations in 30 days, unchanged for {} days", spec.modified_days)
        } else {
            format!("no invocations, but changed {} days ago", spec.modified_days)
        };
        self.expect("lambda-unused", &id, "Function", unused, &why);
        Ok(())
    }

    fn buckets(&mut self) -> Result<()> {
        use Account::{Prod, Staging};
        let buckets = [
            // 2.4 TB in Standard, 1.9 TB of it already there 30 days ago, 200 KB objects.
            Bucket {
                account: Prod,
                region: "us-east-1",
                name: "acme-data-lake-raw-prod".into(),
                storage: vec![("StandardStorage", 2400)],
                standard_first_gb: 1900,
                history_days: 30,
                objects: 12_000_000,
                lifecycle_rules: 0,
                tiering: 0,
            },
            // 800 GB of 2 KB log objects: a rule is due, but IA would bill 128 KB each.
            Bucket {
                account: Prod,
                region: "us-east-1",
                name: "acme-logs-prod".into(),
                storage: vec![("StandardStorage", 800)],
                standard_first_gb: 600,
                history_days: 30,
                objects: 400_000_000,
                lifecycle_rules: 0,
                tiering: 0,
            },
            // Lifecycle rules already move the backups to Glacier.
            Bucket {
                account: Prod,
                region: "us-west-2",
                name: "acme-backups-prod".into(),
                storage: vec![("StandardStorage", 1000), ("GlacierStorage", 4000)],
                standard_first_gb: 900,
                history_days: 30,
                objects: 250_000,
                lifecycle_rules: 2,
                tiering: 0,
            },
            // 60 GB: under the 100 GB threshold.
            Bucket {
                account: Staging,
                region: "us-east-1",
                name: "acme-athena-results-staging".into(),
                storage: vec![("StandardStorage", 60)],
                standard_first_gb: 40,
                history_days: 30,
                objects: 90_000,
                lifecycle_rules: 0,
                tiering: 0,
            },
            // Intelligent-Tiering, configured with its archive tier.
            Bucket {
                account: Prod,
                region: "eu-west-1",
                name: "acme-ml-artifacts-prod".into(),
                storage: vec![("StandardStorage", 20), ("IntelligentTieringFAStorage", 430)],
                standard_first_gb: 20,
                history_days: 30,
                objects: 80_000,
                lifecycle_rules: 0,
                tiering: 1,
            },
            // New: 11 days of size history, too short to know what is 30 days old.
            Bucket {
                account: Staging,
                region: "us-west-2",
                name: "acme-exports-staging".into(),
                storage: vec![("StandardStorage", 300)],
                standard_first_gb: 120,
                history_days: 11,
                objects: 600_000,
                lifecycle_rules: 0,
                tiering: 0,
            },
        ];
        for spec in buckets {
            self.bucket(spec)?;
        }
        // The everyday buckets: lifecycle rules in place.
        const EVERYDAY: [&str; 14] = [
            "web-assets",
            "data-lake-curated",
            "tf-state",
            "cdn-origin",
            "invoices",
            "cloudtrail",
            "uploads",
            "reports",
            "build-cache",
            "static-site",
            "ml-datasets",
            "email-archive",
            "config-history",
            "vpc-flow-logs",
        ];
        for (n, name) in EVERYDAY.into_iter().enumerate() {
            let account = if n % 2 == 0 { Prod } else { Staging };
            let region = ["us-east-1", "us-west-2", "eu-west-1"][n % 3];
            let gb = 20 + 35 * n as u64;
            self.bucket(Bucket {
                account,
                region,
                name: format!("acme-{name}-{}", account.env()),
                storage: vec![("StandardStorage", gb)],
                standard_first_gb: gb * 4 / 5,
                history_days: 30,
                objects: gb * 4_000,
                lifecycle_rules: 1,
                tiering: 0,
            })?;
        }
        Ok(())
    }

    fn bucket(&mut self, spec: Bucket) -> Result<()> {
        let (account, region, name) = (spec.account, spec.region, spec.name.as_str());
        let id = format!("arn:aws:s3:::{name}");
        let tags = self.named_tags(TagStyle::Full, account, "data", name);
        let mut monthly = Money::ZERO;
        for (storage_type, gb) in &spec.storage {
            let unit = match *storage_type {
                "GlacierStorage" => "glacier_gb_month",
                _ => "standard_gb_month",
            };
            monthly +=
                self.service_price("s3", region, |t| t.unit(region, unit))?.times(*gb as i64);
        }
        let created = collected_at() - Duration::days(i64::from(spec.history_days.max(400)));
        let created = if spec.history_days < 30 {
            collected_at() - Duration::days(i64::from(spec.history_days) + 1)
        } else {
            created
        };
        self.bill(
            &id,
            name,
            S3,
            "Bucket",
            account,
            region,
            &tags,
            Charge::Monthly(monthly),
            created,
            collected_at(),
            false,
        );
        self.inventory.s3_buckets.push(S3Bucket {
            id: id.clone(),
            name: name.to_string(),
            account_id: account.id().to_string(),
            region: region.to_string(),
            create_time: Some(created),
            lifecycle_rules: Some(spec.lifecycle_rules),
            lifecycle_rules_enabled: Some(spec.lifecycle_rules),
            intelligent_tiering_configs: Some(spec.tiering),
            tags,
        });
        let bytes = |gb: u64| (gb * GB) as f64;
        let today = spec.storage.iter().map(|(t, gb)| (t.to_string(), bytes(*gb))).collect();
        let first = spec
            .storage
            .iter()
            .map(|(t, gb)| {
                let gb = if *t == "StandardStorage" { spec.standard_first_gb } else { *gb };
                (t.to_string(), bytes(gb))
            })
            .collect();
        self.utilization.push(UtilizationSummary {
            resource_id: id.clone(),
            lookback_days: WINDOW_DAYS,
            days_covered: spec.history_days + 1,
            data_points: spec.history_days + 1,
            storage_bytes: today,
            storage_bytes_first: first,
            storage_days_span: Some(spec.history_days),
            objects: Some(spec.objects as f64),
            ..UtilizationSummary::default()
        });

        let standard =
            spec.storage.iter().find(|(t, _)| *t == "StandardStorage").map_or(0, |s| s.1);
        let fires = spec.lifecycle_rules == 0 && spec.tiering == 0 && standard > 100;
        let why = if spec.lifecycle_rules > 0 {
            format!("{} lifecycle rules", spec.lifecycle_rules)
        } else if spec.tiering > 0 {
            "Intelligent-Tiering configured".to_string()
        } else if standard <= 100 {
            format!("{standard} GB in Standard, under 100")
        } else if spec.history_days < 30 {
            format!(
                "{standard} GB, no lifecycle; {} days of history: savings not computed",
                spec.history_days
            )
        } else if spec.objects > 0 && standard * GB / spec.objects < 128_000 {
            format!("{standard} GB of small objects: savings not computed")
        } else {
            format!("{standard} GB in Standard, {} GB at least 30 days old", spec.standard_first_gb)
        };
        self.expect("s3-no-lifecycle", &id, "Bucket", fires, &why);
        Ok(())
    }
}
