//! The account page's per-session form token (CSRF), on top of the
//! gateway's same-origin check and `SameSite=Strict` cookies.
//!
//! HMAC-SHA256 keyed with the session's refresh-token family id, a random
//! value that never leaves the store (not in tokens, headers or the JSON
//! API), over the session id. So it needs no new state, holds across
//! restarts and instances (the family lives in the shared store), survives
//! token rotation, and dies with the session.

use aws_lc_rs::hmac;

use super::b64;
use crate::session::Session;

/// The hidden form field that carries it.
pub const FIELD: &str = "csrf";
/// Domain separation: this key signs nothing else.
const LABEL: &[u8] = b"portcullis account form v1\0";

fn key(session: &Session) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, session.family.as_bytes())
}

fn message(session: &Session) -> Vec<u8> {
    [LABEL, session.id.as_bytes()].concat()
}

/// The token for `session`'s forms.
pub fn issue(session: &Session) -> String {
    b64::encode(hmac::sign(&key(session), &message(session)))
}

/// True when `presented` is `session`'s token (constant-time comparison).
pub fn verify(session: &Session, presented: &str) -> bool {
    b64::decode(presented)
        .is_some_and(|tag| hmac::verify(&key(session), &message(session), &tag).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, family: &str) -> Session {
        Session {
            id: id.into(),
            user: "alice".into(),
            family: family.into(),
            user_agent: String::new(),
            ip: String::new(),
            created: 0,
            last_used: 0,
            expires_at: 1,
            idle_timeout_secs: 1,
            revoked: false,
        }
    }

    /// A session's token verifies for it alone; tampered, truncated, empty
    /// or malformed tokens never do.
    #[test]
    fn binds_to_one_session() {
        let s = session("sid-1", "family-secret-1");
        let t = issue(&s);
        assert_eq!(t, issue(&s), "stable for the session's lifetime");
        assert!(verify(&s, &t));
        assert!(!verify(&session("sid-2", "family-secret-1"), &t));
        assert!(!verify(&session("sid-1", "family-secret-2"), &t));
        let mut flipped = t.clone().into_bytes();
        flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
        assert!(!verify(&s, std::str::from_utf8(&flipped).unwrap()));
        for bad in ["", "!!", &t[..t.len() - 2]] {
            assert!(!verify(&s, bad), "{bad:?}");
        }
    }
}
