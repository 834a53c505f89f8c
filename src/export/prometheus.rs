//! The report as Prometheus text exposition format 0.0.4, the format node_exporter's textfile
//! collector reads: `# HELP` and `# TYPE` once per family, then its samples. Which metrics the
//! report becomes is in [`metrics`]; docs/metrics.md lists them for users.
//!
//! Every family is a gauge: a report is a snapshot of figures that go up and down, never a
//! running count. Samples carry no timestamp: node_exporter refuses a textfile whose samples
//! have one (the whole file, with `node_textfile_scrape_error 1`), and Prometheus stamps them at
//! scrape time. Output is sorted (families in [`metrics`]' order, samples by label values), so
//! the same report always gives the same bytes.

mod metrics;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};

use crate::model::Money;

/// Writes the report's metrics.
pub fn write_report(out: &mut dyn Write, report: &crate::report::Report) -> io::Result<()> {
    metrics::collect(report).write(out)
}

/// A sample's value: money and ratios kept exact as decimals, counts as integers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Value {
    Money(Money),
    Count(u64),
    Int(i64),
    /// Only finite floats are ever stored ([`Family::set_f64`]).
    Float(f64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Money's Display is a plain decimal with every significant digit: exactly the
            // JSON export's figure, and a valid Prometheus float.
            Value::Money(m) => write!(f, "{m}"),
            Value::Count(n) => write!(f, "{n}"),
            Value::Int(n) => write!(f, "{n}"),
            // Rust's shortest round-trip form, never an exponent nor NaN.
            Value::Float(x) => write!(f, "{x}"),
        }
    }
}

/// One metric family: its samples keyed by their label values, so they are written sorted and
/// a label set appears once (a repeated series is an error to node_exporter, logged at every
/// scrape, and to Prometheus).
#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    samples: BTreeMap<Vec<String>, Value>,
}

impl Family {
    /// Adds a sample; the label values are given in [`Family::labels`]' order. A label set seen
    /// before keeps its first value, as node_exporter does with a repeated series: two values
    /// can only meet there when they differ in characters the output replaces (see
    /// [`label_value`]), or when two sources name a cluster alike.
    fn set(&mut self, values: &[&str], value: Value) {
        debug_assert_eq!(values.len(), self.labels.len(), "{}: label values", self.name);
        let key: Vec<String> = values.iter().map(|v| label_value(v)).collect();
        match self.samples.entry(key) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(value);
            }
            std::collections::btree_map::Entry::Occupied(slot) => {
                tracing::warn!(
                    metric = self.name,
                    labels = ?slot.key(),
                    "two series with the same labels; the first is kept"
                );
            }
        }
    }

    fn set_money(&mut self, values: &[&str], value: Money) {
        self.set(values, Value::Money(value));
    }

    fn set_count(&mut self, values: &[&str], value: u64) {
        self.set(values, Value::Count(value));
    }

    /// A float sample, left out when it is not finite: a gauge that is absent says "unknown"
    /// to PromQL, where NaN would poison every sum it joins.
    fn set_f64(&mut self, values: &[&str], value: f64) {
        if value.is_finite() {
            self.set(values, Value::Float(value));
        }
    }
}

/// The families of one output, in the order they are written.
#[derive(Debug, Default)]
struct Metrics {
    families: Vec<Family>,
}

