//! Where a digest goes: a Slack incoming webhook or a generic JSON webhook, and the one way its
//! URL is ever shown ([`redact`]): webhook URLs carry their secret in the path (Slack's
//! `/services/T…/B…/SECRET`) or the query, so no message, log line or file holds more than
//! `scheme://host[:port]/…`.

use std::fmt;

/// A URL from the command line, kept out of `Debug` output (a webhook's URL is its secret).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl std::str::FromStr for SecretUrl {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SecretUrl(s.to_string()))
    }
}

/// What the body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TargetKind {
    /// A Slack incoming webhook: a Block Kit message.
    Slack,
    /// Any HTTP endpoint: the digest's JSON.
    Webhook,
}

impl TargetKind {
    /// For messages: `Slack webhook`, `webhook`.
    pub fn label(self) -> &'static str {
        match self {
            TargetKind::Slack => "Slack webhook",
            TargetKind::Webhook => "webhook",
        }
    }

    /// For file names.
    pub fn slug(self) -> &'static str {
        match self {
            TargetKind::Slack => "slack",
            TargetKind::Webhook => "webhook",
        }
    }
}

/// A checked destination. Its `Debug` and `Display` show only the redacted URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: TargetKind,
    url: String,
    redacted: String,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target").field("kind", &self.kind).field("url", &self.redacted).finish()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.label(), self.redacted)
    }
}

impl Target {
    /// A destination for `url`, which must be http(s) with a host. The error never quotes the
    /// URL, only its redacted form.
    pub fn new(kind: TargetKind, url: &str) -> Result<Target, String> {
        let url = url.trim();
        let redacted = redact(url);
        let uri: http::Uri = url.parse().map_err(|_| format!("{redacted} is not a URL"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(format!("{redacted} is not an http:// or https:// URL"));
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(format!("{redacted} has no host"));
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            // hyper sends no credentials from the authority; a URL with them would fail in a
            // way that looks like the server's fault.
            return Err(format!("{redacted}: credentials in the URL are not supported"));
        }
        Ok(Target { kind, url: url.to_string(), redacted })
    }

    /// The full URL, for the request only.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// `scheme://host[:port]/…`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// Removes the URL's secret parts from `text` (an error's chain, a server's answer), in
    /// case a library or the server quoted them.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(&self.url, &self.redacted);
        if let Ok(uri) = self.url.parse::<http::Uri>()
            && let Some(pq) = uri.path_and_query()
            && pq.as_str().len() > 1
        {
            out = out.replace(pq.as_str(), "/…");
            // Each path segment on its own as well: a server may echo just the token.
            for part in pq.as_str().split(['/', '?', '&', '=']).filter(|p| p.len() >= 6) {
                out = out.replace(part, "…");
            }
        }
        out
    }
}

/// `url` as messages may show it: scheme, host and port, then `/…` when it had a path or
/// query (`https://hooks.slack.com/…`). Credentials before the host are dropped. Text that is
/// not a URL becomes `<not a URL>` rather than being echoed.
pub fn redact(url: &str) -> String {
    let Ok(uri) = url.trim().parse::<http::Uri>() else {
        return "<not a URL>".to_string();
    };
    let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return "<not a URL>".to_string();
    };
    let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
    let rest = match uri.path_and_query().map(|pq| pq.as_str()) {
        None | Some("" | "/") => "/",
        Some(_) => "/…",
    };
    format!("{scheme}://{host}{port}{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_keeps_scheme_host_and_port_only() {
        assert_eq!(
            redact("https://hooks.slack.com/services/T000/B000/SECRETxyz"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(redact("http://127.0.0.1:8080/hook?token=abc"), "http://127.0.0.1:8080/…");
        assert_eq!(redact("http://example.com"), "http://example.com/");
        assert_eq!(redact("http://example.com/"), "http://example.com/");
        assert_eq!(redact("https://user:pass@example.com:444/x"), "https://example.com:444/…");
        assert_eq!(redact("http://[::1]:9/a"), "http://[::1]:9/…");
        assert_eq!(redact("hooks.slack.com/services/SECRET"), "<not a URL>");
        assert_eq!(redact("not a url at all SECRET"), "<not a URL>");
        assert_eq!(redact(""), "<not a URL>");
    }

    #[test]
    fn targets_check_the_url_without_quoting_it() {
        let t = Target::new(TargetKind::Slack, " https://hooks.slack.com/services/T/B/SECRETxyz ")
            .unwrap();
        assert_eq!(t.to_string(), "Slack webhook https://hooks.slack.com/…");
        assert!(!format!("{t:?}").contains("SECRETxyz"));
        assert_eq!(t.url(), "https://hooks.slack.com/services/T/B/SECRETxyz");
        for bad in [
            "ftp://host/SECRETxyz",
            "https:///SECRETxyz",
            "SECRETxyz",
            "https://me:SECRETxyz@host/x",
        ] {
            let err = Target::new(TargetKind::Webhook, bad).unwrap_err();
            assert!(!err.contains("SECRETxyz"), "{bad}: {err}");
        }
    }

    #[test]
    fn scrub_removes_the_path_and_its_segments() {
        let t = Target::new(TargetKind::Slack, "http://127.0.0.1:9/services/T000/B000/SECRETxyz")
            .unwrap();
        assert_eq!(
            t.scrub("POST http://127.0.0.1:9/services/T000/B000/SECRETxyz failed"),
            "POST http://127.0.0.1:9/… failed"
        );
        assert_eq!(t.scrub("no_team SECRETxyz"), "no_team …");
        assert_eq!(t.scrub("invalid_payload"), "invalid_payload");
    }
}
