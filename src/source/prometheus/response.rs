//! The Prometheus HTTP API's answer to an instant query: an envelope with `status`, and for a
//! vector result one `[timestamp, "value"]` pair per series. Values are strings and may be
//! `NaN` or `±Inf`; those are dropped here, so no caller meets them.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    result_type: String,
    #[serde(default)]
    result: Vec<Series>,
}

#[derive(Debug, Deserialize)]
struct Series {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    /// `[unix seconds, "value"]`; the timestamp is not needed.
    value: (serde_json::Value, String),
}

/// One series of a vector result with a finite value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// What an error answer (`"status": "error"`) says, if the body is one.
pub fn error_text(body: &[u8]) -> Option<String> {
    let envelope: Envelope = serde_json::from_slice(body).ok()?;
    (envelope.status == "error").then(|| {
        let kind = envelope.error_type.unwrap_or_default();
        let text = envelope.error.unwrap_or_default();
        if kind.is_empty() { text } else { format!("{kind}: {text}") }
    })
}

/// The finite samples of a successful vector answer, and how many values were not finite
/// (`NaN`, `±Inf` or not a number at all).
pub fn vector(body: &[u8]) -> Result<(Vec<Sample>, usize), String> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
        format!("not a Prometheus API answer (line {}, column {}: {e})", e.line(), e.column())
    })?;
    if envelope.status != "success" {
        let text = envelope.error.unwrap_or_else(|| format!("status {:?}", envelope.status));
        return Err(format!("query failed: {text}"));
    }
    let data = envelope.data.ok_or("a success answer without data")?;
    if data.result_type != "vector" {
        return Err(format!("expected a vector result, got {:?}", data.result_type));
    }
    let mut samples = Vec::with_capacity(data.result.len());
    let mut not_finite = 0;
    for series in data.result {
        match series.value.1.trim().parse::<f64>() {
            Ok(value) if value.is_finite() => {
                samples.push(Sample { labels: series.metric, value });
            }
            _ => not_finite += 1,
        }
    }
    Ok((samples, not_finite))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_keeps_finite_values_and_counts_the_rest() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"pod":"a","container":"app"},"value":[1700000000.5,"0.123"]},
            {"metric":{"pod":"b","container":"app"},"value":[1700000000.5,"NaN"]},
            {"metric":{"pod":"c","container":"app"},"value":[1700000000.5,"+Inf"]},
            {"metric":{"pod":"d","container":"app"},"value":[1700000000.5,"-Inf"]},
            {"metric":{"pod":"e","container":"app"},"value":[1700000000.5,"lots"]},
            {"metric":{},"value":[1700000000,"1e3"]}
        ]}}"#;
        let (samples, not_finite) = vector(body).unwrap();
        assert_eq!(not_finite, 4);
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].labels["pod"], "a");
        assert_eq!(samples[0].value, 0.123);
        assert_eq!(samples[1].value, 1000.0);
    }

    #[test]
    fn errors_and_other_shapes_are_messages() {
        let e = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
        assert_eq!(error_text(e).as_deref(), Some("bad_data: parse error at char 3"));
        assert_eq!(vector(e).unwrap_err(), "query failed: parse error at char 3");
        let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert_eq!(vector(matrix).unwrap_err(), "expected a vector result, got \"matrix\"");
        let garbage = vector(b"<html>502 Bad Gateway</html>").unwrap_err();
        assert!(garbage.starts_with("not a Prometheus API answer (line 1, column 1"), "{garbage}");
        assert_eq!(error_text(b"<html>"), None);
        let empty = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(vector(empty).unwrap(), (vec![], 0));
    }
}
