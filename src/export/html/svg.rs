//! The report page's charts, written as SVG by hand: a stacked bar per day and a half-ring gauge
//! are a few dozen lines each, where a plotting crate would add its font handling and a second
//! rendering model to a dependency list we keep short. Every drawn shape carries its figure in
//! `data-value` (the exact decimal) so a test in a real browser can compare the geometry with
//! the report's numbers.

use std::io::{self, Write};

use super::esc;
use crate::analysis::daily_spend::DailyServiceSpend;
use crate::model::Money;

/// Fill colours of the services drawn apart, in rank order; then the rest of usage, then the
/// charges that are not usage (hatched, so one-time purchases read as something else).
pub(super) const PALETTE: [&str; 6] =
    ["#2f6fde", "#e07b39", "#3aa675", "#8e59c7", "#d4a72c", "#d94f70"];
pub(super) const OTHER_USAGE: &str = "#9aa3b2";
pub(super) const CHARGES: &str = "url(#charges)";

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 28.0;

/// A step of 1, 2 or 5 × 10ⁿ that divides `span` into about four intervals.
fn nice_step(span: f64) -> f64 {
    if !span.is_finite() || span <= 0.0 {
        return 1.0;
    }
    let raw = span / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    step.max(f64::MIN_POSITIVE)
}

/// An axis label: `950`, `12k`, `1.5M`.
fn axis_label(value: f64) -> String {
    let abs = value.abs();
    let (scaled, suffix) = if abs >= 1e6 {
        (value / 1e6, "M")
    } else if abs >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = format!("{scaled:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text}{suffix}")
}

/// The series names of a chart in drawing order (bottom up), with their fills.
pub(super) fn series(spend: &DailyServiceSpend) -> Vec<(String, &'static str)> {
    let mut series: Vec<(String, &'static str)> = spend
        .services
        .iter()
        .zip(PALETTE.iter().cycle())
        .map(|(name, colour)| (name.clone(), *colour))
        .collect();
    series.push(("Other usage".into(), OTHER_USAGE));
    series.push(("Other charges (purchases, fees, tax, credits)".into(), CHARGES));
    series
}

/// Daily spend as stacked bars: positive parts stack up from zero, negative ones (credits)
/// down from it, so every segment's height is its amount on one scale.
pub(super) fn stacked_daily(out: &mut dyn Write, spend: &DailyServiceSpend) -> io::Result<()> {
    let names = series(spend);
    let values = |day: &crate::analysis::daily_spend::SpendDay| -> Vec<Money> {
        let mut v = day.usage.clone();
        v.push(day.other_usage);
        v.push(day.other_charges);
        v
    };
    let (mut high, mut low) = (0f64, 0f64);
    for day in &spend.days {
        let (mut up, mut down) = (0f64, 0f64);
        for m in values(day) {
            let v = m.to_f64();
            if v > 0.0 { up += v } else { down += v }
        }
        high = high.max(up);
        low = low.min(down);
    }
    let step = nice_step(high - low);
    let top = (high / step).ceil() * step;
    let bottom = (low / step).floor() * step;
    let span = if top - bottom > 0.0 { top - bottom } else { 1.0 };
    let plot_h = HEIGHT - TOP - BOTTOM;
    let plot_w = WIDTH - LEFT - RIGHT;
    let scale = plot_h / span;
    let y = |v: f64| TOP + (top - v) * scale;
    let currency = esc(&spend.currency.to_string());
    writeln!(
        out,
        r#"<svg class="chart daily" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="Daily spend in {currency} by service" data-currency="{currency}" data-scale="{scale:.6}">"#
    )?;
    writeln!(
        out,
        r##"<defs><pattern id="charges" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f0d9c8"/><line x1="0" y1="0" x2="0" y2="6" stroke="#a0522d" stroke-width="3"/></pattern></defs>"##
    )?;
    let mut tick = bottom;
    while tick <= top + step / 2.0 {
        let ty = y(tick);
        writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{}" y1="{ty:.2}" y2="{ty:.2}" stroke="{}" stroke-width="1"/><text x="{}" y="{:.2}" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            if tick == 0.0 { "#8a93a3" } else { "#e4e8ef" },
            LEFT - 6.0,
            ty + 4.0,
            axis_label(tick)
        )?;
        tick += step;
    }
    let n = spend.days.len().max(1) as f64;
    let slot = plot_w / n;
    let bar_w = (slot * 0.8).max(0.5);
    for (i, day) in spend.days.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        writeln!(out, r#"<g class="day" data-day="{}" data-total="{}">"#, day.day, day.total())?;
        let (mut up, mut down) = (0f64, 0f64);
        for ((name, fill), m) in names.iter().zip(values(day)) {
            let v = m.to_f64();
            if v == 0.0 {
                continue;
            }
            // The top edge of the segment: its upper end for a positive one, where the
            // stack below zero stood before it for a negative one.
            let from = if v > 0.0 {
                up += v;
                up
            } else {
                down += v;
                down - v
            };
            let name = esc(name);
            writeln!(
                out,
                r#"<rect class="seg" x="{x:.2}" y="{:.3}" width="{bar_w:.2}" height="{:.3}" fill="{fill}" data-series="{name}" data-value="{m}"><title>{} · {name} · {} {currency}</title></rect>"#,
                y(from),
                (v.abs() * scale),
                day.day,
                m.display_2dp(),
            )?;
        }
        writeln!(out, "</g>")?;
        if is_labelled(day.day, spend.days.len()) {
            writeln!(
                out,
                r#"<text x="{:.2}" y="{}" text-anchor="middle">{}</text>"#,
                x + bar_w / 2.0,
                HEIGHT - 10.0,
                day.day.format("%b %-d")
            )?;
        }
    }
    writeln!(out, "</svg>")
}

