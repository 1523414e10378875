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
