//! `report --aws` on an EC2/EBS estate seeded in LocalStack (EC2 and CloudWatch): ec2-graviton,
//! ebs-io-to-gp3, ebs-io1-to-io2 and ebs-low-use fire where they should, with savings computed by
//! hand from `rules/prices/aws.toml` (us-east-1, 730 h a month), and leave the busy alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_aws;

use aws_sdk_ec2::types::VolumeType;
use common_aws::*;
use serde_json::Value;

const REGION: &str = "us-east-1";
const TWO_WEEKS: i64 = 14 * 24;

struct Seeded {
    host: String,
    low_peak_io1: String,
    fast_io1: String,
    quiet_gp3: String,
    busy_gp3: String,
}

/// Hourly read and write operations of a volume (the peak IOPS is `(reads + writes) / 3600`).
fn volume_ops(env: &Env, id: &str, reads: f64, writes: f64) {
    env.put_metric(REGION, "AWS/EBS", "VolumeReadOps", ("VolumeId", id), reads, TWO_WEEKS);
    env.put_metric(REGION, "AWS/EBS", "VolumeWriteOps", ("VolumeId", id), writes, TWO_WEEKS);
}

fn seed(env: &Env) -> Seeded {
    let full = [("team", "data"), ("env", "prod"), ("cost-center", "42")];
    let host = env.run_instance(REGION, "m5.xlarge", &full);
    env.instance_metrics(REGION, &host, 60.0, 1e9, TWO_WEEKS);
    let low_peak_io1 = env.create_volume(REGION, VolumeType::Io1, 500, Some(10_000));
    let fast_io1 = env.create_volume(REGION, VolumeType::Io1, 1_000, Some(50_000));
    let quiet_gp3 = env.create_volume(REGION, VolumeType::Gp3, 100, None);
    let busy_gp3 = env.create_volume(REGION, VolumeType::Gp3, 100, None);
    let ec2 = env.ec2(REGION);
    for (n, volume) in [&low_peak_io1, &fast_io1, &quiet_gp3, &busy_gp3].into_iter().enumerate() {
        let device = format!("/dev/sd{}", (b'f' + n as u8) as char);
        env.block_on(
            ec2.attach_volume().volume_id(volume).instance_id(&host).device(device).send(),
        )
        .unwrap();
    }
    // 300,000 + 150,000 ops in the busiest hour: 125 IOPS.
    volume_ops(env, &low_peak_io1, 300_000.0, 150_000.0);
    // 10 + 10 ops an hour: 480 a day.
    volume_ops(env, &quiet_gp3, 10.0, 10.0);
    // 30,000 + 30,000 an hour: 1.44 million a day.
    volume_ops(env, &busy_gp3, 30_000.0, 30_000.0);
    Seeded { host, low_peak_io1, fast_io1, quiet_gp3, busy_gp3 }
}

fn finding<'a>(found: &'a [Value], rule: &str, id: &str) -> Option<&'a Value> {
    found.iter().find(|f| f["rule_id"] == rule && f["resource_id"] == id)
}

