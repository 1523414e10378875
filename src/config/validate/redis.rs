//! `[redis]`: the deployment (`mode`) and how to reach it. Error messages
//! never repeat a URL or password (either may hold a secret).

use std::path::Path;

use super::{positive, resolve};
use crate::config::error::ConfigErrors;
use crate::config::raw::RawRedis;
use crate::config::types::{RedisTopology, StoreConfig};

/// The `[redis]` section as a store, or `None` (with errors) if unusable.
pub(super) fn redis_store(
    raw: &RawRedis,
    base: &Path,
    errs: &mut ConfigErrors,
) -> Option<StoreConfig> {
    let timeout = positive("redis.timeout_ms", raw.timeout_ms, "ms", errs);
    let topology = match raw.mode.as_str() {
        "standalone" => standalone(raw, base, errs),
        "sentinel" => sentinel(raw, base, errs),
        "cluster" => cluster(raw, base, errs),
        other => {
            errs.push(
                "redis.mode",
                format!(
                    "`{other}` is not a mode; write \"standalone\", \"sentinel\" or \"cluster\""
                ),
            );
            None
        }
    }?;
    Some(StoreConfig::Redis {
        topology,
        key_prefix: raw.key_prefix.clone(),
        timeout,
    })
}

/// One server from `url` or `url_file`; the node keys must be unset.
fn standalone(raw: &RawRedis, base: &Path, errs: &mut ConfigErrors) -> Option<RedisTopology> {
    refuse_unused(
        raw,
        &["nodes", "master_name", "password", "password_file"],
        errs,
    );
    let url = match (&raw.url, &raw.url_file) {
        (Some(u), None) => u.trim().to_string(),
        (None, Some(f)) => read_secret("redis.url_file", base, f, errs)?,
        (Some(_), Some(_)) => {
            errs.push("redis.url", "set either url or url_file, not both");
            return None;
        }
        (None, None) => {
            errs.push(
                "redis.url",
                "is required when session.store = \"redis\", e.g. \"redis://127.0.0.1:6379\"",
            );
            return None;
        }
    };
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        errs.push("redis.url", "must start with redis:// or rediss://");
    }
    Some(RedisTopology::Standalone { url })
}

/// The sentinels in `nodes` and the `master_name` they monitor.
fn sentinel(raw: &RawRedis, base: &Path, errs: &mut ConfigErrors) -> Option<RedisTopology> {
    refuse_unused(raw, &["url", "url_file"], errs);
    let sentinels = nodes(
        raw,
        "the sentinels, e.g. [\"redis://127.0.0.1:26379\"]",
        errs,
    );
    let master_name = match raw.master_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => Some(name.to_owned()),
        _ => {
            errs.push(
                "redis.master_name",
                "is required when redis.mode = \"sentinel\" (the name the sentinels monitor)",
            );
            None
        }
    };
    let password = password(raw, base, errs);
    Some(RedisTopology::Sentinel {
        sentinels: sentinels?,
        master_name: master_name?,
        password: password?,
    })
}

/// The seed nodes in `nodes`.
fn cluster(raw: &RawRedis, base: &Path, errs: &mut ConfigErrors) -> Option<RedisTopology> {
    refuse_unused(raw, &["url", "url_file", "master_name"], errs);
    let nodes = nodes(raw, "seed nodes, e.g. [\"redis://127.0.0.1:7000\"]", errs);
    let password = password(raw, base, errs);
    Some(RedisTopology::Cluster {
        nodes: nodes?,
        password: password?,
    })
}

/// `redis.nodes`: at least one well-formed URL, all with one scheme.
fn nodes(raw: &RawRedis, example: &str, errs: &mut ConfigErrors) -> Option<Vec<String>> {
    if raw.nodes.is_empty() {
        errs.push(
            "redis.nodes",
            format!("is required when redis.mode = \"{}\" ({example})", raw.mode),
        );
        return None;
    }
    let mut ok = true;
    for (i, node) in raw.nodes.iter().enumerate() {
        let key = format!("redis.nodes[{i}]");
        if !(node.starts_with("redis://") || node.starts_with("rediss://")) {
            errs.push(key, "must start with redis:// or rediss://");
            ok = false;
        } else if redis::IntoConnectionInfo::into_connection_info(node.as_str()).is_err() {
            errs.push(key, "is not a valid Redis URL (host and port expected)");
            ok = false;
        }
    }
    let tls = raw
        .nodes
        .iter()
        .filter(|n| n.starts_with("rediss://"))
        .count();
    if ok && tls != 0 && tls != raw.nodes.len() {
        errs.push(
            "redis.nodes",
            "mixes redis:// and rediss://; use one scheme",
        );
        ok = false;
    }
    ok.then(|| raw.nodes.clone())
}

