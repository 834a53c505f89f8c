//! Which objects under a prefix are billing: what the delivery manifests say, else every
//! billing-looking object.
//!
//! The two layouts AWS delivers (documented in the Data Exports and CUR user guides,
//! <https://docs.aws.amazon.com/cur/latest/userguide/dataexports-export-delivery.html> and
//! <https://docs.aws.amazon.com/cur/latest/userguide/understanding-report-versions.html>):
//!
//! - AWS Data Exports (CUR 2.0, FOCUS): data under
//!   `<prefix>/<export-name>/data/BILLING_PERIOD=YYYY-MM/`, and for each billing period
//!   `<prefix>/<export-name>/metadata/BILLING_PERIOD=YYYY-MM/<export-name>-Manifest.json`,
//!   rewritten at each refresh, whose `dataFiles` lists the period's files (as `s3://` URIs),
//!   with the run's `executionId` and the `billingPeriod` (`start`, `end`).
//! - Legacy CUR: `<prefix>/<report>/<YYYYMMDD-YYYYMMDD>/<report>-Manifest.json`, whose
//!   `reportKeys` lists the current version's files (object keys), with `assemblyId` and
//!   `billingPeriod` (`start`, `end`). With "create new report version" every delivery also
//!   keeps its own files and a copy of its manifest under
//!   `<YYYYMMDD-YYYYMMDD>/<assemblyId>/`.
//!
//! Every delivery is complete for its billing period (AWS rebuilds the month each time), so
//! only the newest manifest of a period counts: reading two would count the period twice.
//! Neither manifest carries its delivery time, so the newest is the one written last (the
//! object's LastModified); on a tie the shallower key (the legacy top-level manifest).
//! Manifests of other artifacts (`-RedshiftManifest.json`, `-QuickSightManifest.json`) are not
//! delivery manifests and are ignored.

use std::collections::BTreeMap;

/// An object of the listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Listed {
    pub key: String,
    pub size: u64,
    /// LastModified, nanoseconds since the epoch.
    pub modified: i128,
}

pub(crate) fn is_manifest(key: &str) -> bool {
    file_name(key).ends_with("-Manifest.json")
}

/// Names billing files have; the format itself is told by the first bytes, not by this.
pub(crate) fn looks_like_billing(key: &str) -> bool {
    let name = file_name(key).to_ascii_lowercase();
    [".csv", ".gz", ".zip", ".parquet"].iter().any(|ext| name.ends_with(ext))
}

fn file_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// The manifests worth opening: for each export or report and billing-period folder (as the
/// key says), the newest. The content's own period decides in the end ([`newest_per_period`]).
pub(crate) fn candidates(listed: &[Listed]) -> Vec<&Listed> {
    let mut newest: BTreeMap<(String, String), &Listed> = BTreeMap::new();
    for m in listed.iter().filter(|l| is_manifest(&l.key)) {
        let group = (file_name(&m.key).to_string(), period_folder(&m.key));
        match newest.get(&group) {
            Some(kept) if !is_newer(m, kept) => {}
            _ => {
                newest.insert(group, m);
            }
        }
    }
    newest.into_values().collect()
}

/// The key up to its billing-period folder (`BILLING_PERIOD=…` or `YYYYMMDD-YYYYMMDD`); the
/// whole key when it has none (then the manifest is a group of its own).
fn period_folder(key: &str) -> String {
    let mut end = 0;
    for segment in key.split('/') {
        end += segment.len() + 1;
        if segment.starts_with("BILLING_PERIOD=") || is_date_range(segment) {
            return key[..end.min(key.len())].to_string();
        }
    }
    key.to_string()
}

fn is_date_range(segment: &str) -> bool {
    let b = segment.as_bytes();
    b.len() == 17 && b[8] == b'-' && b.iter().enumerate().all(|(i, c)| i == 8 || c.is_ascii_digit())
}

fn is_newer(a: &Listed, b: &Listed) -> bool {
    let depth = |l: &Listed| l.key.matches('/').count();
    (a.modified, std::cmp::Reverse(depth(a)), &a.key)
        > (b.modified, std::cmp::Reverse(depth(b)), &b.key)
}

