//! Which TLS versions the real rustls server configuration negotiates.
//! rustls keeps a configuration's version list private, so a client limited
//! to one version handshakes with it in memory.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{
    ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection,
    SupportedProtocolVersion,
};

use crate::audit::fetch::InsecureAcceptAnyCert;

/// Flights exchanged before giving up (a TLS 1.2 handshake needs 2 round trips).
const MAX_FLIGHTS: usize = 8;

/// Whether `server` completes a handshake with a client that offers only
/// `version`. Errors are probe failures (not a refusal by the server).
pub fn accepts(
    server: &Arc<ServerConfig>,
    version: &'static SupportedProtocolVersion,
) -> Result<bool, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let client = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[version])
        .map_err(|e| e.to_string())?
        .dangerous()
        // Only the version matters here; the certificate has its own checks.
        .with_custom_certificate_verifier(Arc::new(InsecureAcceptAnyCert::new(provider)))
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut client = Connection::Client(
        ClientConnection::new(Arc::new(client), name).map_err(|e| e.to_string())?,
    );
    let mut server =
        Connection::Server(ServerConnection::new(Arc::clone(server)).map_err(|e| e.to_string())?);
    for _ in 0..MAX_FLIGHTS {
        if !pass(&mut client, &mut server)? || !pass(&mut server, &mut client)? {
            return Ok(false);
        }
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Moves everything `from` wants to send into `to`; false when `to`
/// refuses it (a failed handshake).
fn pass(from: &mut Connection, to: &mut Connection) -> Result<bool, String> {
    let mut bytes = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut bytes).map_err(|e| e.to_string())?;
    }
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        to.read_tls(&mut rest).map_err(|e| e.to_string())?;
        if to.process_new_packets().is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{TlsConfig, TlsVersion};

    fn server(min_version: TlsVersion) -> (tempfile::TempDir, Arc<ServerConfig>) {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        crate::tls::dev_cert::write(&cert, &key, &["localhost".into()]).unwrap();
        let cfg = TlsConfig {
            cert,
            key,
            min_version,
            generate_dev_cert: false,
        };
        let server = crate::tls::server_config(&cfg).unwrap();
        (dir, server)
    }

    /// TLS 1.2 is negotiated only when the minimum allows it; 1.3 always.
    #[test]
    fn probes_each_version() {
        let (_d, both) = server(TlsVersion::Tls12);
        assert_eq!(accepts(&both, &rustls::version::TLS13), Ok(true));
        assert_eq!(accepts(&both, &rustls::version::TLS12), Ok(true));
        let (_d, only13) = server(TlsVersion::Tls13);
        assert_eq!(accepts(&only13, &rustls::version::TLS13), Ok(true));
        assert_eq!(accepts(&only13, &rustls::version::TLS12), Ok(false));
    }
}
