//! Property-based fuzzing of every parser that reads outside data: FOCUS CSV (plain and gzip),
//! snapshot JSON, rule files (TOML + CEL), the config file and Kubernetes quantities.
//!
//! The property everywhere: no input panics, and a rejected input gets an error that names the
//! file (and the line where there is one). Quantities also keep their arithmetic: round trips
//! through every suffix and ordering.
//!
//! `cargo test` runs 256 cases per target (proptest's default). A long run sets the count:
//! `PROPTEST_CASES=200000 cargo test --release --test fuzz` (docs/fuzzing.md has the figures of
//! the last long run). A failing case is saved under proptest-regressions/ and replayed first on
//! every later run; the cases found so far are also pinned as plain tests at the end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use costscope::analysis::rules::RuleSet;
use costscope::analysis::rules::probe;
use costscope::analysis::rules::rule::Rule;
use costscope::config::Config;
use costscope::pricing::catalog::PriceCatalog;
use costscope::source::SourceError;
use costscope::source::focus::{FocusOptions, read_focus_files, read_focus_reader};
use costscope::source::kube::quantity;
use costscope::source::snapshot_file::parse_snapshot;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// FOCUS
// ---------------------------------------------------------------------------------------------

const FOCUS_COLUMNS: &[&str] = &[
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BillingCurrency",
    "ProviderName",
    "BillingAccountId",
    "SubAccountId",
    "ServiceName",
    "RegionId",
    "ResourceId",
    "ResourceType",
    "ChargeCategory",
    "Tags",
    "x_Unknown",
];

