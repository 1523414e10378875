//! WebSocket (HTTP/1.1 `Upgrade`) tunnels: once the upstream answers 101,
//! bytes are copied both ways until either side closes, the gateway stops,
//! or the session that opened the tunnel is revoked.

use std::time::Duration;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use crate::session::revocations::SessionWatch;

/// How long each side gets to take a clean close when the gateway ends a
/// tunnel.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Joins the client's and the upstream's upgraded connections. The tunnel
/// ends when `shutdown` is cancelled or, for an authenticated tunnel, when
/// `session` is revoked; both sides are then shut down.
pub fn tunnel(
    client: OnUpgrade,
    upstream: OnUpgrade,
    shutdown: CancellationToken,
    session: Option<SessionWatch>,
) {
    tokio::spawn(async move {
        let (client, upstream) = match tokio::try_join!(client, upstream) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::debug!(error = %e, "upgrade failed");
                return;
            }
        };
        let mut client = TokioIo::new(client);
        let mut upstream = TokioIo::new(upstream);
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => tracing::debug!("tunnel closed: gateway stopping"),
            _ = revoked(session.as_ref()) => {
                let sid = session.as_ref().map(SessionWatch::session_id).unwrap_or("");
                tracing::info!(event = "auth.session.tunnel_closed", sid, "tunnel closed: session revoked");
            }
            res = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {
                if let Err(e) = res {
                    tracing::debug!(error = %e, "tunnel closed with error");
                }
                return;
            }
        }
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, client.shutdown()).await;
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, upstream.shutdown()).await;
    });
}

/// Completes when the watched session is revoked; never without a watch.
async fn revoked(session: Option<&SessionWatch>) {
    match session {
        Some(watch) => watch.revoked().await,
        None => std::future::pending().await,
    }
}
