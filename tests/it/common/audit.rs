//! Helpers for the `audit` and `bench` tests: run the CLI, read its JSON
//! report, and write configurations and certificates for it to judge.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::{binary, cli};

/// Every check id of `portcullis audit` (configuration), in report order.
pub const CONFIG_IDS: &[&str] = &[
    "CRYPTO-001",
    "CRYPTO-002",
    "KEYS-001",
    "KEYS-002",
    "KEYS-003",
    "PERM-001",
    "PERM-002",
    "PERM-003",
    "PERM-004",
    "TOKEN-001",
    "TOKEN-002",
    "TOKEN-003",
    "TOKEN-004",
    "TOKEN-005",
    "COOKIE-001",
    "COOKIE-002",
    "COOKIE-003",
    "COOKIE-004",
    "COOKIE-005",
    "TLS-001",
    "TLS-002",
    "TLS-003",
    "TLS-004",
    "TLS-005",
    "HEADERS-001",
    "INPUT-001",
    "INPUT-002",
    "INPUT-003",
    "LOG-001",
    "LOG-002",
];

/// A finished CLI run with its JSON report parsed.
pub struct Audited {
    /// Exit code.
    pub code: i32,
    /// The parsed report.
    pub report: Value,
    /// stderr.
    pub stderr: String,
}

impl Audited {
    /// From a run with `--format json`.
    pub fn from_output(out: Output) -> Audited {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "report is not JSON ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        Audited {
            code: out.status.code().expect("exit code"),
            report,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The check with `id`.
    pub fn check(&self, id: &str) -> &Value {
        self.report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no check {id} in {:#}", self.report))
    }

    /// The result of check `id`: pass, fail, warn or skipped.
    pub fn result(&self, id: &str) -> &str {
        self.check(id)["result"].as_str().expect("result")
    }

    /// Ids whose result is `result`, in report order.
    pub fn ids(&self, result: &str) -> Vec<String> {
        self.report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter(|c| c["result"] == result)
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .collect()
    }
}

/// `portcullis ARGS --format json`, parsed.
pub fn audit_json(args: &[&str]) -> Audited {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    Audited::from_output(cli(&all, &[]))
}

/// `portcullis audit token - [ARGS] --format json` with `token` on stdin.
pub fn audit_token_stdin(token: &str, args: &[&str]) -> Output {
    let mut child = Command::new(binary())
        .args(["audit", "token", "-", "--format", "json"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("portcullis runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(token.as_bytes())
        .expect("write token");
    child.wait_with_output().expect("wait")
}

/// Writes a self-signed certificate for localhost valid from `from_days` to
/// `to_days` relative to now, and its key (0600).
pub fn write_cert(cert: &Path, key: &Path, from_days: i64, to_days: i64) {
    use std::os::unix::fs::PermissionsExt as _;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now + time::Duration::days(from_days);
    params.not_after = now + time::Duration::days(to_days);
    let pair = rcgen::KeyPair::generate().expect("key");
    let c = params.self_signed(&pair).expect("cert");
    std::fs::write(cert, c.pem()).expect("write cert");
    std::fs::write(key, pair.serialize_pem()).expect("write key");
    std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// Sets the permission bits of `path`.
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
