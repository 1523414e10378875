//! One HTTP(S) GET for the audit commands (`audit headers`, a JWKS URL):
//! no redirects followed, a timeout, a capped body. HTTP/1.1 over rustls
//! with the system's roots, an extra CA file, or (only when asked for by
//! name) no certificate verification at all.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;

/// Whole-request timeout.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest body read (a JWKS is a few KiB).
pub const MAX_BODY: usize = 1 << 20;

/// How the server's certificate is checked.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Extra PEM CA certificates (e.g. a development certificate).
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate: only for a development gateway.
    pub insecure_skip_verify: bool,
}

/// A fetched response.
#[derive(Debug)]
pub struct Fetched {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body, at most [`MAX_BODY`] bytes; empty when not asked for.
    pub body: Bytes,
}

/// Why a fetch failed; the message names the URL's problem.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not an absolute http(s) URL.
    #[error("not an http:// or https:// URL with a host: {0}")]
    BadUrl(String),
    /// Connecting, TLS or HTTP failed.
    #[error("{0}")]
    Io(String),
    /// No answer within [`TIMEOUT`].
    #[error("no response within {} s", TIMEOUT.as_secs())]
    Timeout,
}

/// What to read of the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Status and headers only: a page of any size can be judged.
    Head,
    /// The body too, at most [`MAX_BODY`] bytes (a larger one is an error).
    Body,
}

/// `GET url` without following redirects.
pub async fn get(url: &str, trust: &Trust, read: Read) -> Result<Fetched, FetchError> {
    let uri: Uri = url
        .parse()
        .map_err(|e| FetchError::BadUrl(format!("{url}: {e}")))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(FetchError::BadUrl(url.to_owned())),
    };
    let host = uri
        .host()
        .ok_or_else(|| FetchError::BadUrl(url.to_owned()))?
        .to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let work = async {
        let tcp = TcpStream::connect((host.trim_matches(['[', ']']), port))
            .await
            .map_err(|e| FetchError::Io(format!("connect {host}:{port}: {e}")))?;
        if https {
            let tls = tls_connect(tcp, &host, trust).await?;
            request(TokioIo::new(tls), &uri, &host, read).await
        } else {
            request(TokioIo::new(tcp), &uri, &host, read).await
        }
    };
    tokio::time::timeout(TIMEOUT, work)
        .await
        .map_err(|_| FetchError::Timeout)?
}

async fn tls_connect(
    tcp: TcpStream,
    host: &str,
    trust: &Trust,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, FetchError> {
    let config = client_config(trust)?;
    let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
        .map_err(|e| FetchError::BadUrl(format!("{host}: {e}")))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| FetchError::Io(format!("TLS with {host}: {e}")))
}

/// Sends the GET on an established connection and reads the response.
async fn request<I>(io: I, uri: &Uri, host: &str, read: Read) -> Result<Fetched, FetchError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let io_err = |e: hyper::Error| FetchError::Io(e.to_string());
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(io_err)?;
    tokio::spawn(conn);
    let authority = uri.authority().map_or(host, |a| a.as_str());
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let req = Request::get(path)
        .header(http::header::HOST, authority)
        .header(http::header::USER_AGENT, "portcullis-audit")
        .body(Empty::<Bytes>::new())
        .map_err(|e| FetchError::BadUrl(e.to_string()))?;
    let resp = sender.send_request(req).await.map_err(io_err)?;
    let (parts, body) = resp.into_parts();
    let body = match read {
        Read::Head => Bytes::new(),
        Read::Body => Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| FetchError::Io(format!("reading the body: {e}")))?
            .to_bytes(),
    };
    Ok(Fetched {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

fn client_config(trust: &Trust) -> Result<ClientConfig, FetchError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| FetchError::Io(e.to_string()))?;
    if trust.insecure_skip_verify {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(InsecureAcceptAnyCert::new(provider)))
            .with_no_client_auth());
    }
    let mut roots = RootCertStore::empty();
    // Unreadable system stores are skipped: an explicit CA file may suffice.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = &trust.ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| FetchError::Io(format!("--cacert {}: {e}", path.display())))?;
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| FetchError::Io(format!("--cacert {}: {e}", path.display())))?;
        }
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// Accepts any server certificate (handshake signatures are still checked).
/// Only `--insecure` selects it, for a gateway with a self-signed dev cert,
/// and the in-memory TLS version probe of `portcullis audit`.
#[derive(Debug)]
pub(crate) struct InsecureAcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl InsecureAcceptAnyCert {
    /// Checks handshake signatures with `provider`'s algorithms.
    pub(crate) fn new(provider: Arc<rustls::crypto::CryptoProvider>) -> Self {
        Self(provider)
    }
}

impl ServerCertVerifier for InsecureAcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
