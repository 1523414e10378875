//! `portcullis health [--url URL]`: a probe for Docker HEALTHCHECK and
//! Kubernetes that needs no shell or curl. Exit 0 when ready, 1 otherwise.

use super::out::outln;
use std::process::ExitCode;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Default probe target: the admin listener's readiness endpoint.
pub const DEFAULT_URL: &str = "http://127.0.0.1:9090/health/ready";

/// Fetches `url` and reports the outcome.
pub async fn run(url: &str) -> anyhow::Result<ExitCode> {
    let uri: http::Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => {
            eprintln!("portcullis health: --url `{url}`: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let fetch = async {
        let resp = client.get(uri).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok::<_, anyhow::Error>((status, body))
    };
    match tokio::time::timeout(Duration::from_secs(5), fetch).await {
        Ok(Ok((status, body))) => {
            outln!("{}", String::from_utf8_lossy(&body))?;
            Ok(if status.is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Ok(Err(e)) => {
            eprintln!("portcullis health: {url}: {e}");
            Ok(ExitCode::from(1))
        }
        Err(_) => {
            eprintln!("portcullis health: {url}: timed out");
            Ok(ExitCode::from(1))
        }
    }
}