/// A delivery manifest, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Manifest {
    /// The export or report it belongs to (its file name) and its billing period's start.
    pub period: (String, String),
    /// The files it names, as (bucket, key); `bucket` is `None` for the manifest's own.
    pub files: Vec<(Option<String>, String)>,
}

/// Reads a manifest's JSON; `Err` says which field is missing or wrong.
pub(crate) fn parse(key: &str, json: &[u8]) -> Result<Manifest, String> {
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| format!("not a JSON manifest: {e}"))?;
    let Some(object) = value.as_object() else {
        return Err("not a JSON manifest: not an object".to_string());
    };
    let (list_field, id_field) = if object.contains_key("dataFiles") {
        ("dataFiles", "executionId")
    } else if object.contains_key("reportKeys") {
        ("reportKeys", "assemblyId")
    } else {
        return Err(
            "lacks dataFiles (a Data Exports manifest) or reportKeys (a CUR manifest)".to_string()
        );
    };
    if !object.get(id_field).is_some_and(|v| v.is_string()) {
        return Err(format!("lacks {id_field}"));
    }
    let start = match object.get("billingPeriod") {
        Some(serde_json::Value::Object(period)) => period.get("start").and_then(|s| s.as_str()),
        Some(serde_json::Value::String(period)) => Some(period.as_str()),
        _ => None,
    };
    let Some(start) = start.filter(|s| !s.is_empty()) else {
        return Err("lacks billingPeriod.start".to_string());
    };
    let Some(entries) = object.get(list_field).and_then(|v| v.as_array()) else {
        return Err(format!("{list_field} is not a list"));
    };
    let mut files = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let Some(name) = entry.as_str().filter(|s| !s.is_empty()) else {
            return Err(format!("{list_field}[{i}] is not an object name"));
        };
        files.push(match name.strip_prefix("s3://") {
            Some(rest) => match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
                    (Some(bucket.to_string()), key.to_string())
                }
                _ => return Err(format!("{list_field}[{i}] is not an s3://BUCKET/KEY: {name}")),
            },
            None => (None, name.trim_start_matches('/').to_string()),
        });
    }
    Ok(Manifest { period: (file_name(key).to_string(), start.to_string()), files })
}

