//! Raw HTTP/1.1 over any byte stream: write exactly the bytes a test wants
//! (malformed framing, odd paths, slow clients) and read responses back
//! without a client library normalizing anything on the way.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How long any single read may take before a test gives up.
pub const READ_LIMIT: Duration = Duration::from_secs(20);

/// One parsed response.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lowercased) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The decoded body (chunked framing removed).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

/// What a connection did after a response.
#[derive(Debug, PartialEq, Eq)]
pub enum After {
    /// The peer closed (EOF or reset).
    Closed,
    /// More bytes arrived.
    Data(String),
    /// Nothing happened within the wait.
    Open,
}

/// A connection with a read buffer.
pub struct RawConn<S = tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    stream: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> RawConn<S> {
    /// Wraps a connected stream.
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes all of `bytes` and flushes.
    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Sends a request and reads one response, panicking on failure.
    pub async fn roundtrip(&mut self, request: &[u8]) -> RawResponse {
        self.send(request).await.expect("send request");
        self.response()
            .await
            .expect("read response")
            .expect("a response before the connection closed")
    }

    /// Reads one response; `None` if the peer closed before sending a byte.
    pub async fn response(&mut self) -> std::io::Result<Option<RawResponse>> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if self.fill().await? == 0 {
                return match self.buf.is_empty() {
                    true => Ok(None),
                    false => Err(eof("connection closed inside a response head")),
                };
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| eof("malformed status line"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut resp = RawResponse {
            status,
            headers,
            body: Vec::new(),
        };
        resp.body = self.body(&resp).await?;
        Ok(Some(resp))
    }

    async fn body(&mut self, resp: &RawResponse) -> std::io::Result<Vec<u8>> {
        if matches!(resp.status, 100..=199 | 204 | 304) {
            return Ok(Vec::new());
        }
        if resp
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            return self.chunked().await;
        }
        match resp.header("content-length") {
            Some(n) => {
                let n: usize = n.parse().map_err(|_| eof("bad content-length"))?;
                self.exactly(n).await
            }
            None => {
                while self.fill().await? > 0 {}
                Ok(std::mem::take(&mut self.buf))
            }
        }
    }

    async fn chunked(&mut self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let line = self.line().await?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16).map_err(|_| eof("bad chunk size"))?;
            if size == 0 {
                while !self.line().await?.is_empty() {}
                return Ok(out);
            }
            out.extend(self.exactly(size).await?);
            self.line().await?;
        }
    }

    async fn line(&mut self) -> std::io::Result<String> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return Ok(line);
            }
            if self.fill().await? == 0 {
                return Err(eof("connection closed inside a chunked body"));
            }
        }
    }

    async fn exactly(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if self.fill().await? == 0 {
                return Err(eof("connection closed inside a body"));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads more bytes into the buffer; 0 at EOF. A reset counts as EOF.
    async fn fill(&mut self) -> std::io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let read = tokio::time::timeout(READ_LIMIT, self.stream.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "read timed out"))?;
        match read {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
            Err(e) if is_close(&e) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Waits up to `within` to see whether the peer closes, sends more, or
    /// neither. Buffered bytes count as data.
    pub async fn after(&mut self, within: Duration) -> After {
        if !self.buf.is_empty() {
            return After::Data(String::from_utf8_lossy(&self.buf).into_owned());
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(within, self.stream.read(&mut chunk)).await {
            Err(_) => After::Open,
            Ok(Ok(0)) => After::Closed,
            Ok(Ok(n)) => After::Data(String::from_utf8_lossy(&chunk[..n]).into_owned()),
            Ok(Err(e)) if is_close(&e) => After::Closed,
            Ok(Err(e)) => panic!("read failed: {e}"),
        }
    }

    /// The underlying stream.
    pub fn stream(&mut self) -> &mut S {
        &mut self.stream
    }
}

/// Errors that mean the peer went away.
fn is_close(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe
    )
}

fn eof(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_string())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `GET {target} HTTP/1.1` with the extra header lines (each without CRLF),
/// and `Host: localhost` unless they hold a `Host`.
pub fn get(target: &str, headers: &[&str]) -> Vec<u8> {
    let mut req = format!("GET {target} HTTP/1.1\r\n");
    if !headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("host:"))
    {
        req.push_str("Host: localhost\r\n");
    }
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req.into_bytes()
}
