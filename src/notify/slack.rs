//! The digest as a Slack Block Kit message: a header, the key figures as a section's fields,
//! lists of breached budgets, top savings and anomalies, and a context line.
//!
//! Every piece of data goes through [`escape`]: control characters out, and `&`, `<`, `>` as
//! Slack's mrkdwn wants them escaped, so a service or budget named `<!channel>` or
//! `<http://evil|click>` reads as text and can neither ping a channel nor make a link. Each
//! name is clipped before escaping, so an escape is never cut in half, and lists stop at
//! Slack's limits (3000 characters a text, 2000 a field, 10 fields, 50 blocks) with a count of
//! what was left out.

use serde_json::{Value, json};

use super::digest::{AnomalyLine, BudgetLine, Digest};
use crate::analysis::budgets::BudgetStatus;
use crate::model::Money;

/// Slack's limit on a section's text is 3000 characters; the rest is room for "…and N more".
const SECTION_BUDGET: usize = 2800;
/// Slack's limit on a field's text.
const FIELD_LIMIT: usize = 2000;
/// Slack's limit on a section's fields.
const MAX_FIELDS: usize = 10;
/// The longest piece of data (a name, a group) quoted; longer ones end in `…`.
const MAX_NAME_CHARS: usize = 120;
/// Lines listed per section before "…and N more".
const MAX_LINES: usize = 8;

/// Data made safe for mrkdwn: control characters become spaces (as in every output), the text
/// is clipped to [`MAX_NAME_CHARS`], and `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;` (Slack's
/// "Escaping text" rules: the only characters its mrkdwn requires escaped).
pub fn escape(text: &str) -> String {
    let clean = crate::export::plain_text(text);
    let mut clipped: String = clean.chars().take(MAX_NAME_CHARS).collect();
    if clean.chars().count() > MAX_NAME_CHARS {
        clipped.push('…');
    }
    let mut out = String::with_capacity(clipped.len());
    for c in clipped.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn money(m: Money) -> String {
    m.display_2dp()
}

fn month_name(month: &str) -> String {
    chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map_or_else(|_| month.to_string(), |d| d.format("%B %Y").to_string())
}

/// The message for `digest`.
pub fn message(digest: &Digest) -> Value {
    let mut blocks = Vec::new();
    let title = match digest.spend.first() {
        Some(s) => format!("costscope digest: {}", month_name(&s.month)),
        None => "costscope digest".to_string(),
    };
    blocks.push(json!({
        "type": "header",
        "text": { "type": "plain_text", "text": title, "emoji": false }
    }));
    let fields: Vec<Value> = key_figures(digest)
        .into_iter()
        .take(MAX_FIELDS)
        .map(|text| json!({ "type": "mrkdwn", "text": clip_field(text) }))
        .collect();
    if !fields.is_empty() {
        blocks.push(json!({ "type": "section", "fields": fields }));
    }
    let changes: Vec<String> = digest.changes.iter().map(|c| format!("• {}", escape(c))).collect();
    push_list(&mut blocks, "Why now", changes);
    let budgets: Vec<String> = digest.breached_budgets().into_iter().map(budget_line).collect();
    push_list(&mut blocks, "Budgets", budgets);
    let savings: Vec<String> = digest
        .top_savings
        .iter()
        .map(|r| {
            format!(
                "• {}: *{} {}*/month ({} finding{}, `{}`)",
                escape(&r.title),
                money(r.estimated_monthly_savings),
                escape(&r.currency.to_string()),
                r.findings,
                if r.findings == 1 { "" } else { "s" },
                escape(&r.rule_id)
            )
        })
        .collect();
    push_list(&mut blocks, "Top savings", savings);
    if let Some(anomalies) = &digest.anomalies {
        push_list(&mut blocks, "Anomalies", anomaly_lines(anomalies));
    }
    let mut context =
        format!("costscope · data as of {}", digest.collected_at.format("%Y-%m-%d %H:%M UTC"));
    if !digest.incomplete_sources.is_empty() {
        let sources: Vec<String> = digest.incomplete_sources.iter().map(|s| escape(s)).collect();
        context.push_str(&format!(" · incomplete: {}", sources.join(", ")));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": clip_field(context) }]
    }));
    json!({ "text": fallback(digest), "blocks": blocks })
}

