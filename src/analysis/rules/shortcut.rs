//! `when` clauses simple enough to decide in Rust, without running CEL.
//!
//! Most rules open with a test of one text field of `r` (`r.state == "running"`,
//! `!r.kind.startsWith("k8s_")`); over 100k resources that is hundreds of thousands of CEL runs
//! that each allocate. Only the exact shapes below are recognised, and only when the field
//! holds text: anything else (a missing field, a number) is left to CEL, which gives the same
//! answer or the same error as before.

use std::sync::Arc;

use cel_interpreter::Value;
use cel_interpreter::objects::Key;

#[derive(Debug)]
enum Test {
    Equals(String),
    StartsWith(String),
}

/// `r.F == "t"`, `r.F != "t"`, `r.F.startsWith("t")` or `!r.F.startsWith("t")`.
#[derive(Debug)]
pub(crate) struct Shortcut {
    field: Key,
    test: Test,
    negate: bool,
}

impl Shortcut {
    /// The shortcut for `source`, if it has one of the shapes above.
    pub(crate) fn parse(source: &str) -> Option<Shortcut> {
        let mut s = Scanner(source.trim());
        let not = s.eat("!");
        if !s.eat("r") || !s.eat(".") {
            return None;
        }
        let field = s.ident()?;
        let (test, negate) = if !not && s.eat("==") {
            (Test::Equals(s.text()?), false)
        } else if !not && s.eat("!=") {
            (Test::Equals(s.text()?), true)
        } else if s.eat(".") && s.ident()? == "startsWith" && s.eat("(") {
            let prefix = s.text()?;
            if !s.eat(")") {
                return None;
            }
            (Test::StartsWith(prefix), not)
        } else {
            return None;
        };
        s.0.trim().is_empty().then(|| Shortcut {
            field: Key::String(Arc::new(field.to_string())),
            test,
            negate,
        })
    }

    /// The clause's value on `r`, or `None` when CEL must decide (the field is absent or not
    /// text: CEL reports the error, or compares across types, as it always did).
    pub(crate) fn decide(&self, r: &Value) -> Option<bool> {
        let Value::Map(map) = r else { return None };
        let Some(Value::String(value)) = map.map.get(&self.field) else { return None };
        let hit = match &self.test {
            Test::Equals(text) => value.as_str() == text,
            Test::StartsWith(prefix) => value.starts_with(prefix.as_str()),
        };
        Some(hit != self.negate)
    }
}

/// Tokens of the shapes above, whitespace between them allowed.
struct Scanner<'a>(&'a str);

impl<'a> Scanner<'a> {
    fn eat(&mut self, token: &str) -> bool {
        let rest = self.0.trim_start();
        match rest.strip_prefix(token) {
            // `r` must be the whole identifier, not the start of `region`.
            Some(after) if token == "r" && after.starts_with(is_ident_char) => false,
            // `!` must not start `!=`.
            Some(after) if token == "!" && after.starts_with('=') => false,
            Some(after) => {
                self.0 = after;
                true
            }
            None => false,
        }
    }

    fn ident(&mut self) -> Option<&'a str> {
        let rest = self.0.trim_start();
        let end = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
        let ident = &rest[..end];
        if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        self.0 = &rest[end..];
        Some(ident)
    }

    /// A plain string literal: `"…"` or `'…'` without escapes or the other quote (those are
    /// left to CEL's parser).
    fn text(&mut self) -> Option<String> {
        let rest = self.0.trim_start();
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        if rest.starts_with(&quote.to_string().repeat(3)) {
            return None;
        }
        let body = &rest[1..];
        let end = body.find(quote)?;
        let text = &body[..end];
        if text.contains(['\\', '"', '\'', '\n', '\r']) {
            return None;
        }
        self.0 = &body[end + 1..];
        Some(text.to_string())
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use cel_interpreter::{Context, Program};
    use std::collections::HashMap;

    fn r(fields: &[(&str, Value)]) -> Value {
        let map: HashMap<Key, Value> =
            fields.iter().map(|(k, v)| (Key::String(Arc::new(k.to_string())), v.clone())).collect();
        Value::Map(cel_interpreter::objects::Map { map: Arc::new(map) })
    }

    fn cel(source: &str, r: &Value) -> Option<bool> {
        let mut ctx = Context::default();
        ctx.add_variable_from_value("r", r.clone());
        match Program::compile(source).unwrap().execute(&ctx) {
            Ok(Value::Bool(b)) => Some(b),
            _ => None,
        }
    }

    #[test]
    fn shortcuts_agree_with_cel() {
        let text = |s: &str| Value::String(Arc::new(s.to_string()));
        let resources = [
            r(&[("state", text("running")), ("kind", text("ec2_instance"))]),
            r(&[("state", text("stopped")), ("kind", text("k8s_node"))]),
            r(&[("state", text("")), ("kind", text("k8s_"))]),
        ];
        let clauses = [
            r#"r.state == "running""#,
            "r.state=='running'",
            r#"  r.state != "running"  "#,
            r#"!r.kind.startsWith("k8s_")"#,
            r#"r.kind.startsWith('k8s_')"#,
            r#"! r . kind . startsWith ( "k8s_" ) "#,
            r#"r.state == """#,
        ];
        for clause in clauses {
            let shortcut = Shortcut::parse(clause).unwrap_or_else(|| panic!("{clause}"));
            for resource in &resources {
                assert_eq!(shortcut.decide(resource), cel(clause, resource), "{clause}");
            }
        }
    }

    #[test]
    fn other_shapes_and_other_types_are_left_to_cel() {
        for clause in [
            r#"r.state == "running" && r.x == "y""#,
            r#"!r.state == "running""#,
            r#"region == "x""#,
            r#"rr.state == "x""#,
            r#"r.state == "a\"b""#,
            r#"r.state == r"raw""#,
            r#"r.state == """x""""#,
            r#"r.state.endsWith("x")"#,
            r#"r.state == "running" || true"#,
            "r.state == 'it''s'",
            "",
        ] {
            assert!(Shortcut::parse(clause).is_none(), "{clause}");
        }
        let shortcut = Shortcut::parse(r#"r.state == "running""#).unwrap();
        assert_eq!(shortcut.decide(&r(&[("state", Value::Float(1.0))])), None);
        assert_eq!(shortcut.decide(&r(&[])), None);
        assert_eq!(shortcut.decide(&Value::Null), None);
    }
}
