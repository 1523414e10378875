//! `portcullis bench`: small runs that still check the table shape, the
//! 600,000-iteration floor and the progress on stderr.

use crate::common::cli;

/// The iteration rows of a `bench password` table: (iterations, ms).
fn rows(stdout: &str) -> Vec<(u64, f64)> {
    stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let mut cols = l.split_whitespace();
            let n = cols.next().unwrap().parse().expect("iterations");
            let ms = cols.next().unwrap().parse().expect("ms");
            (n, ms)
        })
        .collect()
}

/// The recommended count in the output.
fn recommended(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("recommended: "))
        .expect("recommendation");
    line["recommended: ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .expect("count")
}

/// A tiny target on a short ladder: four measured rows, and the floor of
/// 600,000 recommended with a note; a huge target recommends more.
#[test]
fn password_table_and_floor() {
    let out = cli(
        &[
            "bench",
            "password",
            "--target-ms",
            "1",
            "--max-iterations",
            "8000",
        ],
        &[],
    );
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("iterations  ms\n"), "{stdout}");
    let table = rows(&stdout);
    let counts: Vec<u64> = table.iter().map(|r| r.0).collect();
    assert_eq!(counts, [2000, 4000, 6000, 8000], "{stdout}");
    assert!(table.iter().all(|r| r.1 > 0.0), "{stdout}");
    assert_eq!(recommended(&stdout), 600_000);
    assert!(stdout.contains("fewer than 600000"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("measuring 8000 iterations"), "{stderr}");

    let out = cli(
        &[
            "bench",
            "password",
            "--target-ms",
            "100000",
            "--max-iterations",
            "8000",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(recommended(&stdout) > 600_000, "{stdout}");
    assert!(!stdout.contains("fewer than"), "{stdout}");

    let out = cli(&["bench", "password", "--target-ms", "0"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

/// One second each of signing and verifying: two rows with positive rates.
#[test]
fn jwt_rates() {
    let out = cli(&["bench", "jwt", "--seconds", "1"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for op in ["sign RS256", "verify RS256"] {
        let line = stdout.lines().find(|l| l.starts_with(op)).expect(op);
        let rate: f64 = line[op.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(rate > 0.0, "{line}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("signing") && stderr.contains("verifying"),
        "{stderr}"
    );
    let out = cli(&["bench", "jwt", "--seconds", "0"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

/// `bench/load.sh` checks its settings before it installs, builds or starts
/// anything: each bad value is refused with a message naming the variable.
#[test]
fn load_script_refuses_bad_settings_by_name() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/load.sh");
    let cases: &[(&str, &str, &str)] = &[
        ("DURATION", "abc", "DURATION must be a whole number"),
        ("ROUNDS", "0", "ROUNDS must be a whole number from 1 to 99"),
        ("CONNECTIONS", "-5", "CONNECTIONS must be a whole number"),
        (
            "CONNECTIONS",
            "200000",
            "CONNECTIONS must be a whole number from 1 to 4000",
        ),
        ("HOLD", "0", "HOLD must be a whole number from 1 to 25000"),
        // More than one address's ephemeral ports: would fail only at the end.
        (
            "HOLD",
            "999999999",
            "HOLD must be a whole number from 1 to 25000",
        ),
        (
            "TOKENS",
            "99999999",
            "TOKENS must be a whole number from 1 to 1000",
        ),
        (
            "DURATION",
            "99999999999999999999",
            "DURATION must be a whole number",
        ),
        (
            "BASE_PORT",
            "80000",
            "BASE_PORT must be a whole number from 1024 to 65529",
        ),
        (
            "BASE_PORT",
            "80",
            "BASE_PORT must be a whole number from 1024",
        ),
        // Octal to bash arithmetic: the ports would not be the ones checked.
        ("BASE_PORT", "08000", "without leading zeros"),
        ("PROXY_CPU", "4096", "PROXY_CPU must be a CPU number below"),
        ("CLIENT_CPU", "1", "CLIENT_CPU and PROXY_CPU must differ"),
        // taskset reads 01 as CPU 1, the proxy's: refused, not compared as text.
        ("CLIENT_CPU", "01", "CLIENT_CPU must be a CPU number below"),
        ("SKIP_MICRO", "yes", "SKIP_MICRO must be 0 or 1"),
        ("STORE", "postgres", "STORE must be embedded or redis"),
    ];
    for (name, value, expected) in cases {
        let out = std::process::Command::new("bash")
            .arg(&script)
            .env(name, value)
            .env("PROXY_CPU", if *name == "PROXY_CPU" { *value } else { "1" })
            .env(
                "CLIENT_CPU",
                if *name == "CLIENT_CPU" { *value } else { "0" },
            )
            .output()
            .expect("bash runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}={value}: {stderr}");
        assert!(stderr.contains(expected), "{name}={value}: {stderr}");
        assert!(
            !stderr.contains("building"),
            "{name}={value} started work: {stderr}"
        );
    }
}
