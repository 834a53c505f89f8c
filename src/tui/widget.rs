//! Small building blocks shared by the views: safe text, money, truncation, the data table.

pub mod table;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::model::{Currency, Money};

/// Data text made safe for the terminal: control characters and escape sequences never reach
/// it (a tag value must not retitle the window or recolour the screen).
pub fn safe(text: &str) -> String {
    crate::export::plain_text(text).into_owned()
}

/// Truncates to `width` terminal columns (wide characters count two), ending with `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `1,234.56 USD`, or `1,234.56` when the currency is unknown.
pub fn money(amount: Money, currency: &Currency) -> String {
    match currency.code() {
        Some(code) => format!("{} {code}", amount.display_2dp()),
        None => amount.display_2dp(),
    }
}

/// `12.3%` from a fraction; `—` when unknown.
pub fn percent(fraction: Option<f64>) -> String {
    fraction.map_or_else(|| "—".to_string(), |f| format!("{:.1}%", f * 100.0))
}

/// Millicores as cores: `1.5`, `0.25`.
pub fn cores(millicores: u64) -> String {
    let text = format!("{:.2}", millicores as f64 / 1000.0);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Bytes as GiB with one decimal.
pub fn gib(bytes: u64) -> String {
    format!("{:.1}Gi", bytes as f64 / (1u64 << 30) as f64)
}

/// The part of an ARN after the account (`db:billing-prod`), since service, region and account
/// are shown apart and ARNs otherwise all look alike when cut to fit; other ids as given.
pub fn short_id(id: &str) -> &str {
    id.strip_prefix("arn:")
        .and_then(|rest| rest.splitn(5, ':').nth(4))
        .filter(|resource| !resource.is_empty())
        .unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_terminal_columns() {
        assert_eq!(truncate("hello", 10), "hello");
        assert_eq!(truncate("hello world", 6), "hello…");
        assert_eq!(truncate("日本語テキスト", 5), "日本…");
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn safe_text_drops_escape_sequences() {
        assert_eq!(safe("a\u{1b}]0;owned\u{7}b"), "a ]0;owned b");
    }
}
