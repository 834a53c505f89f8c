//! Emulators, seeding and running the binary for tests/aws.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unused_imports)]

mod fault_proxy;
pub use fault_proxy::{Fault, FaultProxy, MOTO_ENDPOINT_VARIABLES, Rule};

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_ec2::types::{InstanceType, ResourceType, Tag, TagSpecification, VolumeType};
use chrono::{DurationRound, Utc};

pub struct Emulators {
    pub moto: u16,
    pub localstack: u16,
}

/// Started once per test process by tests/emulators/harness.sh, which stops them when this
/// process exits.
pub fn emulators() -> &'static Emulators {
    static EMULATORS: OnceLock<Emulators> = OnceLock::new();
    EMULATORS.get_or_init(|| {
        let harness = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/emulators/harness.sh");
        let out = Command::new("bash")
            .arg(&harness)
            .arg("start")
            .arg(std::process::id().to_string())
            .output()
            .expect("run tests/emulators/harness.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "emulators did not start: {}\n{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        let port = |name: &str| -> u16 {
            stdout
                .split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} port in {stdout:?}"))
        };
        Emulators { moto: port("moto"), localstack: port("localstack") }
    })
}

/// moto's Cost Explorer queue is global: tests that queue results run one at a time.
fn moto_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// One test's account, home, cache and config, and a runtime to seed with.
pub struct Env {
    pub account: String,
    pub localstack: u16,
    pub moto: u16,
    pub home: tempfile::TempDir,
    pub config: PathBuf,
    runtime: tokio::runtime::Runtime,
    _lock: MutexGuard<'static, ()>,
}

