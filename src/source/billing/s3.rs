//! Billing read straight from an S3 prefix (`--focus s3://…`, `--cur s3://…`), object by
//! object, streamed: nothing is saved to disk.
//!
//! The prefix is listed (ListObjectsV2); when it holds delivery manifests, only the files the
//! newest manifest of each billing period names are read, else every billing-looking object, in
//! key order ([`manifest`] says why and how). Each object's format is told by its first bytes:
//! CSV and gzipped CSV are parsed as they arrive, Parquet is read by ranged GETs
//! ([`chunks::ObjectChunks`]).
//!
//! Errors: S3 refusing or unreachable (no such bucket, access denied, no connection) is a
//! failure of the machine, [`SourceError::Api`] (exit 1); a manifest that cannot be used, or
//! that names an object that is not there, and a prefix without billing, are bad input,
//! [`SourceError::File`] (exit 2).

pub mod chunks;
pub(crate) mod manifest;
pub mod session;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use self::manifest::Listed;
use self::session::Session;
use super::{Format, ReadOptions, Scheme};
use crate::source::aws::ApiFailure;
use crate::source::focus::{FocusOptions, Ledger};
use crate::source::{Result, SourceError};

/// Reads every billing object under `s3://bucket/prefix` into `ledger`; returns their names.
pub(crate) fn ingest_prefix(
    ledger: &mut Ledger,
    scheme: Scheme,
    bucket: &str,
    prefix: &str,
    options: ReadOptions,
) -> Result<Vec<String>> {
    let url = format!("s3://{bucket}/{prefix}");
    let api = |message: String| SourceError::Api { url: url.clone(), message };
    let session = Session::connect().map_err(api)?;
    let (session, listed) = list(&session, bucket, prefix).map_err(api)?;
    let objects = select(&session, bucket, &listed, &url)?;
    if objects.is_empty() {
        return Err(SourceError::File {
            path: url.clone().into(),
            message: "no billing objects here (.csv, .csv.gz, .gz, .zip or .parquet, or a \
                      delivery manifest)"
                .to_string(),
        });
    }
    let total = objects.len();
    let mut names = Vec::with_capacity(total);
    for (i, object) in objects.iter().enumerate() {
        let name = format!("s3://{}/{}", object.bucket, object.key);
        if options.progress {
            crate::export::stderr_line(format_args!(
                "billing: {} ({} of {total}, {})",
                crate::export::plain_text(&name),
                i + 1,
                megabytes(object.size)
            ));
        }
        ingest_object(ledger, scheme, &session, object, &name, options.focus)?;
        names.push(name);
    }
    Ok(names)
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// An object to read.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Object {
    bucket: String,
    key: String,
    size: u64,
}

/// Every object under `prefix` taken as a folder (`exports` lists `exports/…`, not
/// `exports-old/…`), or the one object whose key is `prefix`. A bucket in another region than
/// the session's is asked again from its own (S3 names it in `x-amz-bucket-region`).
fn list(session: &Session, bucket: &str, prefix: &str) -> Result<(Session, Vec<Listed>), String> {
    let listed = match list_once(session, bucket, prefix) {
        Ok(listed) => (session.clone(), listed),
        Err(Listing::Elsewhere(region)) => {
            let regional = session.in_region(&region);
            let listed = list_once(&regional, bucket, prefix).map_err(Listing::into_message)?;
            (regional, listed)
        }
        Err(e) => return Err(e.into_message()),
    };
    let (session, mut objects) = listed;
    // `prefix/` itself may be a console's zero-byte folder marker, never an object to read.
    let folder = prefix.is_empty() || prefix.ends_with('/');
    if !folder && let Some(exact) = objects.iter().position(|o| o.key == prefix) {
        return Ok((session, vec![objects.swap_remove(exact)]));
    }
    objects.retain(|o| {
        o.key
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && (folder || rest.starts_with('/')))
    });
    Ok((session, objects))
}

enum Listing {
    Elsewhere(String),
    Failed(String),
}

impl Listing {
    fn into_message(self) -> String {
        match self {
            Listing::Elsewhere(region) => {
                format!("S3 ListObjectsV2 failed: the bucket is in {region}")
            }
            Listing::Failed(message) => message,
        }
    }
}

fn list_once(session: &Session, bucket: &str, prefix: &str) -> Result<Vec<Listed>, Listing> {
    let (bucket, prefix) = (bucket.to_string(), prefix.to_string());
    let answer = session.run(move |s3| async move {
        let mut pages = s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
        let mut listed = Vec::new();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    if let Some(region) = bucket_region(&e) {
                        return Err(Listing::Elsewhere(region));
                    }
                    return Err(Listing::Failed(
                        ApiFailure::new("S3", "ListObjectsV2", e).to_string(),
                    ));
                }
            };
            for o in page.contents() {
                let Some(key) = o.key() else { continue };
                let modified = o.last_modified().map_or(0, |t| {
                    i128::from(t.secs()) * 1_000_000_000 + i128::from(t.subsec_nanos())
                });
                let size = o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
                listed.push(Listed { key: key.to_string(), size, modified });
            }
        }
        Ok(listed)
    });
    answer.map_err(Listing::Failed)?
}