/// Which days get a date under the axis: the 1st, 8th, 15th and 22nd of each month, or every
/// day of a short period.
fn is_labelled(day: chrono::NaiveDate, days: usize) -> bool {
    use chrono::Datelike;
    if days <= 14 {
        return true;
    }
    matches!(day.day(), 1 | 8 | 15 | 22) && (days <= 120 || day.day() == 1)
}

/// A half-ring gauge of a share (0 to 1), coloured by how close it is to full.
pub(super) fn gauge(out: &mut dyn Write, label: &str, share: Option<Money>) -> io::Result<()> {
    const R: f64 = 64.0;
    const CX: f64 = 80.0;
    const CY: f64 = 82.0;
    let value = share.map(|s| s.to_f64().clamp(0.0, 1.0));
    let colour = match value {
        Some(v) if v >= 0.9 => "#2e7d32",
        Some(v) if v >= 0.7 => "#b26a00",
        _ => "#c62828",
    };
    let data = share.map_or_else(String::new, |s| s.to_string());
    writeln!(
        out,
        r#"<figure class="gauge" data-key="{}" data-value="{data}"><svg viewBox="0 0 160 96" role="img" aria-label="{}">"#,
        esc(label),
        esc(label)
    )?;
    writeln!(
        out,
        r##"<path d="M {} {CY} A {R} {R} 0 0 1 {} {CY}" fill="none" stroke="#e4e8ef" stroke-width="14"/>"##,
        CX - R,
        CX + R
    )?;
    if let Some(v) = value.filter(|v| *v > 0.0) {
        let angle = std::f64::consts::PI * v;
        let (ex, ey) = (CX - R * angle.cos(), CY - R * angle.sin());
        writeln!(
            out,
            r#"<path class="arc" d="M {} {CY} A {R} {R} 0 0 1 {ex:.3} {ey:.3}" fill="none" stroke="{colour}" stroke-width="14"/>"#,
            CX - R
        )?;
    }
    let text = share.map_or_else(|| "—".to_string(), |s| format!("{:.1}%", s.to_f64() * 100.0));
    writeln!(
        out,
        r#"<text class="pct" x="{CX}" y="{}" text-anchor="middle">{text}</text></svg><figcaption>{}</figcaption></figure>"#,
        CY - 8.0,
        esc(label)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_step(4000.0), 1000.0);
        assert_eq!(nice_step(5000.0), 2000.0);
        assert_eq!(nice_step(9.0), 5.0);
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
    }

    #[test]
    fn axis_labels_are_short() {
        assert_eq!(axis_label(0.0), "0");
        assert_eq!(axis_label(950.0), "950");
        assert_eq!(axis_label(12_000.0), "12k");
        assert_eq!(axis_label(1_500.0), "1.5k");
        assert_eq!(axis_label(-2_000_000.0), "-2M");
    }
}
