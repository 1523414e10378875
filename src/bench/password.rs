//! PBKDF2 calibration: time the product's PBKDF2-HMAC-SHA256 at several
//! iteration counts and recommend one for a target latency.

use std::fmt::Write as _;
use std::time::Instant;

use crate::auth::password::{OUTPUT_LEN, PBKDF2_ITERATIONS, SALT_LEN, pbkdf2_sha256};

/// Points measured on the ladder.
pub const STEPS: u32 = 4;
/// Recommendations are rounded down to a multiple of this.
const ROUND_TO: u64 = 10_000;

/// One measured point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Iterations hashed.
    pub iterations: u32,
    /// Best of the runs, in milliseconds.
    pub ms: f64,
}

/// The calibration result.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// The measured ladder.
    pub points: Vec<Point>,
    /// The target latency.
    pub target_ms: u64,
    /// Iterations the target implies on this machine.
    pub implied: u64,
    /// What to configure: `implied`, but never below [`PBKDF2_ITERATIONS`].
    pub recommended: u64,
}

/// The ladder: [`STEPS`] evenly spaced counts up to `max` (at least 1 each).
pub fn ladder(max: u32) -> Vec<u32> {
    (1..=STEPS).map(|k| (max / STEPS * k).max(1)).collect()
}

/// Best of two hashes of `iterations`, in milliseconds.
fn measure(iterations: u32) -> f64 {
    let salt = [7u8; SALT_LEN];
    let mut out = [0u8; OUTPUT_LEN];
    (0..2)
        .map(|_| {
            let start = Instant::now();
            pbkdf2_sha256(b"portcullis-bench-password", &salt, iterations, &mut out);
            start.elapsed().as_secs_f64() * 1000.0
        })
        .fold(f64::INFINITY, f64::min)
}

/// Measures the ladder up to `max_iterations`, calling `progress` before each
/// point, and derives the recommendation for `target_ms`.
pub fn calibrate(
    target_ms: u64,
    max_iterations: u32,
    mut progress: impl FnMut(u32),
) -> Calibration {
    let points: Vec<Point> = ladder(max_iterations)
        .into_iter()
        .map(|iterations| {
            progress(iterations);
            Point {
                iterations,
                ms: measure(iterations),
            }
        })
        .collect();
    // The largest point has the least timer noise per iteration.
    let last = points.last().copied().unwrap_or(Point {
        iterations: 1,
        ms: 1.0,
    });
    let per_iteration = last.ms.max(f64::MIN_POSITIVE) / f64::from(last.iterations);
    let implied = ((target_ms as f64 / per_iteration) as u64) / ROUND_TO * ROUND_TO;
    Calibration {
        points,
        target_ms,
        implied,
        recommended: implied.max(u64::from(PBKDF2_ITERATIONS)),
    }
}

impl Calibration {
    /// The table and the recommendation, for stdout.
    pub fn render(&self) -> String {
        let mut out = String::from("iterations  ms\n");
        for p in &self.points {
            let _ = writeln!(out, "{:>10}  {:.1}", p.iterations, p.ms);
        }
        let _ = writeln!(
            out,
            "\nrecommended: {} iterations for a {} ms target (this machine: {} iterations in {} ms)",
            self.recommended, self.target_ms, self.implied, self.target_ms
        );
        if self.implied < u64::from(PBKDF2_ITERATIONS) {
            let _ = writeln!(
                out,
                "note: the target implies fewer than {PBKDF2_ITERATIONS} iterations, the OWASP floor; \
                 never configure fewer (a hash costs more than {} ms here)",
                self.target_ms
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ladder is evenly spaced and ends at the maximum.
    #[test]
    fn ladder_shape() {
        assert_eq!(
            ladder(2_000_000),
            vec![500_000, 1_000_000, 1_500_000, 2_000_000]
        );
        assert_eq!(ladder(2), vec![1, 1, 1, 1]);
    }

    /// A tiny target never recommends fewer than the floor, and says so.
    #[test]
    fn floor_holds() {
        let c = calibrate(1, 4_000, |_| {});
        assert_eq!(c.points.len(), STEPS as usize);
        assert_eq!(c.recommended, u64::from(PBKDF2_ITERATIONS));
        assert!(c.render().contains("fewer than 600000"), "{}", c.render());
    }
}