/// Field values near the edge of valid: numbers that overflow or are not numbers, dates in
/// every shape, tags JSON good and bad, CSV quoting, control characters and odd Unicode.
fn focus_field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("0".to_string()),
        Just("1.25".to_string()),
        Just("-0.0000000001".to_string()),
        Just("1e309".to_string()),
        Just("NaN".to_string()),
        Just("-inf".to_string()),
        Just("99999999999999999999999999999999999999.9".to_string()),
        Just("0.000000000000000000000000000001".to_string()),
        Just("2026-10-01T00:00:00Z".to_string()),
        Just("2026-10-01".to_string()),
        Just("2026-02-30T00:00:00Z".to_string()),
        Just("+275760-09-13T00:00:00Z".to_string()),
        Just("2026-10-01 00:00:00+14:00".to_string()),
        Just("USD".to_string()),
        Just("usd ".to_string()),
        Just("\u{20ac}".to_string()),
        Just(r#""{""team"":""web""}""#.to_string()),
        Just(r#""{""a"":{""b"":1}}""#.to_string()),
        Just(r#""{""a"":null}""#.to_string()),
        Just(r#""[1,2]""#.to_string()),
        Just(format!("\"{}\"", "[".repeat(300))),
        Just("\"unclosed".to_string()),
        Just("\"a\"\"b\"".to_string()),
        Just("\"multi\nline\"".to_string()),
        Just("=cmd|' /C calc'!A0".to_string()),
        Just("\u{1b}]0;pwned\u{7}".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{feff}".to_string()),
        Just("\r".to_string()),
        "[ -~]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(16).collect()),
        (any::<i64>(), 0u32..12).prop_map(|(n, scale)| {
            let s = n.unsigned_abs().to_string();
            let cut = s.len().saturating_sub(scale as usize);
            let sign = if n < 0 { "-" } else { "" };
            format!("{sign}{}.{}", &s[..cut], &s[cut..])
        }),
    ]
}

/// A FOCUS-shaped file: a header of known (and unknown) columns with at least the required
/// ones most of the time, then rows that may be short, long or made of hostile fields.
fn focus_text() -> impl Strategy<Value = String> {
    let header = proptest::sample::subsequence(FOCUS_COLUMNS, 0..=FOCUS_COLUMNS.len())
        .prop_shuffle()
        .prop_flat_map(|cols| {
            (Just(cols), any::<bool>()).prop_map(|(mut cols, with_required)| {
                if with_required {
                    for required in ["BilledCost", "ChargePeriodStart"] {
                        if !cols.contains(&required) {
                            cols.push(required);
                        }
                    }
                }
                cols
            })
        });
    header.prop_flat_map(|cols| {
        let width = cols.len();
        let row = prop::collection::vec(focus_field(), width.saturating_sub(1)..=width + 1);
        let eol = prop_oneof![Just("\n"), Just("\r\n"), Just("\n\n")];
        (Just(cols), prop::collection::vec((row, eol), 0..8), any::<bool>()).prop_map(
            |(cols, rows, final_newline)| {
                let mut text = cols.join(",");
                text.push('\n');
                for (row, eol) in rows {
                    text.push_str(&row.join(","));
                    text.push_str(eol);
                }
                if !final_newline {
                    text.pop();
                }
                text
            },
        )
    })
}

/// Every error must say which file; row errors also the line, and never a line past the end.
fn assert_focus_error(err: &SourceError, name: &str, text_lines: usize) {
    let message = err.to_string();
    assert!(message.starts_with(name), "error does not name the file: {message}");
    if let SourceError::Row { line, .. } = err {
        assert!(
            *line >= 1 && *line as usize <= text_lines + 1,
            "line {line} outside a {text_lines}-line file: {message}"
        );
    }
}

fn read_focus(bytes: &[u8], skip_invalid: bool) -> Result<(), SourceError> {
    let options = FocusOptions { skip_invalid, ..FocusOptions::default() };
    read_focus_reader(bytes, Path::new("fuzz.csv"), options).map(|_| ())
}

fn line_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + 1
}

proptest! {
    #[test]
    fn focus_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        for skip in [false, true] {
            if let Err(e) = read_focus(&bytes, skip) {
                assert_focus_error(&e, "fuzz.csv", line_count(&bytes));
            }
        }
    }

    #[test]
    fn focus_near_valid_csv_never_panics(text in focus_text(), skip in any::<bool>()) {
        if let Err(e) = read_focus(text.as_bytes(), skip) {
            assert_focus_error(&e, "fuzz.csv", line_count(text.as_bytes()));
        }
    }

    /// Through a real file: gzip (whole, truncated or with a flipped byte) and the file opener.
    #[test]
    fn focus_gzip_never_panics(text in focus_text(), cut in any::<prop::sample::Index>(), flip in any::<Option<(prop::sample::Index, u8)>>()) {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        let mut bytes = gz.finish().unwrap();
        bytes.truncate(cut.index(bytes.len() + 1).max(1));
        if let Some((at, value)) = flip {
            let at = at.index(bytes.len());
            bytes[at] ^= value;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.csv.gz");
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = read_focus_files(std::slice::from_ref(&path), FocusOptions::default()) {
            let message = e.to_string();
            prop_assert!(message.starts_with(&path.display().to_string()), "{message}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------------

fn sample_snapshot() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/snapshot.json");
        let text = std::fs::read_to_string(path).unwrap();
        // Mutating the whole sample is slow and adds nothing: its first objects have every shape.
        let mut cut = text.len().min(24 * 1024);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text[..cut].to_string()
    })
}

/// A JSON edit: replace a span of the sample with a token that breaks types or nesting.
fn json_token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        Just("-1".to_string()),
        Just("1e400".to_string()),
        Just("18446744073709551616".to_string()),
        Just("\"\"".to_string()),
        Just("\"\\ud800\"".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("\"schema_version\": 999,".to_string()),
        Just("[".repeat(10_000)),
        Just("{\"a\":".repeat(200)),
        "[ -~]{0,8}",
    ]
}

fn assert_snapshot_error(err: &SourceError) {
    let message = err.to_string();
    assert!(message.starts_with("fuzz.json"), "error does not name the file: {message}");
}

proptest! {
    #[test]
    fn snapshot_arbitrary_text_never_panics(text in any::<String>()) {
        if let Err(e) = parse_snapshot(&text, Path::new("fuzz.json")) {
            assert_snapshot_error(&e);
        }
    }

    #[test]
    fn snapshot_mutated_sample_never_panics(
        at in any::<prop::sample::Index>(),
        len in 0usize..64,
        token in json_token(),
        close in any::<bool>(),
    ) {
        let sample = sample_snapshot();
        let mut start = at.index(sample.len());
        while !sample.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + len).min(sample.len());
        while !sample.is_char_boundary(end) {
            end -= 1;
        }
        let mut text = format!("{}{}{}", &sample[..start], token, &sample[end..]);
        if close {
            text.push_str("]}]}}");
        }
        if let Err(e) = parse_snapshot(&text, Path::new("fuzz.json")) {
            assert_snapshot_error(&e);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rule files
// ---------------------------------------------------------------------------------------------

/// Pieces of CEL, good and bad, that combine into expressions of any depth.
fn cel_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("r.size_gib".to_string()),
        Just("r.tags.team".to_string()),
        Just("u.cpu_p95".to_string()),
        Just("p.min_days".to_string()),
        Just("missing_tags".to_string()),
        Just("1.0".to_string()),
        Just("2".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("18446744073709551615u".to_string()),
        Just("\"s\"".to_string()),
        Just("b\"\\xff\"".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("null".to_string()),
        Just("instance_monthly(r.instance_type, r.region)".to_string()),
        Just("volume_monthly(\"gp3\", 1e300, 0.0, 0.0, \"x\")".to_string()),
        Just("next_smaller(\"\", \"\")".to_string()),
        "[a-z_.0-9\"'()\\[\\]{}+*/%<>=!&|?:,-]{0,10}",
    ];
    leaf.prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["+", "-", "*", "/", "%", "&&", "||", "==", "<", "in"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("!{a}")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("{a} ? {b} : {c}")),
            inner.clone().prop_map(|a| format!("[{a}].map(x, x + {a})")),
            inner.clone().prop_map(|a| format!("[{a}].exists(x, {a})")),
            // Comprehensions over data and over any expression, nesting as deep as the
            // recursion goes: the loader must refuse the costly ones, never hang.
            inner.clone().prop_map(|a| format!("r.tags.all(k, {a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}.filter(y, {b})")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("[{a}, {b}, {a}].exists_one(z, z == {b})")),
            inner.clone().prop_map(|a| format!("size({a})")),
            inner.clone().prop_map(|a| format!("double({a})")),
            inner.clone().prop_map(|a| format!("int({a})")),
            inner.prop_map(|a| format!("{{\"k\": {a}}}[\"k\"]")),
        ]
    })
}

fn toml_string(s: &str) -> String {
    format!("'''{}'''", s.replace("'''", "' ' '"))
}

fn rule_text() -> impl Strategy<Value = String> {
    (
        cel_expr(),
        cel_expr(),
        cel_expr(),
        prop::sample::select(vec!["ebs_volume", "ec2_instance", "k8s_node", "nope"]),
        prop::sample::select(vec!["low", "medium", "high", "certain"]),
        any::<bool>(),
        "[ -~]{0,6}",
    )
        .prop_map(|(when, condition, savings, resource, confidence, needs_util, junk)| {
            format!(
                "id = \"fuzz\"\ntitle = \"t\"\nresource = \"{resource}\"\naction = \"a\"\nconfidence = \"{confidence}\"\nneeds_utilization = {needs_util}\nwhen = {}\ncondition = {}\nsavings = {}\nevidence = {}\n[params]\nmin_days = 1\n{junk}\n",
                toml_string(&when),
                toml_string(&condition),
                toml_string(&savings),
                toml_string(&format!("e {{{when}}} {junk}")),
            )
        })
}

fn catalog() -> Arc<PriceCatalog> {
    static CATALOG: std::sync::OnceLock<Arc<PriceCatalog>> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| Arc::new(PriceCatalog::builtin().unwrap())).clone()
}