/// The fields of the first section: spend and forecast per currency, savings, budgets,
/// anomalies.
fn key_figures(digest: &Digest) -> Vec<String> {
    let mut fields = Vec::new();
    for s in &digest.spend {
        let currency = escape(&s.currency.to_string());
        let mut text = format!(
            "*Spend {} ({} of {} days)*\n{} {currency}",
            month_name(&s.month),
            s.days_covered,
            s.days_in_month,
            money(s.month_to_date)
        );
        if let (Some(previous), Some(change)) = (s.previous_month, s.change) {
            let sign = if change.is_negative() { "" } else { "+" };
            let pct = s.change_percent.map_or(String::new(), |p| format!(", {p:+.1}%"));
            text.push_str(&format!(
                "\nprevious month {}: {sign}{}{pct}",
                money(previous),
                money(change)
            ));
        }
        fields.push(text);
        if let Some(f) = s.forecast {
            let mut text = format!("*Forecast {}*\n{} {currency}", month_name(&s.month), money(f));
            if let (Some(low), Some(high)) = (s.forecast_low, s.forecast_high)
                && low != high
            {
                text.push_str(&format!(" (range {} – {})", money(low), money(high)));
            }
            if let Some(p) = s.forecast_change_percent {
                text.push_str(&format!("\n{:+.1}% vs previous month", p.to_f64()));
            }
            fields.push(text);
        }
    }
    let savings: Vec<String> = digest
        .savings
        .iter()
        .map(|s| {
            format!(
                "{} {}/month ({} resources)",
                money(s.estimated_monthly_savings),
                escape(&s.currency.to_string()),
                s.resources
            )
        })
        .collect();
    fields.push(format!(
        "*Potential savings*\n{}",
        if savings.is_empty() { "none found".to_string() } else { savings.join("\n") }
    ));
    if !digest.budgets.is_empty() {
        let count =
            |status: BudgetStatus| digest.budgets.iter().filter(|b| b.status == status).count();
        let (over, at_risk) = (count(BudgetStatus::Over), count(BudgetStatus::AtRisk));
        let ok = digest.budgets.len() - over - at_risk;
        fields.push(format!("*Budgets*\n{over} over, {at_risk} at risk, {ok} ok"));
    }
    if let Some(a) = &digest.anomalies {
        fields.push(format!("*Anomalies*\n{}", a.len()));
    }
    fields
}

/// One line per run of anomalous days of a group (a lasting step up is flagged day after day
/// until the baseline takes it in), in the digest's order: largest excess first.
fn anomaly_lines(anomalies: &[AnomalyLine]) -> Vec<String> {
    struct Run<'a> {
        first: &'a AnomalyLine,
        last_day: chrono::NaiveDate,
        days: usize,
    }
    let mut runs: Vec<Run<'_>> = Vec::new();
    for a in anomalies {
        match runs.iter_mut().find(|r| {
            r.first.group == a.group && r.first.currency == a.currency && r.first.since == a.since
        }) {
            Some(run) => {
                run.days += 1;
                run.last_day = run.last_day.max(a.day);
            }
            None => runs.push(Run { first: a, last_day: a.day, days: 1 }),
        }
    }
    runs.iter()
        .map(|r| {
            let a = r.first;
            let when = if r.days == 1 && a.since == a.day {
                a.day.to_string()
            } else {
                format!("{} → {} ({} days)", a.since, r.last_day, r.days)
            };
            let up_to = if r.days == 1 { "" } else { "up to " };
            format!(
                "• {when} *{}*: {up_to}+{} {} over {} expected",
                escape(&a.group),
                money(a.excess),
                escape(&a.currency.to_string()),
                money(a.expected)
            )
        })
        .collect()
}

