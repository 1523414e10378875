//! WebSocket (HTTP/1.1 `Upgrade`) tunnels: once the upstream answers 101,
//! bytes are copied both ways until either side closes or the session is
//! revoked.

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_util::sync::CancellationToken;

/// Joins the client's and the upstream's upgraded connections.
pub fn tunnel(client: OnUpgrade, upstream: OnUpgrade, cancel: CancellationToken) {
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
            res = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {
                if let Err(e) = res {
                    tracing::debug!(error = %e, "tunnel closed with error");
                }
            }
            _ = cancel.cancelled() => tracing::debug!("tunnel closed: session ended"),
        }
    });
}