/// Parses a rule and, when it parses, runs it on the probe (what `rules check` does), so the
/// evaluator sees every expression the parser accepts.
fn parse_and_probe(text: &str) {
    match Rule::parse(text, Path::new("fuzz.toml")) {
        Ok(rule) => {
            for e in probe::check(RuleSet { rules: vec![rule] }, catalog()) {
                let message = e.to_string();
                assert!(message.starts_with("fuzz.toml:"), "{message}");
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz.toml:"), "error does not name file:line: {message}");
        }
    }
}

proptest! {
    #[test]
    fn rule_arbitrary_text_never_panics(text in any::<String>()) {
        parse_and_probe(&text);
    }

    #[test]
    fn rule_with_generated_cel_never_panics(text in rule_text()) {
        parse_and_probe(&text);
    }
}

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

fn config_text() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just("1".to_string()),
        Just("2.5".to_string()),
        Just("\"0.04\"".to_string()),
        Just("\"-1\"".to_string()),
        Just("\"1e999\"".to_string()),
        Just("\"\"".to_string()),
        Just("[\"team\", \"\"]".to_string()),
        Just("[\"team\"]".to_string()),
        Just("true".to_string()),
        Just("{ a = 1 }".to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
        "\"[ -~]{0,8}\"",
    ];
    let line = (
        prop::sample::select(vec![
            "[tags]",
            "[rules.ec2-idle]",
            "[rules.nope]",
            "[pricing]",
            "[suppressions]",
            "[kubernetes]",
            "[[tags]]",
            "",
        ]),
        prop::sample::select(vec![
            "required",
            "enabled",
            "max_cpu_p95_percent",
            "catalog",
            "path",
            "cpu_per_vcpu_hour",
            "ram_per_gib_hour",
            "x",
        ]),
        value,
    )
        .prop_map(|(section, key, value)| format!("{section}\n{key} = {value}\n"));
    prop::collection::vec(line, 0..6).prop_map(|lines| lines.concat())
}

