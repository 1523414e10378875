//! The one body type that flows through the gateway: streamed request and
//! response bodies as well as the gateway's own small answers.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full, combinators::BoxBody};

/// Errors carried by bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed, streamed body.
pub type Body = BoxBody<Bytes, BoxError>;

/// A body holding the given bytes.
pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// A request body whose client stopped sending for longer than allowed.
#[derive(Debug, thiserror::Error)]
#[error("the request body stalled")]
pub struct BodyStalled;

/// A body that fails with [`BodyStalled`] when no data arrives for
/// `timeout`, so a client cannot hold a connection and an upstream request
/// open by trickling its body.
#[derive(Debug)]
pub struct Patient<B> {
    inner: B,
    timeout: std::time::Duration,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl<B> Patient<B> {
    /// Wraps `inner`; the clock starts now and restarts on every frame.
    pub fn new(inner: B, timeout: std::time::Duration) -> Self {
        Self {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl<B> hyper::body::Body for Patient<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
        use std::future::Future;
        use std::task::Poll;
        match std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = tokio::time::Instant::now() + self.timeout;
                self.sleep.as_mut().reset(deadline);
                Poll::Ready(frame.map(|r| r.map_err(Into::into)))
            }
            Poll::Pending if self.sleep.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Some(Err(Box::new(BodyStalled))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Why a small request body (a form, a login) could not be read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CappedError {
    /// More bytes than the cap, announced by `Content-Length` or sent
    /// (chunked): the answer is 413.
    TooLarge,
    /// The body stalled, broke off or was malformed.
    Incomplete,
}

/// Reads a whole body of at most `cap` bytes. A `Content-Length` above the
/// cap is refused before anything is read, so the client gets its 413 at
/// once instead of after sending (or stalling on) the body.
pub async fn read_capped<B>(
    headers: &http::HeaderMap,
    body: B,
    cap: usize,
    patience: std::time::Duration,
) -> Result<Bytes, CappedError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(CappedError::TooLarge);
    }
    match http_body_util::Limited::new(Patient::new(body, patience), cap)
        .collect()
        .await
    {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(CappedError::TooLarge),
        Err(_) => Err(CappedError::Incomplete),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that never sends fails with `BodyStalled` after the timeout;
    /// one that sends in time passes through.
    #[tokio::test]
    async fn stalled_body_fails() {
        let stream = futures_util::stream::pending::<Result<hyper::body::Frame<Bytes>, BoxError>>();
        let never = http_body_util::StreamBody::new(stream);
        let err = Patient::new(never, std::time::Duration::from_millis(50))
            .collect()
            .await
            .unwrap_err();
        assert!(err.is::<BodyStalled>());
        let ok = Patient::new(
            Full::new(Bytes::from_static(b"hi")),
            std::time::Duration::from_secs(5),
        );
        assert_eq!(ok.collect().await.unwrap().to_bytes(), "hi");
    }

    /// A declared length over the cap is refused without reading (the body
    /// here never arrives); a sent body over it is too; one within passes.
    #[tokio::test]
    async fn capped_reads() {
        let patience = std::time::Duration::from_secs(5);
        let mut declared = http::HeaderMap::new();
        declared.insert(http::header::CONTENT_LENGTH, "17".parse().unwrap());
        let stream = futures_util::stream::pending::<Result<hyper::body::Frame<Bytes>, BoxError>>();
        let never = http_body_util::StreamBody::new(stream);
        let got = read_capped(&declared, never, 16, patience).await;
        assert_eq!(got, Err(CappedError::TooLarge));
        let none = http::HeaderMap::new();
        let big = Full::new(Bytes::from(vec![b'x'; 17]));
        let got = read_capped(&none, big, 16, patience).await;
        assert_eq!(got, Err(CappedError::TooLarge));
        let fits = Full::new(Bytes::from(vec![b'x'; 16]));
        assert_eq!(
            read_capped(&none, fits, 16, patience).await.unwrap().len(),
            16
        );
    }
}