/// Of manifests read in any order (with their listing entry), the newest per export and
/// billing period, in period order.
pub(crate) fn newest_per_period(read: Vec<(&Listed, Manifest)>) -> Vec<(&Listed, Manifest)> {
    let mut newest: BTreeMap<(String, String), (&Listed, Manifest)> = BTreeMap::new();
    for (listed, manifest) in read {
        match newest.get(&manifest.period) {
            Some((kept, _)) if !is_newer(listed, kept) => {}
            _ => {
                newest.insert(manifest.period.clone(), (listed, manifest));
            }
        }
    }
    newest.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(key: &str, modified: i128) -> Listed {
        Listed { key: key.to_string(), size: 1, modified }
    }

    #[test]
    fn tells_delivery_manifests_and_billing_files_by_name() {
        assert!(is_manifest("p/focus/metadata/BILLING_PERIOD=2026-10/focus-Manifest.json"));
        assert!(!is_manifest("p/cur/20261001-20261101/cur-RedshiftManifest.json"));
        assert!(looks_like_billing("p/a.csv.gz") && looks_like_billing("p/a.snappy.parquet"));
        assert!(looks_like_billing("p/a.CSV") && looks_like_billing("p/a-1.csv.zip"));
        assert!(!looks_like_billing("p/cur-Manifest.json") && !looks_like_billing("p/README"));
    }

    #[test]
    fn one_candidate_per_period_folder_the_newest() {
        let objects = vec![
            listed("x/r/20261001-20261101/r-Manifest.json", 5),
            listed("x/r/20261001-20261101/asm-old/r-Manifest.json", 1),
            listed("x/r/20261001-20261101/asm-new/r-Manifest.json", 5),
            listed("x/r/20261101-20261201/r-Manifest.json", 9),
            listed("x/f/metadata/BILLING_PERIOD=2026-10/f-Manifest.json", 3),
            listed("x/f/data/BILLING_PERIOD=2026-10/f-00001.csv.gz", 3),
        ];
        let keys: Vec<&str> = candidates(&objects).iter().map(|l| l.key.as_str()).collect();
        // On a tie the top-level legacy manifest wins over its assembly's copy.
        assert_eq!(
            keys,
            vec![
                "x/f/metadata/BILLING_PERIOD=2026-10/f-Manifest.json",
                "x/r/20261001-20261101/r-Manifest.json",
                "x/r/20261101-20261201/r-Manifest.json",
            ]
        );
    }

    #[test]
    fn parses_both_manifest_shapes() {
        let export = br#"{"executionId":"e-2","exportName":"f","billingPeriod":{"start":"2026-10-01T00:00:00.000Z","end":"2026-11-01T00:00:00.000Z"},
            "dataFiles":["s3://b/x/f/data/BILLING_PERIOD=2026-10/f-00001.csv.gz","s3://b/x/f/data/BILLING_PERIOD=2026-10/f-00002.csv.gz"]}"#;
        let m = parse("x/f/metadata/BILLING_PERIOD=2026-10/f-Manifest.json", export).unwrap();
        assert_eq!(m.period, ("f-Manifest.json".into(), "2026-10-01T00:00:00.000Z".into()));
        assert_eq!(
            m.files,
            vec![
                (Some("b".into()), "x/f/data/BILLING_PERIOD=2026-10/f-00001.csv.gz".into()),
                (Some("b".into()), "x/f/data/BILLING_PERIOD=2026-10/f-00002.csv.gz".into()),
            ]
        );
        let cur = br#"{"assemblyId":"a-1","bucket":"b","billingPeriod":{"start":"20261001T000000.000Z","end":"20261101T000000.000Z"},
            "reportKeys":["x/r/20261001-20261101/a-1/r-1.csv.gz"]}"#;
        let m = parse("x/r/20261001-20261101/r-Manifest.json", cur).unwrap();
        assert_eq!(m.files, vec![(None, "x/r/20261001-20261101/a-1/r-1.csv.gz".into())]);
    }

    #[test]
    fn a_broken_manifest_says_what_is_wrong() {
        let err = |json: &str| parse("m-Manifest.json", json.as_bytes()).unwrap_err();
        assert!(err("{").starts_with("not a JSON manifest"));
        assert_eq!(
            err("{}"),
            "lacks dataFiles (a Data Exports manifest) or reportKeys (a CUR manifest)"
        );
        assert_eq!(err(r#"{"dataFiles":[],"billingPeriod":{"start":"x"}}"#), "lacks executionId");
        assert_eq!(err(r#"{"reportKeys":[],"assemblyId":"a"}"#), "lacks billingPeriod.start");
        assert_eq!(
            err(r#"{"reportKeys":[3],"assemblyId":"a","billingPeriod":{"start":"x"}}"#),
            "reportKeys[0] is not an object name"
        );
    }

    #[test]
    fn the_newest_manifest_of_a_period_wins_whatever_its_key() {
        let old = listed("x/f/metadata/BILLING_PERIOD=2026-10/zz/f-Manifest.json", 1);
        let new = listed("x/f/metadata/BILLING_PERIOD=2026-10/aa/f-Manifest.json", 2);
        let other = listed("x/f/metadata/BILLING_PERIOD=2026-11/f-Manifest.json", 0);
        let m = |start: &str, file: &str| Manifest {
            period: ("f-Manifest.json".into(), start.into()),
            files: vec![(None, file.into())],
        };
        let kept = newest_per_period(vec![
            (&new, m("2026-10", "new")),
            (&other, m("2026-11", "nov")),
            (&old, m("2026-10", "old")),
        ]);
        let files: Vec<&str> = kept.iter().map(|(_, m)| m.files[0].1.as_str()).collect();
        assert_eq!(files, vec!["new", "nov"]);
    }
}