/// The region S3 says the bucket is in, when it refused for that reason (301 or 400 with
/// `x-amz-bucket-region`).
fn bucket_region<E: ProvideErrorMetadata>(
    error: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Option<String> {
    let SdkError::ServiceError(e) = error else { return None };
    let redirected = matches!(e.raw().status().as_u16(), 301 | 400)
        || matches!(e.err().code(), Some("PermanentRedirect" | "AuthorizationHeaderMalformed"));
    if !redirected {
        return None;
    }
    e.raw().headers().get("x-amz-bucket-region").map(str::to_string)
}

/// The objects to read, in order: the files of the newest manifest of each billing period when
/// there are manifests, else every billing-looking object in key order.
fn select(session: &Session, bucket: &str, listed: &[Listed], url: &str) -> Result<Vec<Object>> {
    let candidates = manifest::candidates(listed);
    if candidates.is_empty() {
        let objects: Vec<Object> = listed
            .iter()
            .filter(|l| manifest::looks_like_billing(&l.key))
            .map(|l| Object { bucket: bucket.to_string(), key: l.key.clone(), size: l.size })
            .collect();
        if !objects.is_empty() {
            tracing::info!(
                "{url}: no delivery manifest, reading all {} billing-looking objects in key order",
                objects.len()
            );
        }
        return Ok(objects); // ListObjectsV2 lists in key order
    }
    let mut read = Vec::with_capacity(candidates.len());
    for listed_manifest in candidates {
        let name = format!("s3://{bucket}/{}", listed_manifest.key);
        let bad = |message: String| SourceError::File { path: name.clone().into(), message };
        let mut body = session
            .open(bucket, &listed_manifest.key, None)
            .map_err(|message| SourceError::Api { url: name.clone(), message })?;
        let mut json = Vec::new();
        body.read_to_end(&mut json)
            .map_err(|e| SourceError::Api { url: name.clone(), message: e.to_string() })?;
        let parsed = manifest::parse(&listed_manifest.key, &json).map_err(bad)?;
        read.push((listed_manifest, parsed));
    }
    let sizes: BTreeMap<&str, u64> = listed.iter().map(|l| (l.key.as_str(), l.size)).collect();
    let mut seen = BTreeSet::new();
    let mut objects = Vec::new();
    for (listed_manifest, chosen) in manifest::newest_per_period(read) {
        let manifest_name = format!("s3://{bucket}/{}", listed_manifest.key);
        tracing::info!("{manifest_name}: {} billing files", chosen.files.len());
        for (file_bucket, key) in chosen.files {
            let file_bucket = file_bucket.unwrap_or_else(|| bucket.to_string());
            if !seen.insert((file_bucket.clone(), key.clone())) {
                continue;
            }
            let size = match sizes.get(key.as_str()) {
                Some(&size) if file_bucket == bucket => size,
                _ => head(session, &file_bucket, &key, &manifest_name)?,
            };
            objects.push(Object { bucket: file_bucket, key, size });
        }
    }
    Ok(objects)
}

/// The size of an object a manifest names outside the listing; a missing one is the
/// manifest's fault.
fn head(session: &Session, bucket: &str, key: &str, manifest_name: &str) -> Result<u64> {
    let (b, k) = (bucket.to_string(), key.to_string());
    let answer = session
        .run(move |s3| async move {
            match s3.head_object().bucket(b).key(k).send().await {
                Ok(head) => Ok(Some(head.content_length().unwrap_or(0))),
                Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
                Err(e) => Err(ApiFailure::new("S3", "HeadObject", e).to_string()),
            }
        })
        .and_then(|r| r)
        .map_err(|message| SourceError::Api { url: format!("s3://{bucket}/{key}"), message })?;
    match answer {
        Some(len) => Ok(u64::try_from(len).unwrap_or(0)),
        None => Err(SourceError::File {
            path: manifest_name.into(),
            message: format!("names s3://{bucket}/{key}, which does not exist"),
        }),
    }
}

/// Reads one object, whatever its format (told by its first bytes).
fn ingest_object(
    ledger: &mut Ledger,
    scheme: Scheme,
    session: &Session,
    object: &Object,
    name: &str,
    options: FocusOptions,
) -> Result<()> {
    let path = Path::new(name);
    let api = |message: String| SourceError::Api { url: name.to_string(), message };
    let mut body = session.open(&object.bucket, &object.key, None).map_err(api)?;
    let mut head = Vec::with_capacity(4);
    (&mut body)
        .take(4)
        .read_to_end(&mut head)
        .map_err(|e| SourceError::Io { path: path.to_path_buf(), source: e })?;
    let format = Format::sniff(&head);
    let rest = std::io::Cursor::new(head).chain(body);
    match (format, scheme) {
        (Format::Parquet, _) => {
            drop(rest);
            let reader =
                chunks::ObjectChunks::open(session, &object.bucket, &object.key, object.size)
                    .map_err(api)?;
            super::parquet::ingest_chunks(ledger, scheme, reader, path, options)
        }
        // Entries are read from their local headers as the body streams in: no Seek needed.
        (Format::Zip, _) => super::zip::ingest_zip_reader(ledger, scheme, rest, path, options),
        (Format::Csv | Format::Gzip, _) => {
            let reader = crate::source::focus::stream_maybe_gzip(rest, format == Format::Gzip);
            super::ingest_csv(ledger, scheme, reader, path, options)
        }
    }
}