fn budget_line(b: &BudgetLine) -> String {
    let (icon, state) = match b.status {
        BudgetStatus::Over => (":red_circle:", "over"),
        _ => (":large_orange_circle:", "at risk"),
    };
    let pct = |p: Option<Money>| p.map_or(String::new(), |p| format!(" ({}%)", p.round_dp(1)));
    let forecast = b
        .forecast
        .map_or(String::new(), |f| format!(", forecast {}{}", money(f), pct(b.forecast_percent)));
    format!(
        "• {icon} *{}* {state}: {} of {} {} spent{}{forecast}",
        escape(&b.name),
        money(b.actual),
        money(b.amount),
        escape(&b.currency.to_string()),
        pct(b.actual_percent)
    )
}

/// A section titled `title` with as many of `lines` as fit, then how many did not.
fn push_list(blocks: &mut Vec<Value>, title: &str, lines: Vec<String>) {
    if lines.is_empty() {
        return;
    }
    let mut text = format!("*{title}*");
    let mut shown = 0;
    for line in &lines {
        if shown == MAX_LINES || text.chars().count() + 1 + line.chars().count() > SECTION_BUDGET {
            break;
        }
        text.push('\n');
        text.push_str(line);
        shown += 1;
    }
    if shown < lines.len() {
        text.push_str(&format!("\n…and {} more", lines.len() - shown));
    }
    blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } }));
}

/// Cuts a field's text at a line break under Slack's field limit (its pieces are escaped and
/// clipped already, so this only matters for many currencies).
fn clip_field(text: String) -> String {
    if text.chars().count() <= FIELD_LIMIT {
        return text;
    }
    let mut out = String::new();
    for line in text.lines() {
        if out.chars().count() + line.chars().count() + 2 > FIELD_LIMIT {
            out.push_str("\n…");
            break;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

/// The notification's plain text (what a phone's lock screen shows): the headline figures.
fn fallback(digest: &Digest) -> String {
    let mut parts = Vec::new();
    if let Some(s) = digest.spend.first() {
        parts.push(format!(
            "spend {} {} {}",
            month_name(&s.month),
            money(s.month_to_date),
            escape(&s.currency.to_string())
        ));
    }
    if let Some(s) = digest.savings.first() {
        parts.push(format!(
            "savings {} {}/month",
            money(s.estimated_monthly_savings),
            escape(&s.currency.to_string())
        ));
    }
    let breached = digest.breached_budgets();
    if !breached.is_empty() {
        let over = breached.iter().filter(|b| b.status == BudgetStatus::Over).count();
        parts.push(format!("{over} budget(s) over, {} at risk", breached.len() - over));
    }
    if let Some(a) = &digest.anomalies {
        parts.push(format!("{} anomalies", a.len()));
    }
    format!("costscope digest: {}", parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralizes_mentions_links_and_terminal_codes() {
        assert_eq!(
            escape("<!channel> & <http://evil|x>"),
            "&lt;!channel&gt; &amp; &lt;http://evil|x&gt;"
        );
        assert_eq!(escape("a\u{1b}[31mred\u{7}"), "a [31mred ");
        let long = "<".repeat(500);
        let e = escape(&long);
        assert_eq!(e, format!("{}…", "&lt;".repeat(MAX_NAME_CHARS)));
    }

    #[test]
    fn lists_stop_at_the_line_limit_and_say_how_many_are_left() {
        let mut blocks = Vec::new();
        let lines: Vec<String> = (0..20).map(|i| format!("• line {i}")).collect();
        push_list(&mut blocks, "T", lines);
        let text = blocks[0]["text"]["text"].as_str().unwrap();
        assert_eq!(text.lines().count(), 1 + MAX_LINES + 1);
        assert!(text.ends_with("…and 12 more"), "{text}");
        let long: Vec<String> = (0..8).map(|_| "x".repeat(1000)).collect();
        let mut blocks = Vec::new();
        push_list(&mut blocks, "T", long);
        let text = blocks[0]["text"]["text"].as_str().unwrap();
        assert!(text.chars().count() <= 3000);
        assert!(text.ends_with("…and 6 more"), "{text}");
    }
}
