//! Request framing as the client wrote it.
//!
//! hyper resolves a request carrying both `Content-Length` and
//! `Transfer-Encoding` the way RFC 9112 section 6.3 allows: it drops the
//! length, reads the body as chunked and closes the connection afterwards.
//! The gateway then never sees the conflict, yet such a request is the
//! signature of request smuggling and must be refused (400, closed).
//!
//! [`Sniffer`] reads the same bytes hyper reads, follows HTTP/1.1 framing
//! (heads, fixed-length and chunked bodies, pipelining) and records, for each
//! request head in order, whether it carried both headers. The server pops
//! one mark per request ([`Marks::next`]) and tags marked requests with
//! [`BothLengths`], which the pipeline's hygiene stage refuses. Anything the
//! sniffer does not follow exactly (HTTP/2, upgrades, `CONNECT`, bare LF,
//! leading empty lines, odd chunk syntax, oversized heads) switches it off
//! for the rest of the connection: later requests are then just not marked,
//! and hyper's own RFC behaviour applies.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Request extension: the head carried both `Content-Length` and
/// `Transfer-Encoding`.
#[derive(Debug, Clone, Copy)]
pub struct BothLengths;

/// Longest request head followed; longer ones switch the sniffer off.
const MAX_HEAD: usize = 256 * 1024;
/// Longest chunk-size or trailer line followed.
const MAX_LINE: usize = 8 * 1024;

/// One mark per request head, in order, shared with the service.
#[derive(Debug, Clone, Default)]
pub struct Marks(Arc<Mutex<VecDeque<bool>>>);

impl Marks {
    /// Whether the next request (in arrival order) carried both headers.
    pub fn next(&self) -> bool {
        self.0
            .lock()
            .map(|mut q| q.pop_front().unwrap_or(false))
            .unwrap_or(false)
    }

    fn push(&self, both: bool) {
        if let Ok(mut q) = self.0.lock() {
            q.push_back(both);
        }
    }
}

/// Where in the byte stream the sniffer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Fixed(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkCr,
    ChunkLf,
    Trailers,
    Off,
}

/// What one head said about framing.
#[derive(Debug, Default)]
struct Head {
    lines: usize,
    http10: bool,
    switches: bool,
    lengths: Vec<Vec<u8>>,
    last_te: Option<Vec<u8>>,
}

/// Follows HTTP/1.1 request framing over the bytes of one connection.
#[derive(Debug)]
pub struct Sniffer {
    state: State,
    line: Vec<u8>,
    head_bytes: usize,
    head: Head,
    marks: Marks,
}

impl Sniffer {
    /// A sniffer recording into `marks`; `active = false` (HTTP/2 by ALPN)
    /// records nothing.
    pub fn new(marks: Marks, active: bool) -> Self {
        Self {
            state: if active { State::Head } else { State::Off },
            line: Vec::new(),
            head_bytes: 0,
            head: Head::default(),
            marks,
        }
    }

    /// Follows the next bytes read from the client.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() && self.state != State::Off {
            match self.state {
                State::Fixed(n) | State::ChunkData(n) => {
                    let take = n.min(data.len() as u64);
                    data = &data[take as usize..];
                    self.state = match (self.state, n - take) {
                        (State::Fixed(_), 0) => State::Head,
                        (State::Fixed(_), left) => State::Fixed(left),
                        (_, 0) => State::ChunkCr,
                        (_, left) => State::ChunkData(left),
                    };
                }
                State::ChunkCr | State::ChunkLf => {
                    let want = if self.state == State::ChunkCr {
                        b'\r'
                    } else {
                        b'\n'
                    };
                    self.state = match (data[0] == want, self.state) {
                        (true, State::ChunkCr) => State::ChunkLf,
                        (true, _) => State::ChunkSize,
                        (false, _) => State::Off,
                    };
                    data = &data[1..];
                }
                _ => data = self.take_line(data),
            }
        }
    }

    /// Collects bytes up to a CRLF and handles the complete line. A line
    /// that arrived whole is read in place; only one split across reads is
    /// copied, into a buffer kept for the connection.
    fn take_line<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        // memchr: lines such as `Authorization` run to hundreds of bytes.
        let (chunk, rest, complete) = match memchr::memchr(b'\n', data) {
            Some(i) => (&data[..=i], &data[i + 1..], true),
            None => (data, &data[data.len()..], false),
        };
        if self.state == State::Head {
            self.head_bytes += chunk.len();
        }
        let limit = if self.state == State::Head {
            MAX_HEAD
        } else {
            MAX_LINE
        };
        if self.line.len() + chunk.len() > limit || self.head_bytes > MAX_HEAD {
            self.state = State::Off;
            return rest;
        }
        if !complete {
            self.line.extend_from_slice(chunk);
        } else if self.line.is_empty() {
            self.end_line(chunk);
        } else {
            self.line.extend_from_slice(chunk);
            let line = std::mem::take(&mut self.line);
            self.end_line(&line);
            self.line = line;
            self.line.clear();
        }
        rest
    }

    /// Handles one complete line, CRLF included.
    fn end_line(&mut self, line: &[u8]) {
        match line.strip_suffix(b"\r\n") {
            Some(l) => self.on_line(l),
            None => self.state = State::Off,
        }
    }

    fn on_line(&mut self, line: &[u8]) {
        match self.state {
            State::Head => self.head_line(line),
            State::ChunkSize => self.state = chunk_size(line),
            State::Trailers if line.is_empty() => self.state = State::Head,
            _ => {}
        }
    }

    fn head_line(&mut self, line: &[u8]) {
        let first = self.head.lines == 0;
        self.head.lines += 1;
        if first {
            let method = line.split(|&b| b == b' ').next().unwrap_or_default();
            if line.is_empty() || method == b"PRI" {
                self.state = State::Off;
            }
            self.head.http10 = line.ends_with(b" HTTP/1.0");
            self.head.switches = method == b"CONNECT";
            return;
        }
        if line.is_empty() {
            return self.end_of_head();
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return self.state = State::Off;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.is_empty() || name.iter().any(|b| b.is_ascii_whitespace()) {
            return self.state = State::Off;
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            self.head.lengths.push(value.to_vec());
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.head.last_te = Some(value.to_vec());
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            self.head.switches = true;
        }
    }

    fn end_of_head(&mut self) {
        let head = std::mem::take(&mut self.head);
        self.head_bytes = 0;
        self.marks
            .push(head.last_te.is_some() && !head.lengths.is_empty());
        self.state = if head.switches || head.http10 && head.last_te.is_some() {
            State::Off
        } else if let Some(te) = head.last_te {
            let last = te.rsplit(|&b| b == b',').next().unwrap_or_default();
            match last.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                true => State::ChunkSize,
                false => State::Off,
            }
        } else if let Some(first) = head.lengths.first() {
            let n = std::str::from_utf8(first).ok().and_then(|s| {
                s.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| s.parse::<u64>().ok())?
            });
            match n {
                Some(n) if head.lengths.iter().all(|l| l == first) => match n {
                    0 => State::Head,
                    n => State::Fixed(n),
                },
                _ => State::Off,
            }
        } else {
            State::Head
        };
    }
}