fn assert_config(text: &str) {
    if let Err(e) = Config::parse(text, Path::new("fuzz-config.toml")) {
        let message = e.to_string();
        assert!(message.starts_with("fuzz-config.toml:"), "{message}");
    }
}

proptest! {
    #[test]
    fn config_arbitrary_text_never_panics(text in any::<String>()) {
        assert_config(&text);
    }

    #[test]
    fn config_near_valid_never_panics(text in config_text()) {
        assert_config(&text);
        // The overrides it carries are applied to the real rule pack, as `report` does.
        if let Ok(config) = Config::parse(&text, Path::new("fuzz-config.toml")) {
            let mut rules = RuleSet::builtin().unwrap();
            if let Err(e) = rules.apply_overrides(&config.rule_overrides, Path::new("fuzz-config.toml"), &text) {
                let message = e.to_string();
                prop_assert!(message.starts_with("fuzz-config.toml:"), "{message}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Service price tables (rules/prices/<service>.toml)
// ---------------------------------------------------------------------------------------------

/// A table built from the real RDS one with one line replaced or dropped: near-valid text.
fn service_table_text() -> impl Strategy<Value = String> {
    const RDS: &str = include_str!("../rules/prices/rds.toml");
    let lines: Vec<&'static str> = RDS.lines().collect();
    let count = lines.len();
    (0..count, prop::option::of("[ -~]{0,40}")).prop_map(move |(at, replacement)| {
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        match replacement {
            Some(text) => out[at] = text,
            None => {
                out.remove(at);
            }
        }
        out.join("\n")
    })
}

fn assert_service_table(text: &str) {
    use costscope::pricing::ServicePrices;
    match ServicePrices::from_toml(text, "fuzz-rds.toml") {
        Ok(table) => {
            // Lookups on whatever loaded answer or say "no price", never panic.
            for class in ["db.m5.large", "db.x.y", ""] {
                let _ = table.node_hourly("us-east-1", "mysql", class);
                let _ = table.next_smaller("us-east-1", "mysql", class);
                let _ = table.successor("us-east-1", "mysql", class);
                let _ = table.graviton("us-east-1", "mysql", class);
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz-rds.toml"), "{message}");
        }
    }
}

proptest! {
    #[test]
    fn service_table_arbitrary_text_never_panics(text in any::<String>()) {
        assert_service_table(&text);
    }

    #[test]
    fn service_table_near_valid_never_panics(text in service_table_text()) {
        assert_service_table(&text);
    }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes quantities
// ---------------------------------------------------------------------------------------------

const BINARY: [(&str, u32); 6] =
    [("Ki", 10), ("Mi", 20), ("Gi", 30), ("Ti", 40), ("Pi", 50), ("Ei", 60)];
const DECIMAL: [(&str, u32); 6] = [("k", 3), ("M", 6), ("G", 9), ("T", 12), ("P", 15), ("E", 18)];

proptest! {
    #[test]
    fn quantity_arbitrary_text_never_panics(text in any::<String>()) {
        let _ = quantity::bytes(&text);
        let _ = quantity::millicores(&text);
    }

    #[test]
    fn quantity_grammar_soup_never_panics(text in "[-+0-9.eEkKMGTPEinum ]{0,24}") {
        for r in [quantity::bytes(&text), quantity::millicores(&text)] {
            if let Err(e) = r {
                prop_assert!(e.to_string().contains(&format!("{text:?}")), "{e}");
            }
        }
    }

    /// Every notation of a whole number parses to it exactly, or says "too large".
    #[test]
    fn quantity_round_trips(n in any::<u64>(), suffix in 0usize..6) {
        prop_assert_eq!(quantity::bytes(&n.to_string()), Ok(n));
        prop_assert_eq!(quantity::bytes(&format!("+{n}")), Ok(n));
        prop_assert_eq!(quantity::bytes(&format!("000{n}")), Ok(n));
        prop_assert_eq!(quantity::millicores(&format!("{n}m")), Ok(n));
        let (bin, shift) = BINARY[suffix];
        let expected = u64::try_from(u128::from(n) << shift).ok();
        prop_assert_eq!(quantity::bytes(&format!("{n}{bin}")).ok(), expected);
        let (dec, exp) = DECIMAL[suffix];
        let expected = u64::try_from(u128::from(n) * 10u128.pow(exp)).ok();
        let milli = u128::from(n).checked_mul(10u128.pow(exp) * 1000).and_then(|m| u64::try_from(m).ok());
        prop_assert_eq!(quantity::bytes(&format!("{n}{dec}")).ok(), expected);
        prop_assert_eq!(quantity::bytes(&format!("{n}e{exp}")).ok(), expected);
        // A decimal SI value is the same quantity in millicores, times 1000.
        prop_assert_eq!(quantity::millicores(&format!("{n}{dec}")).ok(), milli);
    }

    /// Fractions round up, never down, and never to zero unless the value is zero.
    #[test]
    fn quantity_fractions_round_up(whole in 0u64..1_000_000, frac in 0u32..1000, digits in 1usize..4) {
        let frac = frac % 10u32.pow(digits as u32);
        let text = format!("{whole}.{frac:0digits$}");
        let scaled = u128::from(whole) * 10u128.pow(digits as u32) + u128::from(frac);
        let expected = scaled.div_ceil(10u128.pow(digits as u32));
        prop_assert_eq!(quantity::bytes(&text).map(u128::from), Ok(expected));
        let expected_milli = (scaled * 1000).div_ceil(10u128.pow(digits as u32));
        prop_assert_eq!(quantity::millicores(&text).map(u128::from), Ok(expected_milli));
        if scaled > 0 {
            let nanos = format!("{text}n");
            prop_assert!(quantity::bytes(&nanos).unwrap() >= 1);
        }
    }

    /// Ordering: a larger number in the same unit, or the same number in a larger unit, is
    /// never a smaller quantity.
    #[test]
    fn quantity_ordering(a in any::<u32>(), b in any::<u32>(), unit in 0usize..5) {
        let (lo, hi) = (a.min(b), a.max(b));
        for (suffix, _) in BINARY.iter().take(3).chain(DECIMAL.iter().take(3)) {
            let x = quantity::bytes(&format!("{lo}{suffix}")).unwrap();
            let y = quantity::bytes(&format!("{hi}{suffix}")).unwrap();
            prop_assert!(x <= y);
        }
        let small = quantity::bytes(&format!("{a}{}", BINARY[unit].0));
        let large = quantity::bytes(&format!("{a}{}", BINARY[unit + 1].0));
        if let (Ok(small), Ok(large)) = (small, large) {
            prop_assert!(small <= large);
        }
        let (milli, whole) = (format!("{a}m"), a.to_string());
        prop_assert!(quantity::millicores(&milli).unwrap() <= quantity::millicores(&whole).unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// Cases the long runs found, pinned
// ---------------------------------------------------------------------------------------------

/// `rule_with_generated_cel_never_panics`, 2026-11-27: a comprehension over a number hit
/// cel-interpreter's `todo!("Support Float(1.0)")` and panicked through `rules check`. Now a
/// literal range is refused when the rule loads, and a range from data is an evaluation error.
#[test]
fn found_comprehension_over_a_number() {
    parse_and_probe(
        "id = \"fuzz\"\ntitle = \"t\"\nresource = \"ebs_volume\"\naction = \"a\"\nconfidence = \"low\"\nneeds_utilization = false\nwhen = '''1.0.filter(y, r.size_gib)'''\ncondition = '''r.size_gib'''\nsavings = '''r.size_gib'''\nevidence = '''e {1.0.filter(y, r.size_gib)} '''\n[params]\nmin_days = 1\n\n",
    );
    parse_and_probe(
        "id = \"fuzz\"\ntitle = \"t\"\nresource = \"ebs_volume\"\naction = \"a\"\nconfidence = \"low\"\ncondition = '''r.volume_type.exists(c, c == \"g\")'''\nsavings = '''1.0'''\nevidence = '''e'''\n",
    );
}
