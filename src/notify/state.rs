//! `--only-on-change`: what the last digest delivered to a destination said, and whether the
//! new one says something that matters.
//!
//! One small JSON file per destination under the cache directory (`$COSTSCOPE_CACHE_DIR/notify/`,
//! else `$XDG_CACHE_HOME/costscope/notify/`, else `~/.cache/costscope/notify/`). Its name is the
//! kind and a hash of the full URL, so two hooks on one host keep apart; the file holds only the
//! redacted URL. It is written atomically and only after a delivery, so a failed one is sent
//! again next time; an unreadable file counts as none (one digest too many, never one too few).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::digest::{Digest, status_name, status_rank};
use super::target::Target;
use crate::model::Money;

/// The state file's own version; another one is ignored (treated as no state).
const VERSION: u32 = 1;

/// When `--only-on-change` sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// The forecast's change against the previous month, in percent, either way.
    pub spend_change_percent: Money,
    /// Potential monthly savings moved by this much in one currency.
    pub savings_change: Money,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            spend_change_percent: Money::from_units(10),
            savings_change: Money::from_units(100),
        }
    }
}

/// What a delivered digest said, as far as `--only-on-change` compares it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Redacted: `https://hooks.slack.com/…`.
    pub target: String,
    pub sent_at: DateTime<Utc>,
    /// Currency → the month and its forecast change in percent.
    pub spend: BTreeMap<String, SpendState>,
    /// Currency → potential monthly savings.
    pub savings: BTreeMap<String, Money>,
    /// `day|group|currency` of every anomaly.
    pub anomalies: BTreeSet<String>,
    /// Budget name → status and alerts reached.
    pub budgets: BTreeMap<String, BudgetState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpendState {
    pub month: String,
    pub forecast_change_percent: Option<Money>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetState {
    pub status: String,
    pub alerts_fired: BTreeSet<String>,
}

impl State {
    pub fn of(digest: &Digest, target: &Target, sent_at: DateTime<Utc>) -> State {
        State {
            version: VERSION,
            target: target.redacted().to_string(),
            sent_at,
            spend: digest
                .spend
                .iter()
                .map(|s| {
                    let state = SpendState {
                        month: s.month.clone(),
                        forecast_change_percent: s.forecast_change_percent,
                    };
                    (s.currency.to_string(), state)
                })
                .collect(),
            savings: digest
                .savings
                .iter()
                .map(|s| (s.currency.to_string(), s.estimated_monthly_savings))
                .collect(),
            anomalies: digest.anomalies.iter().flatten().map(|a| a.key()).collect(),
            budgets: digest
                .budgets
                .iter()
                .map(|b| {
                    let state = BudgetState {
                        status: status_name(b.status).to_string(),
                        alerts_fired: b.alerts_fired.iter().cloned().collect(),
                    };
                    (b.name.clone(), state)
                })
                .collect(),
        }
    }
}

fn rank_of_name(status: &str) -> u8 {
    match status {
        "at_risk" => 1,
        "over" => 2,
        _ => 0,
    }
}

fn abs(m: Money) -> Money {
    if m.is_negative() { -m } else { m }
}

/// Why `digest` is worth sending after `previous` (empty: nothing that matters changed).
pub fn changes(previous: Option<&State>, digest: &Digest, t: &Thresholds) -> Vec<String> {
    let Some(previous) = previous else {
        return vec!["first digest to this destination".to_string()];
    };
    let mut why = Vec::new();
    for s in &digest.spend {
        let Some(p) = s.forecast_change_percent else { continue };
        if abs(p) < t.spend_change_percent {
            continue;
        }
        let before = previous
            .spend
            .get(&s.currency.to_string())
            .filter(|b| b.month == s.month)
            .and_then(|b| b.forecast_change_percent);
        if before.is_none_or(|b| abs(b) < t.spend_change_percent) {
            why.push(format!(
                "{} forecast for {} is {:+.1}% against the previous month (threshold {}%)",
                s.currency,
                s.month,
                p.to_f64(),
                t.spend_change_percent
            ));
        }
    }
    let mut currencies: BTreeSet<String> = previous.savings.keys().cloned().collect();
    currencies.extend(digest.savings.iter().map(|s| s.currency.to_string()));
    for currency in currencies {
        let before = previous.savings.get(&currency).copied().unwrap_or(Money::ZERO);
        let now = digest
            .savings
            .iter()
            .find(|s| s.currency.to_string() == currency)
            .map_or(Money::ZERO, |s| s.estimated_monthly_savings);
        if before != now && abs(now - before) >= t.savings_change {
            why.push(format!(
                "potential savings {} → {} {currency}/month",
                before.display_2dp(),
                now.display_2dp()
            ));
        }
    }
    for b in &digest.budgets {
        let rank = status_rank(b.status);
        match previous.budgets.get(&b.name) {
            Some(before) if rank > rank_of_name(&before.status) => why.push(format!(
                "budget {}: {} → {}",
                b.name,
                before.status.replace('_', " "),
                status_name(b.status).replace('_', " ")
            )),
            Some(before) => {
                for alert in b.alerts_fired.iter().filter(|a| !before.alerts_fired.contains(*a)) {
                    why.push(format!("budget {}: alert {alert} reached", b.name));
                }
            }
            None if rank > 0 => {
                why.push(format!("budget {}: {}", b.name, status_name(b.status).replace('_', " ")))
            }
            None => {}
        }
    }
    for a in digest.anomalies.iter().flatten() {
        if !previous.anomalies.contains(&a.key()) {
            why.push(format!(
                "new anomaly: {} on {} (+{} {})",
                a.group,
                a.day,
                a.excess.display_2dp(),
                a.currency
            ));
        }
    }
    why
}

/// The directory of state files, when one can be named.
pub fn dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("COSTSCOPE_CACHE_DIR") {
        return Some(dir.join("notify"));
    }
    let base = var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache")))?;
    Some(base.join("costscope").join("notify"))
}

