//! POSTs instant queries to `/api/v1/query` over the hyper stack kube already uses (rustls
//! with the ring provider, the system's root certificates; `SSL_CERT_FILE` adds one). A form
//! body, not a URL query, because pod-name regexes get long.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};

use crate::http_client::HttpClient;

/// The largest answer read; a bigger one is refused rather than held in memory.
const MAX_BODY: usize = 64 << 20;

/// A Prometheus server: its base URL and, when set, the bearer token to send.
pub struct Endpoint {
    /// Without a trailing `/`, e.g. `https://prometheus.example.com/prom`.
    base: String,
    token: Option<String>,
    timeout: Duration,
    transport: HttpClient,
}

impl std::fmt::Debug for Endpoint {
    // The token never appears in logs or messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Whether `url` is an http(s) URL with a host; the message says what is wrong.
pub fn check_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{url:?} is not a URL ({e})"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(format!("{url:?} is not an http:// or https:// URL")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{url:?} has no host"));
    }
    if uri.query().is_some() {
        return Err(format!("{url:?}: give the server's base URL, without a query"));
    }
    Ok(())
}

impl Endpoint {
    /// A client for `url`; fails only on a bad URL or, for https, when no root certificates
    /// could be loaded.
    pub fn new(url: &str, token: Option<String>, timeout: Duration) -> Result<Endpoint, String> {
        check_url(url)?;
        let base = url.trim_end_matches('/').to_string();
        let transport = HttpClient::for_url(&base)?;
        Ok(Endpoint { base, token, timeout, transport })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The query endpoint's URL, for messages.
    pub fn query_url(&self) -> String {
        format!("{}/api/v1/query", self.base)
    }

    /// Runs one instant query (at `time`, unix seconds, else the server's now) and returns the
    /// answer's body. Errors say what failed: the connection, the timeout or the HTTP status
    /// with Prometheus's own error text.
    pub async fn query(&self, promql: &str, time: Option<i64>) -> Result<Vec<u8>, String> {
        let mut form = format!("query={}", crate::source::percent_encode(promql));
        if let Some(t) = time {
            form.push_str(&format!("&time={t}"));
        }
        let mut request = http::Request::post(self.query_url())
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(http::header::ACCEPT, "application/json");
        if let Some(token) = &self.token {
            request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Full::new(Bytes::from(form))).map_err(|e| e.to_string())?;
        let exchange = async {
            let response =
                self.transport.request(request).await.map_err(|e| crate::error_chain(&e))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("no answer within {} s", self.timeout.as_secs_f64()))??;
        if !status.is_success() {
            let detail = super::response::error_text(&body).unwrap_or_else(|| {
                let text = String::from_utf8_lossy(&body);
                let text = text.trim();
                text.chars().take(200).collect()
            });
            return Err(if detail.is_empty() {
                format!("HTTP {}", status.as_u16())
            } else {
                format!("HTTP {}: {detail}", status.as_u16())
            });
        }
        Ok(body.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(check_url("http://127.0.0.1:9090").is_ok());
        assert!(check_url("https://prom.example.com/prometheus/").is_ok());
        assert!(check_url("prom:9090").unwrap_err().contains("not an http:// or https:// URL"));
        assert!(check_url("ftp://x").unwrap_err().contains("not an http"));
        assert!(check_url("http://x/?a=b").unwrap_err().contains("without a query"));
        assert!(check_url("").is_err());
    }

    #[test]
    fn the_token_stays_out_of_debug_output() {
        let e = Endpoint::new("http://127.0.0.1:1/", Some("s3cret".into()), Duration::from_secs(1))
            .unwrap();
        let text = format!("{e:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert_eq!(e.query_url(), "http://127.0.0.1:1/api/v1/query");
    }

    #[test]
    fn forms_are_percent_encoded() {
        assert_eq!(
            crate::source::percent_encode("a{b=\"c\"}[5m] |"),
            "a%7Bb%3D%22c%22%7D%5B5m%5D%20%7C"
        );
    }
}
