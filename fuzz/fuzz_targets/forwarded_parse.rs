//! `X-Forwarded-For` parsing and rewriting on hostile headers: an untrusted
//! peer is never overridden, and the rewritten header is what the upstream
//! may believe.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http::header::{HeaderMap, HeaderValue};
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;
use portcullis::headers::forwarded::{ForwardedValues, X_FORWARDED_FOR, client_ip, set_forwarded};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut headers = HeaderMap::new();
    for line in rest.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(X_FORWARDED_FOR, value);
        }
    }
    let trusted: Vec<IpNet> = vec![
        "10.0.0.0/8".parse().unwrap(),
        "::1/128".parse().unwrap(),
        "fd00::/8".parse().unwrap(),
    ];
    let peer = match flags % 4 {
        0 => IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)),
        1 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        2 => IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped()),
        _ => IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)),
    };
    let peer_trusted = flags % 4 != 3;
    let client = client_ip(peer, &headers, &trusted);
    if !peer_trusted {
        assert_eq!(client, peer, "an untrusted peer named someone else");
    }
    let mut rewritten = headers.clone();
    let configured = ForwardedValues::new("https", "gw.example").expect("valid values");
    set_forwarded(&mut rewritten, peer, &configured, peer_trusted);
    let values: Vec<_> = rewritten.get_all(X_FORWARDED_FOR).iter().collect();
    assert_eq!(values.len(), 1, "one X-Forwarded-For after rewriting");
    if !peer_trusted {
        assert_eq!(
            values[0].as_bytes(),
            peer.to_canonical().to_string().as_bytes()
        );
    }
});
