//! Micro-benchmarks of the per-request and per-login crypto: RS256 sign and
//! verify (uncached, and a verified-token cache hit), the fingerprint check, path normalization and PBKDF2
//! at 600,000 iterations. Figures go to BENCHMARKS.md with the command.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis::auth::jwt::{self, Audience, Claims, Validation};
use portcullis::auth::keys::SigningKey;
use portcullis::auth::verified_cache::VerifiedCache;
use portcullis::auth::{fingerprint, password};
use portcullis::path::{PathOptions, normalize};

fn claims(fpt: String) -> Claims {
    Claims {
        iss: "https://gw.example".into(),
        aud: Audience::One("portcullis".into()),
        sub: "alice".into(),
        sid: "c2Vzc2lvbi1pZC0xMjM0NQ".into(),
        jti: "and0LWlkLTEyMzQ1Njc4OQ".into(),
        iat: 1_700_000_000,
        exp: 1_700_000_900,
        nbf: None,
        fpt: Some(fpt),
        roles: vec!["user".into()],
    }
}

fn rs256(c: &mut Criterion) {
    let key = SigningKey::generate(2048).expect("key");
    let (_, fpt) = fingerprint::generate();
    let token = jwt::encode(&claims(fpt), &key).expect("sign");
    let validation = Validation::new("https://gw.example", "portcullis", 30);
    c.bench_function("rs256_sign", |b| {
        b.iter(|| jwt::encode(black_box(&claims(String::from("x"))), &key))
    });
    c.bench_function("rs256_verify_uncached", |b| {
        b.iter(|| {
            let parsed = jwt::parse(black_box(&token), 8192).expect("parse");
            parsed
                .verify(key.public(), &validation, 1_700_000_100)
                .expect("valid")
        })
    });
    // What a hit costs instead: SHA-256 of the token and a cache lookup.
    let cache = VerifiedCache::new(10_000);
    let verified = jwt::parse(&token, 8192)
        .expect("parse")
        .verify(key.public(), &validation, 1_700_000_100)
        .expect("valid");
    cache.insert(&token, key.kid(), Arc::new(verified), 1_700_000_100);
    c.bench_function("rs256_verify_cache_hit", |b| {
        b.iter(|| {
            cache
                .get(black_box(&token), 1_700_000_100, |_| true)
                .expect("hit")
        })
    });
}

fn fingerprint_check(c: &mut Criterion) {
    let (raw, fpt) = fingerprint::generate();
    c.bench_function("fingerprint_check", |b| {
        b.iter(|| fingerprint::matches(black_box(&raw), black_box(&fpt)))
    });
}

fn path_normalization(c: &mut Criterion) {
    let opts = PathOptions {
        reject_params: true,
    };
    c.bench_function("normalize_clean_path", |b| {
        b.iter(|| normalize(black_box("/app/api/v1/users/42/profile"), &opts).map(|p| p.len()))
    });
    c.bench_function("normalize_messy_path", |b| {
        b.iter(|| {
            normalize(
                black_box("/app//api/./v1/%7Eusers/../users/42/%70rofile"),
                &opts,
            )
            .map(|p| p.len())
        })
    });
}

fn pbkdf2(c: &mut Criterion) {
    let phc = password::hash_password("correct horse battery staple").expect("hash");
    let mut g = c.benchmark_group("pbkdf2");
    g.sample_size(10);
    g.bench_function("pbkdf2_sha256_600k_verify", |b| {
        b.iter(|| password::verify_password(black_box("correct horse battery staple"), &phc))
    });
    g.finish();
}

criterion_group!(
    benches,
    rs256,
    fingerprint_check,
    path_normalization,
    pbkdf2
);
criterion_main!(benches);
