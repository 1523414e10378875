//! `X-Forwarded-*`: finding the client address behind trusted proxies, and
//! telling the upstream where the request came from.
//!
//! A client that is not a configured trusted proxy never gets to say anything
//! here: its forwarded headers are replaced, never appended to, and never
//! used for decisions (`client_ip` returns its own address).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;

/// `X-Forwarded-For`.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// At most this many `X-Forwarded-For` entries are examined, from the right.
pub const MAX_FORWARDED_ENTRIES: usize = 32;

/// Errors from setting forwarded headers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardedError {
    /// The value given for the named header is not a valid header value.
    #[error("invalid value for {0}")]
    InvalidValue(&'static str),
}

/// The client's address: `peer` itself unless `peer` is a trusted proxy; then
/// `X-Forwarded-For` (all its headers, in order, as one list) is walked right
/// to left, skipping trusted addresses, and the first untrusted one is the
/// client. If every entry is trusted the leftmost is returned. An entry that
/// does not parse stops the walk at the last good address (or the peer), as
/// does the [`MAX_FORWARDED_ENTRIES`] cap. Ports (`1.2.3.4:5`, `[::1]:5`),
/// brackets and whitespace are tolerated; IPv4-mapped IPv6 is unmapped.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let entries = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .rev()
        .flat_map(|v| v.as_bytes().rsplit(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .take(MAX_FORWARDED_ENTRIES)
        .filter(|e| !e.is_empty());
    let mut last_good = peer;
    for entry in entries {
        let Some(ip) = parse_entry(entry) else {
            return last_good;
        };
        if !is_trusted(ip, trusted) {
            return ip;
        }
        last_good = ip;
    }
    last_good
}

/// Whether an address is inside any trusted network.
pub fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|net| net.contains(&ip))
}

/// The `X-Forwarded-Proto` and `X-Forwarded-Host` values, validated once
/// when the gateway starts rather than on every request.
#[derive(Debug, Clone)]
pub struct ForwardedValues {
    proto: HeaderValue,
    host: HeaderValue,
}

impl ForwardedValues {
    /// Validates `proto` and `host` as header values.
    ///
    /// # Errors
    /// [`ForwardedError::InvalidValue`] naming the header whose value is not
    /// a valid header value.
    pub fn new(proto: &str, host: &str) -> Result<Self, ForwardedError> {
        Ok(Self {
            proto: HeaderValue::from_str(proto)
                .map_err(|_| ForwardedError::InvalidValue("x-forwarded-proto"))?,
            host: HeaderValue::from_str(host)
                .map_err(|_| ForwardedError::InvalidValue("x-forwarded-host"))?,
        })
    }
}

/// Sets the forwarded headers for the upstream.
///
/// `peer` is the address of the connection. From an untrusted peer (which is
/// then the client), `X-Forwarded-For` becomes exactly that address; from a
/// trusted proxy, `peer` is appended to the existing list (all headers joined
/// into one). `X-Forwarded-Proto` and `X-Forwarded-Host` are set to the
/// configured `values`, unless the peer is trusted and already sent them.
pub fn set_forwarded(
    headers: &mut HeaderMap,
    peer: IpAddr,
    values: &ForwardedValues,
    peer_trusted: bool,
) {
    let xff = forwarded_for(headers, peer.to_canonical(), peer_trusted);
    headers.insert(X_FORWARDED_FOR, xff);
    for (name, value) in [
        (X_FORWARDED_PROTO, &values.proto),
        (X_FORWARDED_HOST, &values.host),
    ] {
        if !(peer_trusted && headers.contains_key(&name)) {
            headers.insert(name, value.clone());
        }
    }
}