#[test]
fn report_aws_finds_the_ec2_and_ebs_rules_with_savings() {
    let env = Env::new("111100000501");
    let seeded = seed(&env);
    let out = env.costscope(&["report", "--aws", "--regions", REGION, "--format", "json"]);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let found = findings(&report);
    let expect = |rule: &str, id: &str| -> &Value {
        finding(&found, rule, id).unwrap_or_else(|| {
            panic!(
                "no {rule} finding for {id}; warnings: {}; findings: {:#?}",
                report["warnings"],
                found.iter().map(|f| (&f["rule_id"], &f["resource_id"])).collect::<Vec<_>>()
            )
        })
    };

    // m5.xlarge 0.192 → m6g.xlarge 0.154: 0.038 × 730.
    let arm = expect("ec2-graviton", &seeded.host);
    assert_eq!(savings(arm), "27.74");
    assert_eq!(arm["target"], "m6g.xlarge");
    // io1 500 GiB × 0.125 + 10,000 IOPS × 0.065 = 712.50; peak 125 IOPS ÷ 0.5 fits the
    // included 3,000 of gp3: 500 × 0.08 = 40.00.
    let io = expect("ebs-io-to-gp3", &seeded.low_peak_io1);
    assert_eq!(savings(io), "672.5");
    assert_eq!(io["target"], "gp3 3000 IOPS");
    // io1 1,000 GiB with 50,000 IOPS: 125 + 3,250 = 3,375; io2: 125 + 32,000 × 0.065 +
    // 18,000 × 0.0455 = 3,024.
    assert_eq!(savings(expect("ebs-io1-to-io2", &seeded.fast_io1)), "351");
    // gp3 100 GiB × 0.08, with its included 3,000 IOPS and 125 MiB/s.
    assert_eq!(savings(expect("ebs-low-use", &seeded.quiet_gp3)), "8");

    assert!(finding(&found, "ebs-low-use", &seeded.busy_gp3).is_none(), "1.44 M ops a day");
    assert!(finding(&found, "ebs-io-to-gp3", &seeded.fast_io1).is_none(), "50,000 IOPS");
    // Unmeasured (no metrics at all): not judged, not idle.
    assert!(finding(&found, "ebs-low-use", &seeded.fast_io1).is_none());
}

/// ami-unused against moto, EC2 and all (LocalStack is left CloudWatch and STS): an AMI nothing
/// uses fires, one an instance runs from and one a launch template version names do not, and
/// the snapshot rules leave the AMI's snapshots alone.
#[test]
fn report_aws_finds_the_unused_ami_in_moto() {
    // moto writes its default account as every owner; LocalStack's STS names the access key:
    // the same account on both sides.
    let env = Env::new("123456789012");
    let config = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(&env.config, format!("{config}\n[rules.ami-unused]\nmin_age_days = -1\n"))
        .unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&env.moto_sdk(REGION));
    let run = |image: &str| -> String {
        let out = env
            .block_on(
                ec2.run_instances()
                    .image_id(image)
                    .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                    .min_count(1)
                    .max_count(1)
                    .send(),
            )
            .unwrap();
        out.instances()[0].instance_id().unwrap().to_string()
    };
    let image = |instance: &str, name: &str| -> String {
        let out = env.block_on(ec2.create_image().instance_id(instance).name(name).send()).unwrap();
        out.image_id().unwrap().to_string()
    };
    let builder = run("ami-0123456789abcdef0");
    let unused = image(&builder, "unused-image");
    let by_template = image(&builder, "template-image");
    let by_instance = image(&builder, "instance-image");
    let user = run(&by_instance);
    let data = |ami: &str| {
        aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
            .image_id(ami)
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .build()
    };
    let template = env
        .block_on(
            ec2.create_launch_template()
                .launch_template_name("web")
                .launch_template_data(data(&by_template))
                .send(),
        )
        .unwrap();
    let template_id = template.launch_template().unwrap().launch_template_id().unwrap();
    // Version 2 moves on to the base image; version 1 (the default) still names by_template.
    env.block_on(
        ec2.create_launch_template_version()
            .launch_template_id(template_id)
            .launch_template_data(data("ami-0123456789abcdef0"))
            .send(),
    )
    .unwrap();

    let moto = format!("http://127.0.0.1:{}", env.moto);
    let out = env.costscope_with(
        &["report", "--aws", "--regions", REGION, "--format", "json"],
        &[("AWS_ENDPOINT_URL_EC2", moto.as_str())],
    );
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let found = findings(&report);
    let f = finding(&found, "ami-unused", &unused).unwrap_or_else(|| {
        panic!(
            "no ami-unused finding for {unused} (user {user}); findings: {:#?}",
            found.iter().map(|f| (&f["rule_id"], &f["resource_id"])).collect::<Vec<_>>()
        )
    });
    // moto's CreateImage maps one snapshot of VolumeSize 15 (whatever the instance's 8 GiB root
    // volume): 15 × 0.05 a GB-month.
    assert_eq!(savings(f), "0.75", "{f:#}");
    assert!(f["evidence"].as_str().unwrap().contains(" (15 GiB)"), "{f:#}");
    assert!(finding(&found, "ami-unused", &by_instance).is_none(), "{user} runs from it");
    assert!(finding(&found, "ami-unused", &by_template).is_none(), "launch template version 1");

    let images =
        env.block_on(ec2.describe_images().owners("self").send()).unwrap().images().to_vec();
    assert_eq!(images.len(), 3, "{images:#?}");
    for image in &images {
        for mapping in image.block_device_mappings() {
            let snapshot = mapping.ebs().and_then(|e| e.snapshot_id()).unwrap();
            for rule in ["snapshot-old", "snapshot-orphaned"] {
                assert!(finding(&found, rule, snapshot).is_none(), "{rule} on {snapshot}");
            }
        }
    }
}