pub fn http_post(port: u16, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

impl Env {
    pub fn new(account: &str) -> Env {
        let emulators = emulators();
        let lock = moto_lock();
        let reset = http_post(emulators.moto, "/moto-api/reset", "");
        assert!(reset.starts_with("HTTP/1.1 200") || reset.starts_with("HTTP/1.0 200"), "{reset}");
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join("costscope.toml");
        // Ages cannot be backdated in the emulators: thresholds below zero days make the age
        // rules judge what was just created (LocalStack's times are whole seconds). Neither
        // emulator serves the commitment calls (tests/emulators/README.md), so they are off
        // here; tests/aws_commitments.rs answers them from a loopback server.
        std::fs::write(
            &config,
            "[tags]\nrequired = [\"team\"]\n\n[rules.ec2-stopped-long]\nmin_stopped_days = -1\n\n[rules.snapshot-old]\nmin_age_days = -1\n\n[rules.ebs-unattached]\nmin_age_days = -1\n\n[rules.rds-idle]\nmin_age_days = -1\n\n[rules.rds-snapshot-orphaned]\nmin_age_days = -1\n\n[aws]\ncommitments = false\n",
        )
        .unwrap();
        Env {
            account: account.to_string(),
            localstack: emulators.localstack,
            moto: emulators.moto,
            home,
            config,
            runtime: tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(),
            _lock: lock,
        }
    }

    fn sdk(&self, region: &str) -> SdkConfig {
        self.sdk_at(self.localstack, region)
    }

    /// The SDK configuration for moto (the databases).
    pub fn moto_sdk(&self, region: &str) -> SdkConfig {
        self.sdk_at(self.moto, region)
    }

    /// A DynamoDB table in moto keyed by `pk`, tagged `team=<name>`: provisioned with
    /// (RCU, WCU), or on demand.
    pub fn create_dynamodb_table(&self, region: &str, name: &str, provisioned: Option<(i64, i64)>) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput,
            ScalarAttributeType,
        };
        let ddb = aws_sdk_dynamodb::Client::new(&self.moto_sdk(region));
        let create = ddb
            .create_table()
            .table_name(name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .tags(aws_sdk_dynamodb::types::Tag::builder().key("team").value(name).build().unwrap());
        let create = match provisioned {
            Some((read, write)) => {
                create.billing_mode(BillingMode::Provisioned).provisioned_throughput(
                    ProvisionedThroughput::builder()
                        .read_capacity_units(read)
                        .write_capacity_units(write)
                        .build()
                        .unwrap(),
                )
            }
            None => create.billing_mode(BillingMode::PayPerRequest),
        };
        self.block_on(create.send()).unwrap();
    }

    /// A Lambda function in moto (zip package, an empty archive: moto never runs it), tagged
    /// `team=<name>`. moto's CreateFunction needs an IAM role it knows; it is created on first
    /// use over IAM's query API (no IAM crate is a dependency). Returns the function's ARN.
    pub fn create_lambda_function(
        &self,
        region: &str,
        name: &str,
        memory_mb: i32,
        arm64: bool,
        runtime: &str,
    ) -> String {
        use aws_sdk_lambda::types::{Architecture, FunctionCode, Runtime};
        let role = "arn:aws:iam::123456789012:role/costscope-test";
        let form = "Action=CreateRole&Version=2010-05-08&RoleName=costscope-test&AssumeRolePolicyDocument=%7B%7D";
        let mut stream = TcpStream::connect(("127.0.0.1", self.moto)).unwrap();
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        // An empty zip archive: the end-of-central-directory record alone.
        let mut zip = b"PK\x05\x06".to_vec();
        zip.extend([0u8; 18]);
        let lambda = aws_sdk_lambda::Client::new(&self.moto_sdk(region));
        let created = self
            .block_on(
                lambda
                    .create_function()
                    .function_name(name)
                    .runtime(Runtime::from(runtime))
                    .role(role)
                    .handler("index.handler")
                    .code(FunctionCode::builder().zip_file(zip.into()).build())
                    .memory_size(memory_mb)
                    .timeout(30)
                    .architectures(if arm64 { Architecture::Arm64 } else { Architecture::X8664 })
                    .tags("team", name)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("CreateFunction {name}: {e:?} (CreateRole: {answer})"));
        created.function_arn().unwrap().to_string()
    }

    /// The S3 client for LocalStack (path-style), in `region`.
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        costscope::source::aws::s3::client(&self.sdk(region))
    }

    /// An S3 bucket in LocalStack in `region`, tagged `team=<name>` when `tagged`.
    pub fn create_bucket(&self, region: &str, name: &str, tagged: bool) {
        use aws_sdk_s3::types::{
            BucketLocationConstraint, CreateBucketConfiguration, Tag, Tagging,
        };
        let s3 = self.s3(region);
        let mut create = s3.create_bucket().bucket(name);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        self.block_on(create.send()).unwrap();
        if tagged {
            let tag = Tag::builder().key("team").value(name).build().unwrap();
            let tagging = Tagging::builder().tag_set(tag).build().unwrap();
            self.block_on(s3.put_bucket_tagging().bucket(name).tagging(tagging).send()).unwrap();
        }
    }

    /// Runs a future on the seeding runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    fn sdk_at(&self, port: u16, region: &str) -> SdkConfig {
        let credentials =
            aws_sdk_ec2::config::Credentials::new(&self.account, "test", None, None, "test");
        self.runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .http_client(costscope::source::aws::client::http_client())
                .endpoint_url(format!("http://127.0.0.1:{port}"))
                .region(Region::new(region.to_string()))
                .credentials_provider(credentials)
                .load(),
        )
    }

    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk(region))
    }

    pub fn costscope(&self, args: &[&str]) -> Output {
        self.costscope_with(args, &[])
    }

    pub fn costscope_with(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_costscope"));
        cmd.arg("--config").arg(&self.config).args(args);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("COSTSCOPE_CACHE_DIR", self.home.path().join("cache"))
            .env("AWS_ACCESS_KEY_ID", &self.account)
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.home.path().join("no-aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.home.path().join("no-aws-credentials"))
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", self.localstack));
        // Cost Explorer and the databases from moto (LocalStack's free build has neither).
        for variable in MOTO_ENDPOINT_VARIABLES {
            cmd.env(variable, format!("http://127.0.0.1:{}", self.moto));
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Queues GetCostAndUsage answers in moto, in the order costscope asks.
    pub fn queue_cost_explorer(&self, results: &serde_json::Value) {
        let body = serde_json::json!({ "results": results }).to_string();
        let response = http_post(self.moto, "/moto-api/static/ce/cost-and-usage-results", &body);
        assert!(response.contains(" 201 ") || response.contains(" 200 "), "{response}");
    }

    fn tags(pairs: &[(&str, &str)], kind: ResourceType) -> Option<TagSpecification> {
        if pairs.is_empty() {
            return None;
        }
        let mut spec = TagSpecification::builder().resource_type(kind);
        for (k, v) in pairs {
            spec = spec.tags(Tag::builder().key(*k).value(*v).build());
        }
        Some(spec.build())
    }

    pub fn run_instance(&self, region: &str, instance_type: &str, tags: &[(&str, &str)]) -> String {
        let ec2 = self.ec2(region);
        let out = self
            .runtime
            .block_on(
                ec2.run_instances()
                    .image_id("ami-0123456789abcdef0")
                    .instance_type(InstanceType::from(instance_type))
                    .min_count(1)
                    .max_count(1)
                    .set_tag_specifications(
                        Self::tags(tags, ResourceType::Instance).map(|t| vec![t]),
                    )
                    .send(),
            )
            .unwrap();
        out.instances()[0].instance_id().unwrap().to_string()
    }

    pub fn create_volume(
        &self,
        region: &str,
        kind: VolumeType,
        size: i32,
        iops: Option<i32>,
    ) -> String {
        let ec2 = self.ec2(region);
        let out = self
            .runtime
            .block_on(
                ec2.create_volume()
                    .availability_zone(format!("{region}a"))
                    .volume_type(kind)
                    .size(size)
                    .set_iops(iops)
                    .send(),
            )
            .unwrap();
        out.volume_id().unwrap().to_string()
    }

    /// Hourly points for the last `hours` whole hours.
    pub fn put_metric(
        &self,
        region: &str,
        namespace: &str,
        metric: &str,
        dimension: (&str, &str),
        value: f64,
        hours: i64,
    ) {
        self.put_metric_dims(region, namespace, metric, &[dimension], value, hours);
    }

    /// Hourly points for the last `hours` whole hours, with every dimension given.
    pub fn put_metric_dims(
        &self,
        region: &str,
        namespace: &str,
        metric: &str,
        dimensions: &[(&str, &str)],
        value: f64,
        hours: i64,
    ) {
        self.put_metric_series(region, namespace, metric, dimensions, |_| value, hours);
    }

    /// Hourly points for the last `hours` whole hours, the value of each from how many hours
    /// ago it is (1 to `hours`).
    pub fn put_metric_series(
        &self,
        region: &str,
        namespace: &str,
        metric: &str,
        dimensions: &[(&str, &str)],
        value_at: impl Fn(i64) -> f64,
        hours: i64,
    ) {
        let cw = aws_sdk_cloudwatch::Client::new(&self.sdk(region));
        let now = Utc::now().duration_trunc(chrono::Duration::hours(1)).unwrap();
        let datums: Vec<MetricDatum> = (1..=hours)
            .map(|h| {
                let t = now - chrono::Duration::hours(h);
                MetricDatum::builder()
                    .metric_name(metric)
                    .set_dimensions(Some(
                        dimensions
                            .iter()
                            .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
                            .collect(),
                    ))
                    .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_secs(t.timestamp()))
                    .value(value_at(h))
                    .unit(match metric {
                        "CPUUtilization" => StandardUnit::Percent,
                        "NetworkIn" | "NetworkOut" | "BytesOutToDestination" | "FreeableMemory" => {
                            StandardUnit::Bytes
                        }
                        _ => StandardUnit::Count,
                    })
                    .build()
            })
            .collect();
        for chunk in datums.chunks(500) {
            self.runtime
                .block_on(
                    cw.put_metric_data()
                        .namespace(namespace)
                        .set_metric_data(Some(chunk.to_vec()))
                        .send(),
                )
                .unwrap();
        }
    }

    pub fn instance_metrics(
        &self,
        region: &str,
        id: &str,
        cpu: f64,
        network_per_hour: f64,
        hours: i64,
    ) {
        self.put_metric(region, "AWS/EC2", "CPUUtilization", ("InstanceId", id), cpu, hours);
        self.put_metric(
            region,
            "AWS/EC2",
            "NetworkIn",
            ("InstanceId", id),
            network_per_hour,
            hours,
        );
        self.put_metric(
            region,
            "AWS/EC2",
            "NetworkOut",
            ("InstanceId", id),
            network_per_hour,
            hours,
        );
    }

    /// The estate every AWS rule has something to say about (see tests/aws.rs).
    pub fn seed_estate(&self, region: &str) -> Estate {
        let full = [("team", "data"), ("env", "prod"), ("cost-center", "42")];
        let idle = self.run_instance(region, "m5.xlarge", &[]);
        let oversized = self.run_instance(region, "m5.2xlarge", &full);
        let previous_generation = self.run_instance(region, "m4.large", &full);
        let busy = self.run_instance(
            region,
            "t3.large",
            &[("team", "web"), ("env", "prod"), ("cost-center", "7")],
        );
        let little_data = self.run_instance(region, "t3.medium", &full);
        let stopped = self.run_instance(region, "t3.small", &full);
        let two_weeks = 14 * 24;
        self.instance_metrics(region, &idle, 1.0, 1e5, two_weeks);
        self.instance_metrics(region, &oversized, 15.0, 1e9, two_weeks);
        self.instance_metrics(region, &previous_generation, 60.0, 1e9, two_weeks);
        self.instance_metrics(region, &busy, 70.0, 1e9, two_weeks);
        self.instance_metrics(region, &little_data, 1.0, 1e3, 2 * 24);

        let ec2 = self.ec2(region);
        let rt = &self.runtime;
        rt.block_on(ec2.stop_instances().instance_ids(&stopped).send()).unwrap();

        let free_gp2 = self.create_volume(region, VolumeType::Gp2, 100, None);
        let free_io1 = self.create_volume(region, VolumeType::Io1, 200, Some(3000));
        let attached_gp2 = self.create_volume(region, VolumeType::Gp2, 100, None);
        rt.block_on(
            ec2.attach_volume()
                .volume_id(&attached_gp2)
                .instance_id(&busy)
                .device("/dev/sdf")
                .send(),
        )
        .unwrap();

        let deleted_volume = self.create_volume(region, VolumeType::Gp3, 20, None);
        let snapshot = rt
            .block_on(
                ec2.create_snapshot()
                    .volume_id(&deleted_volume)
                    .description("before cleanup")
                    .send(),
            )
            .unwrap();
        let orphaned_snapshot = snapshot.snapshot_id().unwrap().to_string();
        rt.block_on(ec2.delete_volume().volume_id(&deleted_volume).send()).unwrap();

        let free_eip = rt
            .block_on(ec2.allocate_address().send())
            .unwrap()
            .allocation_id()
            .unwrap()
            .to_string();
        let used_eip = rt
            .block_on(ec2.allocate_address().send())
            .unwrap()
            .allocation_id()
            .unwrap()
            .to_string();
        rt.block_on(ec2.associate_address().allocation_id(&used_eip).instance_id(&busy).send())
            .unwrap();

        let vpc = rt.block_on(ec2.create_vpc().cidr_block("10.0.0.0/16").send()).unwrap();
        let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
        let subnet = rt
            .block_on(ec2.create_subnet().vpc_id(&vpc_id).cidr_block("10.0.1.0/24").send())
            .unwrap();
        let subnet_id = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
        let nat_eip = rt
            .block_on(ec2.allocate_address().send())
            .unwrap()
            .allocation_id()
            .unwrap()
            .to_string();
        let nat = rt
            .block_on(ec2.create_nat_gateway().subnet_id(&subnet_id).allocation_id(&nat_eip).send())
            .unwrap();
        let nat_gateway = nat.nat_gateway().unwrap().nat_gateway_id().unwrap().to_string();
        self.put_metric(
            region,
            "AWS/NATGateway",
            "BytesOutToDestination",
            ("NatGatewayId", &nat_gateway),
            595_238.0,
            two_weeks,
        );

        Estate {
            idle,
            oversized,
            previous_generation,
            busy,
            little_data,
            stopped,
            free_gp2,
            free_io1,
            attached_gp2,
            deleted_volume,
            orphaned_snapshot,
            free_eip,
            used_eip,
            nat_gateway,
        }
    }
}

pub struct Estate {
    pub idle: String,
    pub oversized: String,
    pub previous_generation: String,
    pub busy: String,
    pub little_data: String,
    pub stopped: String,
    pub free_gp2: String,
    pub free_io1: String,
    pub attached_gp2: String,
    pub deleted_volume: String,
    pub orphaned_snapshot: String,
    pub free_eip: String,
    pub used_eip: String,
    pub nat_gateway: String,
}

/// Queued Cost Explorer answers in the order costscope asks: services × accounts (two pages),
/// then the `team` tag (the test config's only required key).
pub fn cost_explorer_results(account: &str) -> serde_json::Value {
    let today = Utc::now().date_naive();
    let day = |n: i64| (today - chrono::Duration::days(n)).to_string();
    let group = |service: &str, unblended: &str, amortized: &str| {
        serde_json::json!({
            "Keys": [service, account],
            "Metrics": {
                "UnblendedCost": {"Amount": unblended, "Unit": "USD"},
                "AmortizedCost": {"Amount": amortized, "Unit": "USD"}
            }
        })
    };
    let names =
        serde_json::json!([{"Value": account, "Attributes": {"description": "test account"}}]);
    serde_json::json!([
        {
            "ResultsByTime": [{
                "TimePeriod": {"Start": day(2), "End": day(1)},
                "Groups": [
                    group("Amazon Elastic Compute Cloud - Compute", "60", "55"),
                    group("Amazon Simple Storage Service", "5.5", "5.5")
                ],
                "Estimated": false
            }],
            "DimensionValueAttributes": names,
            "NextPageToken": "page-2"
        },
        {
            "ResultsByTime": [{
                "TimePeriod": {"Start": day(1), "End": day(0)},
                "Groups": [
                    group("Amazon Elastic Compute Cloud - Compute", "60", "55"),
                    group("Amazon Simple Storage Service", "6", "6")
                ],
                "Estimated": true
            }],
            "DimensionValueAttributes": names
        },
        {
            "ResultsByTime": [{
                "TimePeriod": {"Start": day(2), "End": day(1)},
                "Groups": [
                    {"Keys": ["team$web", account], "Metrics": {"UnblendedCost": {"Amount": "100", "Unit": "USD"}}},
                    {"Keys": ["team$", account], "Metrics": {"UnblendedCost": {"Amount": "31.5", "Unit": "USD"}}}
                ],
                "Estimated": false
            }]
        }
    ])
}

/// docs/iam-policy.json's actions: all it allows, and those of the statement `sid`.
pub fn iam_policy_actions(sid: &str) -> (Vec<String>, Vec<String>) {
    let policy: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/iam-policy.json"))
            .unwrap(),
    )
    .unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    let actions = |statement: &serde_json::Value| -> Vec<String> {
        statement["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().into()).collect()
    };
    let ours = statements.iter().find(|s| s["Sid"] == sid).unwrap();
    (statements.iter().flat_map(actions).collect(), actions(ours))
}

pub fn findings(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["findings"].as_array().cloned().unwrap_or_default()
}

pub fn savings(finding: &serde_json::Value) -> String {
    finding["estimated_monthly_savings"].as_str().unwrap_or_default().to_string()
}

/// The findings CSV without its trailing `#` notes, sorted.
pub fn finding_lines(csv: &str) -> Vec<String> {
    let mut lines: Vec<String> =
        csv.lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect();
    lines.sort();
    lines
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