/// The state file of `target` in `dir`.
pub fn path(dir: &Path, target: &Target) -> PathBuf {
    dir.join(format!("{}-{:016x}.json", target.kind.slug(), fnv1a64(target.url().as_bytes())))
}

/// FNV-1a, 64 bits: stable across Rust releases (std's hasher is not promised to be), and only
/// a file name, so no cryptographic strength is asked of it; the file holds no secret.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The last delivered digest's state; `None` when there is none or it cannot be read.
pub fn load(path: &Path) -> Option<State> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), "cannot read the last digest's state ({e}); sending");
            return None;
        }
    };
    match serde_json::from_slice::<State>(&text) {
        Ok(s) if s.version == VERSION => Some(s),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(path = %path.display(), "the last digest's state is unreadable ({e}); sending");
            None
        }
    }
}

/// Writes `state` atomically (a crash leaves the old state or the new one).
pub fn save(path: &Path, state: &State) -> Result<(), crate::export::ExportError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| crate::export::ExportError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    crate::export::write_atomic(path, |w| crate::export::json::write_value(w, state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::budgets::BudgetStatus;
    use crate::model::Currency;
    use crate::notify::digest::{AnomalyLine, BudgetLine, Savings, Spend};
    use crate::notify::target::TargetKind;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    fn digest() -> Digest {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 14).unwrap();
        Digest {
            schema: crate::notify::digest::SCHEMA,
            collected_at: Utc::now(),
            spend: vec![Spend {
                currency: Currency::usd(),
                month: "2026-10".into(),
                days_covered: 14,
                days_in_month: 31,
                month_to_date: m("500"),
                previous_month: Some(m("1000")),
                change: Some(m("-500")),
                change_percent: Some(-50.0),
                forecast: Some(m("1050")),
                forecast_low: Some(m("1000")),
                forecast_high: Some(m("1100")),
                forecast_change_percent: Some(m("5")),
            }],
            savings: vec![Savings {
                currency: Currency::usd(),
                estimated_monthly_savings: m("400"),
                findings: 3,
                resources: 3,
            }],
            top_savings: Vec::new(),
            anomalies: Some(vec![AnomalyLine {
                day,
                since: day,
                group: "EC2 / prod".into(),
                currency: Currency::usd(),
                actual: m("1800"),
                expected: m("1000"),
                excess: m("800"),
            }]),
            budgets: vec![BudgetLine {
                name: "web".into(),
                currency: Currency::usd(),
                amount: m("2000"),
                period: "month",
                status: BudgetStatus::Ok,
                actual: m("500"),
                actual_percent: Some(m("25")),
                forecast: Some(m("1050")),
                forecast_percent: Some(m("52.5")),
                alerts_fired: Vec::new(),
            }],
            incomplete_sources: Vec::new(),
            changes: Vec::new(),
        }
    }

    #[test]
    fn each_kind_of_change_is_named_and_small_moves_are_not() {
        let t = Thresholds::default();
        let target = Target::new(TargetKind::Slack, "https://h/services/T/B/SECRET").unwrap();
        let d = digest();
        assert_eq!(changes(None, &d, &t), ["first digest to this destination"]);
        let before = State::of(&d, &target, Utc::now());
        assert!(changes(Some(&before), &d, &t).is_empty());

        let mut small = d.clone();
        small.savings[0].estimated_monthly_savings = m("499.99");
        small.spend[0].forecast_change_percent = Some(m("9.9999"));
        assert!(changes(Some(&before), &small, &t).is_empty());

        let mut moved = d.clone();
        moved.savings[0].estimated_monthly_savings = m("500");
        moved.spend[0].forecast_change_percent = Some(m("-10"));
        moved.budgets[0].status = BudgetStatus::AtRisk;
        moved.budgets[0].alerts_fired = vec!["80% of forecast".into()];
        let mut second = moved.anomalies.as_ref().unwrap()[0].clone();
        second.day = second.day.succ_opt().unwrap();
        moved.anomalies.as_mut().unwrap().push(second);
        assert_eq!(
            changes(Some(&before), &moved, &t),
            [
                "USD forecast for 2026-10 is -10.0% against the previous month (threshold 10%)",
                "potential savings 400.00 → 500.00 USD/month",
                "budget web: ok → at risk",
                "new anomaly: EC2 / prod on 2026-10-15 (+800.00 USD)",
            ]
        );
        // Already above the threshold last time: not a crossing. A new alert without a worse
        // status still counts.
        let after = State::of(&moved, &target, Utc::now());
        let mut again = moved.clone();
        again.spend[0].forecast_change_percent = Some(m("-15"));
        again.budgets[0].alerts_fired.push("90% of forecast".into());
        assert_eq!(
            changes(Some(&after), &again, &t),
            ["budget web: alert 90% of forecast reached"]
        );
        // A better status is no news.
        let mut better = moved.clone();
        better.budgets[0].status = BudgetStatus::Ok;
        better.budgets[0].alerts_fired.clear();
        assert!(changes(Some(&after), &better, &t).is_empty());
    }

    #[test]
    fn state_round_trips_atomically_and_holds_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let target = Target::new(TargetKind::Slack, "https://h/services/T/B/SECRETxyz").unwrap();
        let other = Target::new(TargetKind::Slack, "https://h/services/T/B/OTHER").unwrap();
        let p = path(dir.path(), &target);
        assert_ne!(p, path(dir.path(), &other));
        assert!(!p.to_string_lossy().contains("SECRETxyz"));
        assert_eq!(load(&p), None);
        let state = State::of(&digest(), &target, Utc::now());
        save(&p, &state).unwrap();
        assert_eq!(load(&p), Some(state));
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("SECRETxyz"), "{text}");
        assert!(text.contains("\"target\": \"https://h/…\""), "{text}");
        std::fs::write(&p, "{ not json").unwrap();
        assert_eq!(load(&p), None);
    }

    #[test]
    fn fnv_matches_its_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