/// The state after a chunk-size line: hex digits, then nothing, linear
/// white space or `;` extensions.
fn chunk_size(line: &[u8]) -> State {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let rest = &line[digits..];
    if digits == 0 || digits > 15 || !(rest.is_empty() || matches!(rest[0], b';' | b' ' | b'\t')) {
        return State::Off;
    }
    let text = std::str::from_utf8(&line[..digits]).unwrap_or("x");
    match u64::from_str_radix(text, 16) {
        Ok(0) => State::Trailers,
        Ok(n) => State::ChunkData(n),
        Err(_) => State::Off,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `stream` in pieces of `step` bytes; the marks recorded.
    fn marks(stream: &[u8], step: usize) -> Vec<bool> {
        let marks = Marks::default();
        let mut s = Sniffer::new(marks.clone(), true);
        for piece in stream.chunks(step) {
            s.feed(piece);
        }
        let q = marks.0.lock().unwrap();
        q.iter().copied().collect()
    }

    /// Pipelined requests with fixed, chunked and no bodies are followed
    /// head by head, however the bytes are split; only the head with both
    /// headers is marked, in either order.
    #[test]
    fn follows_pipelined_requests() {
        let stream = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
            POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nGET /\r\n0\r\nX-T: 1\r\n\r\n\
            GET /c HTTP/1.1\r\nHost: x\r\n\r\n\
            POST /d HTTP/1.1\r\ncontent-length: 30\r\nTRANSFER-ENCODING: chunked\r\n\r\n0\r\n\r\n\
            GET /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n";
        for step in [1, 2, 7, 64, stream.len()] {
            assert_eq!(
                marks(stream, step),
                [false, false, false, true, true],
                "{step}"
            );
        }
    }

    /// Body bytes that look like heads are skipped, not read as requests.
    #[test]
    fn body_text_is_not_a_head() {
        let body = b"GET /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let mut stream =
            format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        stream.extend_from_slice(body);
        stream.extend_from_slice(b"GET /next HTTP/1.1\r\n\r\n");
        assert_eq!(marks(&stream, 3), [false, false]);
    }

    /// What the sniffer does not follow exactly switches it off after
    /// recording the head it understood.
    #[test]
    fn switches_off_when_unsure() {
        let cases: &[(&[u8], &[bool])] = &[
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &[]),
            (b"\r\nGET / HTTP/1.1\r\n\r\n", &[]),
            (b"GET / HTTP/1.1\nHost: x\n\n", &[]),
            (b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET / HTTP/1.1\r\n\r\n", &[false]),
            (b"CONNECT a:1 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", &[false]),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET / HTTP/1.1\r\n\r\n", &[false]),
            (b"POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nxGET / HTTP/1.1\r\n\r\n", &[false]),
        ];
        for (stream, want) in cases {
            assert_eq!(
                marks(stream, 5),
                *want,
                "{}",
                String::from_utf8_lossy(stream)
            );
        }
        assert_eq!(marks(b"GET / HTTP/1.1\r\n\r\n", 4), [false]);
        let mut off = Sniffer::new(Marks::default(), false);
        off.feed(b"GET / HTTP/1.1\r\n\r\n");
        assert!(off.marks.0.lock().unwrap().is_empty());
    }
}
