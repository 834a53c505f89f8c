//! Resource tags (AWS tags, Azure tags, GCP labels, Kubernetes labels) as one sorted map.

use std::collections::BTreeMap;

/// Tag key → value. A key-only tag (FOCUS writes the JSON value `true`) has the value `"true"`.
pub type Tags = BTreeMap<String, String>;

/// Why a FOCUS `Tags` cell could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagsError {
    #[error("Tags is not a JSON object: {0}")]
    NotJson(String),
    #[error("Tags value for key {key:?} is {kind}, expected a string or true")]
    BadValue { key: String, kind: &'static str },
}

/// Parses a FOCUS `Tags` cell: a JSON object whose values are strings or `true`. Numbers and
/// `false` are accepted as their text (some exporters write them); nested values are an error.
pub fn parse_focus_tags(text: &str) -> Result<Tags, TagsError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| TagsError::NotJson(e.to_string()))?;
    let serde_json::Value::Object(map) = value else {
        return Err(TagsError::NotJson("expected an object".to_string()));
    };
    let mut tags = Tags::new();
    for (key, value) in map {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Null => {
                return Err(TagsError::BadValue { key, kind: "null" });
            }
            serde_json::Value::Array(_) => {
                return Err(TagsError::BadValue { key, kind: "an array" });
            }
            serde_json::Value::Object(_) => {
                return Err(TagsError::BadValue { key, kind: "an object" });
            }
        };
        tags.insert(key, text);
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strings_and_key_only_tags() {
        let tags = parse_focus_tags(r#"{"team":"web","legacy":true,"n":3}"#).unwrap();
        assert_eq!(tags["team"], "web");
        assert_eq!(tags["legacy"], "true");
        assert_eq!(tags["n"], "3");
        assert!(parse_focus_tags("{}").unwrap().is_empty());
    }

    #[test]
    fn rejects_non_objects_and_nested_values() {
        assert!(matches!(parse_focus_tags("[1]"), Err(TagsError::NotJson(_))));
        assert!(matches!(parse_focus_tags("{bad"), Err(TagsError::NotJson(_))));
        assert!(matches!(parse_focus_tags(r#"{"a":{"b":"c"}}"#), Err(TagsError::BadValue { .. })));
    }
}
