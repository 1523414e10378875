//! RS256 throughput: the product's signer and strict verifier with a fresh
//! 2048-bit key, each run for a fixed time.

use std::time::{Duration, Instant};

use crate::auth::jwt::{self, Audience, Claims, DEFAULT_MAX_TOKEN_LEN, Validation};
use crate::auth::keys::{KeyError, SigningKey};

/// Key size measured: the smallest the gateway accepts, and its default.
pub const KEY_BITS: usize = 2048;

/// Operations per second of one operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Operations done.
    pub ops: u64,
    /// Time taken.
    pub elapsed: Duration,
}

impl Rate {
    /// Operations per second.
    pub fn per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Signs for `each`, then verifies for `each`; `progress` hears the phase.
pub fn run(each: Duration, mut progress: impl FnMut(&str)) -> Result<(Rate, Rate), KeyError> {
    progress("generating a 2048-bit RSA key");
    let key = SigningKey::generate(KEY_BITS)?;
    let now = 1_700_000_000;
    let claims = Claims {
        iss: "https://bench.example".into(),
        sub: "bench-user".into(),
        aud: Audience::One("bench".into()),
        sid: "bench-session".into(),
        jti: "bench-jti".into(),
        iat: now,
        exp: now + 900,
        nbf: None,
        fpt: Some("bench-fingerprint-hash".into()),
        roles: vec!["user".into()],
    };
    progress("signing");
    let token = jwt::encode(&claims, &key).map_err(|_| KeyError::Signing)?;
    let sign = repeat(each, || jwt::encode(&claims, &key).is_ok());
    progress("verifying");
    let validation = Validation::new("https://bench.example", "bench", 30);
    let verify = repeat(each, || {
        jwt::parse(&token, DEFAULT_MAX_TOKEN_LEN)
            .and_then(|u| u.verify(key.public(), &validation, now))
            .is_ok()
    });
    if sign.ops == 0 || verify.ops == 0 {
        return Err(KeyError::Signing);
    }
    Ok((sign, verify))
}

/// Runs `op` until `each` has passed; counts only successful operations.
fn repeat(each: Duration, mut op: impl FnMut() -> bool) -> Rate {
    let start = Instant::now();
    let mut ops = 0;
    while start.elapsed() < each {
        if op() {
            ops += 1;
        }
    }
    Rate {
        ops,
        elapsed: start.elapsed(),
    }
}

/// The result table, for stdout.
pub fn render(sign: Rate, verify: Rate) -> String {
    let row = |name: &str, r: Rate| {
        format!(
            "{name:<12}  {:>10.0}  {:>10.1}  {:>8}\n",
            r.per_second(),
            1e6 / r.per_second().max(f64::MIN_POSITIVE),
            r.ops
        )
    };
    format!(
        "operation         ops/s       µs/op       ops\n{}{}",
        row("sign RS256", sign),
        row("verify RS256", verify)
    )
}
