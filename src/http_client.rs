//! One HTTP/1.1 client over the hyper stack kube already builds (no second HTTP client): plain
//! for `http://`, rustls with the ring provider and the system's root certificates for
//! `https://` (`SSL_CERT_FILE` adds one). The Prometheus reader and `notify` send through it.

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub enum HttpClient {
    Plain(Client<HttpConnector, Full<Bytes>>),
    Tls(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
}

impl HttpClient {
    /// A client for `url`'s scheme; the error says why https could not be set up.
    pub fn for_url(url: &str) -> Result<HttpClient, String> {
        let builder = Client::builder(TokioExecutor::new());
        if url.starts_with("https://") {
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
                .map_err(|e| format!("no root certificates for https ({e})"))?
                .https_only()
                .enable_http1()
                .build();
            Ok(HttpClient::Tls(builder.build(connector)))
        } else {
            Ok(HttpClient::Plain(builder.build(HttpConnector::new())))
        }
    }

    /// Sends one request; the error is hyper's, for the caller to word.
    pub async fn request(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<http::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error> {
        match self {
            HttpClient::Plain(c) => c.request(request).await,
            HttpClient::Tls(c) => c.request(request).await,
        }
    }
}