/// ec2-offhours against LocalStack: CPUUtilization put hour by hour, busy 10 hours of each day
/// and idle the other 14, on instances tagged env=dev and env=prod; one more dev instance idle
/// all along and quiet on the network, which ec2-idle takes instead.
#[test]
fn report_aws_schedules_idle_non_production_hours() {
    let env = Env::new("111100000504");
    let dev = env.run_instance(REGION, "m5.xlarge", &[("team", "web"), ("env", "Dev")]);
    let prod = env.run_instance(REGION, "m5.xlarge", &[("team", "web"), ("env", "prod")]);
    let always = env.run_instance(REGION, "m5.xlarge", &[("team", "web"), ("env", "dev")]);
    // 10 busy hours (40 %) and 14 idle ones (1.5 %) a day: 98 idle hours a week.
    let day_and_night = |hours_ago: i64| if hours_ago % 24 < 10 { 40.0 } else { 1.5 };
    for id in [&dev, &prod] {
        env.put_metric_series(
            REGION,
            "AWS/EC2",
            "CPUUtilization",
            &[("InstanceId", id)],
            day_and_night,
            TWO_WEEKS,
        );
        for metric in ["NetworkIn", "NetworkOut"] {
            env.put_metric(REGION, "AWS/EC2", metric, ("InstanceId", id), 1e8, TWO_WEEKS);
        }
    }
    env.instance_metrics(REGION, &always, 1.0, 1e3, TWO_WEEKS);

    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let out =
        env.costscope(&["collect", "--aws", "--regions", REGION, "--out", snap.to_str().unwrap()]);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    let u = s["utilization"].as_array().unwrap().iter().find(|u| u["resource_id"] == dev.as_str());
    let u = u.unwrap_or_else(|| panic!("{:#}", s["utilization"]));
    let idle = u["idle_hours_per_week"].as_f64().unwrap();
    // 196 idle of 336 hours × 168 = 98; GetMetricData's buckets align with the query's start,
    // so a partial bucket at either end may drop or add one hour.
    assert!((97.0..=99.0).contains(&idle), "{u:#}");
    assert_eq!(u["idle_cpu_below_percent"].as_f64(), Some(5.0));

    let out = env.costscope(&["report", "--snapshot", snap.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let found = findings(&report);
    let f = finding(&found, "ec2-offhours", &dev).unwrap_or_else(|| panic!("{found:#?}"));
    // m5.xlarge 0.192 an hour × 98 idle hours a week × 730/168 = 81.76 a month (±0.42 for the
    // hour the window's edges may move: 0.192 × 0.5 × 730/168).
    let saved: f64 = savings(f).parse().unwrap();
    let by_hand = 0.192 * idle * 730.0 / 168.0;
    assert!((saved - by_hand).abs() < 0.01 && (saved - 81.76).abs() < 0.85, "{f:#}");
    assert!(f["evidence"].as_str().unwrap().contains("env=Dev"), "{f:#}");
    assert!(finding(&found, "ec2-offhours", &prod).is_none(), "env=prod");
    assert!(finding(&found, "ec2-offhours", &always).is_none(), "idle all along: ec2-idle's");
    assert!(finding(&found, "ec2-idle", &always).is_some(), "{found:#?}");
}