/// The new `X-Forwarded-For` value.
fn forwarded_for(headers: &HeaderMap, peer: IpAddr, peer_trusted: bool) -> HeaderValue {
    let mut list = Vec::with_capacity(48);
    if peer_trusted {
        for value in headers.get_all(X_FORWARDED_FOR) {
            let value = value.as_bytes().trim_ascii();
            if !value.is_empty() {
                list.extend_from_slice(value);
                list.extend_from_slice(b", ");
            }
        }
    }
    write_ip(&mut list, peer);
    // Earlier entries came from a header value (no control bytes) and an
    // address is ASCII, so this cannot fail; fall back to the address alone.
    HeaderValue::from_maybe_shared(bytes::Bytes::from(list)).unwrap_or_else(|_| {
        let mut only = Vec::with_capacity(40);
        write_ip(&mut only, peer);
        HeaderValue::from_maybe_shared(bytes::Bytes::from(only))
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
    })
}

/// Appends an address in its canonical text form. IPv4 is written digit by
/// digit: `Display` through `core::fmt` cost more than the rest of the
/// header rewrite on the proxy's hot path.
fn write_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(digits.format(octet).as_bytes());
            }
        }
        IpAddr::V6(v6) => {
            use std::io::Write;
            let _ = write!(out, "{v6}");
        }
    }
}

/// Parses one list entry: an address, optionally with a port, IPv6 optionally
/// bracketed.
fn parse_entry(entry: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(entry).ok()?;
    let ip = if let Some(rest) = text.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        IpAddr::V6(inner.parse::<Ipv6Addr>().ok()?)
    } else if let Ok(ip) = text.parse::<IpAddr>() {
        ip
    } else {
        let (host, port) = text.split_once(':')?;
        if !is_port(port) {
            return None;
        }
        IpAddr::V4(host.parse::<Ipv4Addr>().ok()?)
    };
    Some(ip.to_canonical())
}

