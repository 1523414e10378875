//! `portcullis demo`: everything generated, the bundled example app on
//! loopback, the gateway over HTTPS in front of it.

use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::config::{self, raw::RawConfig, raw::RawRoute};

/// Options of `portcullis demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// HTTPS listen address.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Protect this app instead of the bundled example app.
    #[arg(long)]
    pub upstream: Option<String>,
    /// Keep generated keys, certificates and data here (default: a new
    /// temporary directory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Password of the `demo` user (default: random, printed).
    #[arg(long, env = "PORTCULLIS_DEMO_PASSWORD")]
    pub password: Option<String>,
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => {
            std::env::temp_dir().join(format!("portcullis-demo-{:016x}", rand::random::<u64>()))
        }
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&data_dir)?;
    let shutdown = CancellationToken::new();
    let upstream = match &args.upstream {
        Some(u) => u.clone(),
        None => {
            let app = crate::example_app::bind("127.0.0.1:0".parse()?).await?;
            let url = format!("http://{}", app.local_addr());
            tokio::spawn(app.serve(shutdown.child_token()));
            url
        }
    };
    let password = args.password.clone().unwrap_or_else(random_password);
    let users_file = data_dir.join("users.toml");
    write_demo_user(&users_file, &password)?;
    let raw = demo_config(&args, &data_dir, &upstream);
    let config =
        config::from_raw(raw, &data_dir).map_err(|e| anyhow::anyhow!("demo configuration: {e}"))?;
    crate::telemetry::init(&config.log);
    crate::cli::spawn_signal_handler(shutdown.clone());
    let (tx, rx) = oneshot::channel();
    let server = tokio::spawn(crate::server::run::run(
        Arc::new(config),
        crate::server::reload::ConfigSource::Fixed,
        shutdown,
        Some(tx),
    ));
    if let Ok(bound) = rx.await {
        // A banner nobody reads (stdout closed) does not stop the demo.
        let _ = super::out::outln!(
            "portcullis demo: data in {}\nupstream: {upstream}\nsign in as: demo / {password}\nhttps://localhost:{}/",
            data_dir.display(),
            bound.https.port()
        );
    }
    let result = server.await;
    if args.data_dir.is_none() {
        // The temporary directory holds keys and the TLS key: remove it.
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    result??;
    Ok(ExitCode::SUCCESS)
}

fn demo_config(args: &DemoArgs, data_dir: &Path, upstream: &str) -> RawConfig {
    let mut raw = RawConfig::default();
    raw.server.listen = args.listen.to_string();
    raw.server.data_dir = data_dir.display().to_string();
    raw.tls.cert = data_dir.join("certs/cert.pem").display().to_string();
    raw.tls.key = data_dir.join("certs/key.pem").display().to_string();
    raw.tls.generate_dev_cert = true;
    raw.auth.users_file = data_dir.join("users.toml").display().to_string();
    raw.log.format = "pretty".into();
    raw.admin.listen = None;
    raw.routes = vec![RawRoute {
        prefix: "/".into(),
        upstream: Some(upstream.to_string()),
        policy: Some("authenticated".into()),
        ..RawRoute::default()
    }];
    raw
}

/// 16 random bytes, base64url: a password that passes the policy.
fn random_password() -> String {
    crate::auth::b64::encode(rand::random::<[u8; 16]>())
}

/// Creates the `demo` user, or resets its password when it exists.
fn write_demo_user(path: &Path, password: &str) -> anyhow::Result<()> {
    use crate::auth::{password, users};
    if let Err(e) = password::check_policy(password) {
        anyhow::bail!("--password: {e}");
    }
    let exists = path.exists() && users::Users::load(path).is_ok_and(|u| u.get("demo").is_some());
    if exists {
        users::set_password(path, "demo", password)?;
    } else {
        let hash = password::hash_password(password)?;
        let user = users::User::new(
            "demo",
            Some("demo@example.com".into()),
            vec!["user".into()],
            hash,
        )?;
        users::add_user(path, &user)?;
    }
    Ok(())
}