impl Metrics {
    /// A new gauge family, written after those already declared.
    fn gauge(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> &mut Family {
        debug_assert!(valid_name(name), "{name}");
        debug_assert!(labels.iter().all(|l| valid_name(l) && !l.starts_with("__")), "{name}");
        debug_assert!(self.families.iter().all(|f| f.name != name), "{name} declared twice");
        self.families.push(Family { name, help, labels, samples: BTreeMap::new() });
        let last = self.families.len() - 1;
        &mut self.families[last]
    }

    /// Writes every family that has samples: a family without any is left out whole.
    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        for family in self.families.iter().filter(|f| !f.samples.is_empty()) {
            writeln!(out, "# HELP {} {}", family.name, help_text(family.help))?;
            writeln!(out, "# TYPE {} gauge", family.name)?;
            for (values, value) in &family.samples {
                out.write_all(family.name.as_bytes())?;
                if !values.is_empty() {
                    out.write_all(b"{")?;
                    for (i, (label, v)) in family.labels.iter().zip(values).enumerate() {
                        if i > 0 {
                            out.write_all(b",")?;
                        }
                        write!(out, "{label}=\"{}\"", escape_label_value(v))?;
                    }
                    out.write_all(b"}")?;
                }
                writeln!(out, " {value}")?;
            }
        }
        Ok(())
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: a metric or label name the format accepts (without the colons
/// reserved for recording rules).
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A label value as the output carries it: the data's text, except that characters which could
/// drive a terminal showing the file (`cat`, `curl …/metrics`) are replaced by a space, as in
/// every other export, since the format has no escape for them. A line break is kept: the
/// format escapes it.
fn label_value(text: &str) -> String {
    text.chars()
        .map(|c| if c != '\n' && crate::export::is_unsafe_char(c) { ' ' } else { c })
        .collect()
}

/// A label value escaped for the format: backslash, double quote and line feed.
fn escape_label_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text escaped for the format: backslash and line feed (a quote needs no escape there).
fn help_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(metrics: &Metrics) -> String {
        let mut out = Vec::new();
        metrics.write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn label_values_escape_backslash_quote_and_line_feed() {
        assert_eq!(escape_label_value(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label_value("one\ntwo"), r"one\ntwo");
        assert_eq!(escape_label_value(r"\n"), r"\\n", "a literal backslash-n stays two characters");
        assert_eq!(escape_label_value("Café ☁ 東京 {x=1,y}"), "Café ☁ 東京 {x=1,y}");
    }

    #[test]
    fn help_escapes_backslash_and_line_feed_only() {
        assert_eq!(help_text("a \\ b\nc \"d\""), "a \\\\ b\\nc \"d\"");
    }

    #[test]
    fn terminal_controls_become_spaces_but_line_feeds_are_kept() {
        assert_eq!(label_value("a\u{1b}]0;x\u{7}b"), "a ]0;x b");
        assert_eq!(label_value("x\u{202e}y\u{9b}z\tw\r"), "x y z w ");
        assert_eq!(label_value("line\nbreak"), "line\nbreak");
    }

    #[test]
    fn families_keep_declaration_order_and_samples_sort_by_labels() {
        let mut m = Metrics::default();
        let b = m.gauge("costscope_b", "B.", &["service", "currency"]);
        b.set_money(&["zeta", "USD"], Money::from_units(3));
        b.set_money(&["alpha", "USD"], Money::from_units(1));
        b.set_money(&["alpha", "EUR"], Money::from_raw(2_500_000_000_000_000_000));
        m.gauge("costscope_empty", "Never written.", &["x"]);
        let a = m.gauge("costscope_a", "A \\ with\nbreak.", &[]);
        a.set_count(&[], 7);
        assert_eq!(
            render(&m),
            "# HELP costscope_b B.\n\
             # TYPE costscope_b gauge\n\
             costscope_b{service=\"alpha\",currency=\"EUR\"} 2.5\n\
             costscope_b{service=\"alpha\",currency=\"USD\"} 1\n\
             costscope_b{service=\"zeta\",currency=\"USD\"} 3\n\
             # HELP costscope_a A \\\\ with\\nbreak.\n\
             # TYPE costscope_a gauge\n\
             costscope_a 7\n"
        );
    }

    #[test]
    fn a_repeated_series_keeps_its_first_value_and_non_finite_floats_are_left_out() {
        let mut m = Metrics::default();
        let f = m.gauge("costscope_r", "R.", &["service"]);
        f.set_f64(&["EC2\u{1b}"], 0.25);
        f.set_f64(&["EC2\u{7}"], 0.75);
        f.set_f64(&["nan"], f64::NAN);
        f.set_f64(&["inf"], f64::INFINITY);
        f.set(&["neg"], Value::Int(-3));
        assert_eq!(
            render(&m),
            "# HELP costscope_r R.\n# TYPE costscope_r gauge\n\
             costscope_r{service=\"EC2 \"} 0.25\ncostscope_r{service=\"neg\"} -3\n"
        );
    }

    #[test]
    fn money_is_written_exactly() {
        let m = Money::parse("1234567.000000000000000001").unwrap();
        assert_eq!(Value::Money(m).to_string(), "1234567.000000000000000001");
        assert_eq!(Value::Money(Money::parse("-0.0042").unwrap()).to_string(), "-0.0042");
        assert_eq!(Value::Float(1e-7).to_string(), "0.0000001");
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("costscope_spend_month_to_date"));
        assert!(valid_name("_x1"));
        assert!(!valid_name("1x"));
        assert!(!valid_name("a-b"));
        assert!(!valid_name("a:b"));
        assert!(!valid_name(""));
    }
}
