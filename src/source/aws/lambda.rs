//! Lambda inventory of one region: ListFunctions (paginated) and the tags of each function from
//! ListTags. ListTags rather than GetFunction: GetFunction also answers a pre-signed URL to
//! download the function's code, so it needs `lambda:GetFunction`, a grant that reads code;
//! ListTags needs only `lambda:ListTags` and answers the tags alone.

use aws_sdk_lambda::Client;
use aws_sdk_lambda::types as lambda;
use chrono::{DateTime, Utc};

use super::{ApiFailure, ServiceRead, count, fail, non_empty, partition, tags_of};
use crate::model::Tags;
use crate::model::inventory::{Architecture, Inventory, LambdaFunction};

const SERVICE: &str = "Lambda";

/// Reads the region's functions. A failed list fails Lambda for the region; failed tag calls
/// leave those functions untagged and become one warning.
pub async fn inventory(
    client: &Client,
    account_id: &str,
    region: &str,
) -> Result<ServiceRead, ApiFailure> {
    let listed: Vec<lambda::FunctionConfiguration> = client
        .list_functions()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(SERVICE, "ListFunctions"))?;
    let mut functions: Vec<LambdaFunction> =
        listed.iter().filter_map(|f| function(f, account_id, region)).collect();
    let ids = functions.iter().map(|f| f.id.clone()).collect();
    let (tags, failure) = tags_of(ids, |arn| async move {
        let answer =
            client.list_tags().resource(&arn).send().await.map_err(fail(SERVICE, "ListTags"))?;
        Ok(answer
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Tags>())
            .unwrap_or_default())
    })
    .await;
    for (f, tags) in functions.iter_mut().zip(tags) {
        f.tags = tags.unwrap_or_default();
    }
    Ok(ServiceRead {
        inventory: Inventory { lambda_functions: functions, ..Default::default() },
        warnings: failure.into_iter().collect(),
    })
}

/// One function as costscope keeps it. A function lists one architecture (the API's list has
/// room for more); none listed is x86_64, Lambda's default.
pub(crate) fn function(
    f: &lambda::FunctionConfiguration,
    account_id: &str,
    region: &str,
) -> Option<LambdaFunction> {
    let name = non_empty(f.function_name())?;
    let architecture = if f.architectures().contains(&lambda::Architecture::Arm64) {
        Architecture::Arm64
    } else {
        Architecture::X86_64
    };
    Some(LambdaFunction {
        id: non_empty(f.function_arn()).unwrap_or_else(|| {
            format!("arn:{}:lambda:{region}:{account_id}:function:{name}", partition(region))
        }),
        account_id: account_id.to_string(),
        region: region.to_string(),
        // Lambda's defaults when a field is missing: 128 MB, 3 s.
        memory_mb: match count(f.memory_size()) {
            0 => 128,
            n => n,
        },
        timeout_seconds: match count(f.timeout()) {
            0 => 3,
            n => n,
        },
        architecture,
        runtime: f.runtime().map(|r| r.as_str().to_string()).unwrap_or_default(),
        package_type: f.package_type().map_or("Zip", |p| p.as_str()).to_string(),
        last_modified: f.last_modified().and_then(last_modified),
        tags: Tags::new(),
        name,
    })
}

/// LastModified is ISO 8601 with the offset written `+0000` (`2024-03-05T09:12:44.123+0000`),
/// which RFC 3339 parsers refuse; both forms are read.
fn last_modified(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_function_keeps_memory_timeout_architecture_and_runtime() {
        let f = lambda::FunctionConfiguration::builder()
            .function_name("resize")
            .function_arn("arn:aws:lambda:eu-west-1:1:function:resize")
            .memory_size(1024)
            .timeout(30)
            .architectures(lambda::Architecture::Arm64)
            .runtime(lambda::Runtime::Python312)
            .package_type(lambda::PackageType::Zip)
            .last_modified("2026-03-05T09:12:44.123+0000")
            .build();
        let d = function(&f, "1", "eu-west-1").unwrap();
        assert_eq!(d.id, "arn:aws:lambda:eu-west-1:1:function:resize");
        assert_eq!((d.memory_mb, d.timeout_seconds), (1024, 30));
        assert_eq!(d.architecture, Architecture::Arm64);
        assert_eq!((d.runtime.as_str(), d.package_type.as_str()), ("python3.12", "Zip"));
        let when = Utc.with_ymd_and_hms(2026, 3, 5, 9, 12, 44).unwrap()
            + chrono::Duration::milliseconds(123);
        assert_eq!(d.last_modified, Some(when));
    }

    #[test]
    fn missing_fields_take_lambdas_defaults() {
        let f = lambda::FunctionConfiguration::builder()
            .function_name("img")
            .package_type(lambda::PackageType::Image)
            .last_modified("not a date")
            .build();
        let d = function(&f, "123", "us-east-1").unwrap();
        assert_eq!(d.id, "arn:aws:lambda:us-east-1:123:function:img");
        assert_eq!((d.memory_mb, d.timeout_seconds), (128, 3));
        assert_eq!(d.architecture, Architecture::X86_64);
        assert_eq!((d.runtime.as_str(), d.package_type.as_str()), ("", "Image"));
        assert_eq!(d.last_modified, None);
        assert!(function(&lambda::FunctionConfiguration::builder().build(), "1", "r").is_none());
    }
}
