//! `portcullis users unlock NAME`: clears an account's lockout through the
//! running gateway's admin listener (the embedded store belongs to the
//! running process, so the CLI does not open it itself).

use super::out::outln;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// User administration.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Clear the failed-login lockout of an account.
    Unlock {
        /// The username.
        name: String,
        /// The gateway's admin listener.
        #[arg(long, default_value = "http://127.0.0.1:9090")]
        admin_url: String,
    },
}

/// Runs a user action.
pub async fn run(cmd: UsersCommand) -> anyhow::Result<ExitCode> {
    let UsersCommand::Unlock { name, admin_url } = cmd;
    let url = format!(
        "{}/admin/users/{name}/unlock",
        admin_url.trim_end_matches('/')
    );
    let uri: http::Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => {
            eprintln!("portcullis users unlock: --admin-url `{admin_url}`: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let req = http::Request::post(uri).body(Empty::<bytes::Bytes>::new())?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let sent = tokio::time::timeout(Duration::from_secs(5), async {
        let resp = client.request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok::<_, anyhow::Error>((status, body))
    })
    .await;
    match sent {
        Ok(Ok((status, body))) if status.is_success() => {
            outln!("unlocked {name}")?;
            let _ = body;
            Ok(ExitCode::SUCCESS)
        }
        Ok(Ok((status, body))) => {
            eprintln!(
                "portcullis users unlock: {status}: {}",
                String::from_utf8_lossy(&body)
            );
            Ok(ExitCode::from(1))
        }
        Ok(Err(e)) => {
            eprintln!(
                "portcullis users unlock: {url}: {e} (is the gateway running with [admin] listen?)"
            );
            Ok(ExitCode::from(1))
        }
        Err(_) => {
            eprintln!("portcullis users unlock: {url}: timed out");
            Ok(ExitCode::from(1))
        }
    }
}