/// Whether text is a decimal port number.
fn is_port(text: &str) -> bool {
    (1..=5).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trusted networks used by the tests: a private range and a v6 range.
    fn trusted() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()]
    }

    /// Headers with the given `X-Forwarded-For` values, in order.
    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(X_FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    /// Parses an address for the tables.
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The client is found right to left past trusted proxies only.
    #[test]
    fn client_ip_table() {
        let cases: &[(&str, &[&str], &str)] = &[
            ("203.0.113.9", &["1.1.1.1"], "203.0.113.9"),
            ("203.0.113.9", &[], "203.0.113.9"),
            ("10.0.0.1", &[], "10.0.0.1"),
            ("10.0.0.1", &["1.1.1.1"], "1.1.1.1"),
            ("10.0.0.1", &["6.6.6.6, 1.1.1.1"], "1.1.1.1"),
            ("10.0.0.1", &["6.6.6.6, 1.1.1.1, 10.0.0.2"], "1.1.1.1"),
            ("10.0.0.1", &["6.6.6.6", "1.1.1.1", "10.0.0.2"], "1.1.1.1"),
            ("10.0.0.1", &["10.0.0.3, 10.0.0.2"], "10.0.0.3"),
            ("10.0.0.1", &["1.1.1.1:443"], "1.1.1.1"),
            ("10.0.0.1", &["  1.1.1.1\t,\t10.0.0.9 "], "1.1.1.1"),
            ("10.0.0.1", &["[2001:db8::1]:443"], "2001:db8::1"),
            ("10.0.0.1", &["[2001:db8::1]"], "2001:db8::1"),
            ("10.0.0.1", &["2001:db8::1"], "2001:db8::1"),
            ("10.0.0.1", &["::ffff:1.1.1.1"], "1.1.1.1"),
            ("::ffff:10.0.0.1", &["1.1.1.1"], "1.1.1.1"),
            ("::ffff:203.0.113.9", &["1.1.1.1"], "203.0.113.9"),
            ("fd00::1", &["1.1.1.1"], "1.1.1.1"),
            ("10.0.0.1", &["1.1.1.1, unknown"], "10.0.0.1"),
            ("10.0.0.1", &["1.1.1.1, garbage, 10.0.0.7"], "10.0.0.7"),
            ("10.0.0.1", &["1.1.1.1, 10.0.0.7:99999"], "10.0.0.1"),
            ("10.0.0.1", &["1.1.1.1,,"], "1.1.1.1"),
            ("10.0.0.1", &["1.1.1.1:"], "10.0.0.1"),
            ("10.0.0.1", &["[2001:db8::1]x"], "10.0.0.1"),
            ("10.0.0.1", &["fe80::1%eth0"], "10.0.0.1"),
            ("10.0.0.1", &["\"[2001:db8::1]\""], "10.0.0.1"),
        ];
        for (peer, values, want) in cases {
            assert_eq!(
                client_ip(ip(peer), &xff(values), &trusted()),
                ip(want),
                "{peer} {values:?}"
            );
        }
    }

    /// The walk stops after the entry cap, however long the list.
    #[test]
    fn client_ip_is_bounded() {
        let mut long = vec!["1.1.1.1"; 1];
        long.extend(std::iter::repeat_n("10.0.0.5", 10_000));
        let joined = long.join(",");
        assert_eq!(
            client_ip(ip("10.0.0.1"), &xff(&[&joined]), &trusted()),
            ip("10.0.0.5")
        );
        let spoofed_far_left = format!("1.1.1.1{}", ",10.0.0.5".repeat(MAX_FORWARDED_ENTRIES - 1));
        assert_eq!(
            client_ip(ip("10.0.0.1"), &xff(&[&spoofed_far_left]), &trusted()),
            ip("1.1.1.1")
        );
    }

    /// Untrusted peers get their forwarded headers replaced; trusted ones extended.
    #[test]
    fn set_forwarded_table() {
        let mut spoofed = xff(&["6.6.6.6", "7.7.7.7"]);
        spoofed.insert(X_FORWARDED_HOST, HeaderValue::from_static("evil.example"));
        spoofed.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
        let mut h = spoofed.clone();
        set_forwarded(&mut h, ip("203.0.113.9"), &values("app.example"), false);
        assert_eq!(
            h.get_all(X_FORWARDED_FOR).iter().collect::<Vec<_>>(),
            ["203.0.113.9"]
        );
        assert_eq!(h[X_FORWARDED_HOST], "app.example");
        assert_eq!(h[X_FORWARDED_PROTO], "https");

        let mut h = spoofed.clone();
        set_forwarded(&mut h, ip("::ffff:10.0.0.1"), &values("app.example"), true);
        assert_eq!(
            h.get_all(X_FORWARDED_FOR).iter().collect::<Vec<_>>(),
            ["6.6.6.6, 7.7.7.7, 10.0.0.1"]
        );
        assert_eq!(h[X_FORWARDED_HOST], "evil.example");
        assert_eq!(h[X_FORWARDED_PROTO], "http");

        let mut h = HeaderMap::new();
        set_forwarded(&mut h, ip("2001:db8::1"), &values("app.example:8443"), true);
        assert_eq!(h[X_FORWARDED_FOR], "2001:db8::1");
        assert_eq!(h[X_FORWARDED_HOST], "app.example:8443");
    }

    fn values(host: &str) -> ForwardedValues {
        ForwardedValues::new("https", host).unwrap()
    }

    /// Invalid proto or host values are refused when the gateway starts.
    #[test]
    fn forwarded_values_refuse_bad_values() {
        let err = ForwardedValues::new("https", "a\r\nb").unwrap_err();
        assert_eq!(err, ForwardedError::InvalidValue("x-forwarded-host"));
        let err = ForwardedValues::new("\n", "a").unwrap_err();
        assert_eq!(err, ForwardedError::InvalidValue("x-forwarded-proto"));
    }

    /// Addresses are written in their canonical text form.
    #[test]
    fn writes_addresses_canonically() {
        for text in [
            "0.0.0.0",
            "1.2.3.4",
            "10.200.30.255",
            "255.255.255.255",
            "::1",
            "2001:db8::8:800:200c:417a",
        ] {
            let mut out = Vec::new();
            write_ip(&mut out, ip(text));
            assert_eq!(std::str::from_utf8(&out).unwrap(), ip(text).to_string());
        }
    }
}