/// The data nodes' password from `password` or `password_file`; the outer
/// `None` means an error was recorded.
fn password(raw: &RawRedis, base: &Path, errs: &mut ConfigErrors) -> Option<Option<String>> {
    match (&raw.password, &raw.password_file) {
        (Some(p), None) => Some(Some(p.clone())),
        (None, Some(f)) => read_secret("redis.password_file", base, f, errs).map(Some),
        (None, None) => Some(None),
        (Some(_), Some(_)) => {
            errs.push(
                "redis.password",
                "set either password or password_file, not both",
            );
            None
        }
    }
}

/// A secret file's content without surrounding whitespace.
fn read_secret(key: &str, base: &Path, file: &str, errs: &mut ConfigErrors) -> Option<String> {
    match std::fs::read_to_string(resolve(base, file)) {
        Ok(v) => Some(v.trim().to_string()),
        Err(e) => {
            errs.push(key, format!("cannot read {file}: {e}"));
            None
        }
    }
}

/// Records an error for each of `keys` that is set although `mode` does
/// not use it (a silently ignored setting would hide a mistake).
fn refuse_unused(raw: &RawRedis, keys: &[&str], errs: &mut ConfigErrors) {
    for key in keys {
        let set = match *key {
            "url" => raw.url.is_some(),
            "url_file" => raw.url_file.is_some(),
            "nodes" => !raw.nodes.is_empty(),
            "master_name" => raw.master_name.is_some(),
            "password" => raw.password.is_some(),
            "password_file" => raw.password_file.is_some(),
            _ => false,
        };
        if set {
            errs.push(
                format!("redis.{key}"),
                format!("is not used when redis.mode = \"{}\"", raw.mode),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(mode: &str) -> RawRedis {
        RawRedis {
            mode: mode.into(),
            ..RawRedis::default()
        }
    }

    fn keys(raw: &RawRedis) -> Vec<String> {
        let mut errs = ConfigErrors::default();
        redis_store(raw, Path::new("."), &mut errs);
        errs.0.into_iter().map(|e| e.key).collect()
    }

    /// Sentinel mode needs its sentinels and the master's name; each
    /// missing key is named.
    #[test]
    fn sentinel_requires_nodes_and_master_name() {
        let mut errs = ConfigErrors::default();
        redis_store(&raw("sentinel"), Path::new("."), &mut errs);
        let text = errs.to_string();
        assert!(
            text.contains("redis.master_name: is required when redis.mode = \"sentinel\""),
            "{text}"
        );
        assert!(text.contains("redis.nodes"), "{text}");
    }

    /// A complete sentinel or cluster section converts; the password file
    /// is read and trimmed; Debug shows no URL or password.
    #[test]
    fn sentinel_and_cluster_convert() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
        let mut s = raw("sentinel");
        s.nodes = vec!["redis://:sentpw@127.0.0.1:26379".into()];
        s.master_name = Some("main".into());
        s.password_file = Some("pw".into());
        let mut errs = ConfigErrors::default();
        let store = redis_store(&s, dir.path(), &mut errs).expect("converts");
        assert!(errs.is_empty(), "{errs}");
        let StoreConfig::Redis { topology, .. } = &store else {
            panic!("redis")
        };
        assert_eq!(
            topology,
            &RedisTopology::Sentinel {
                sentinels: s.nodes.clone(),
                master_name: "main".into(),
                password: Some("s3cret".into()),
            }
        );
        let shown = format!("{store:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("sentpw"),
            "{shown}"
        );

        let mut c = raw("cluster");
        c.nodes = vec![
            "redis://127.0.0.1:7000".into(),
            "redis://127.0.0.1:7001".into(),
        ];
        assert!(keys(&c).is_empty());
    }

    /// Keys of another mode, bad node URLs, mixed schemes and unknown modes
    /// are errors naming the key.
    #[test]
    fn refuses_misplaced_and_malformed_keys() {
        let mut c = raw("cluster");
        c.url = Some("redis://127.0.0.1:6379".into());
        c.master_name = Some("m".into());
        c.nodes = vec!["http://x:1".into(), "redis://h:1".into()];
        assert_eq!(
            keys(&c),
            ["redis.url", "redis.master_name", "redis.nodes[0]"]
        );
        c = raw("cluster");
        c.nodes = vec!["redis://h:1".into(), "rediss://h:2".into()];
        assert_eq!(keys(&c), ["redis.nodes"]);
        let mut s = raw("standalone");
        s.url = Some("redis://h:1".into());
        s.nodes = vec!["redis://h:2".into()];
        assert_eq!(keys(&s), ["redis.nodes"]);
        assert_eq!(keys(&raw("replicated")), ["redis.mode"]);
    }
}
