//! `portcullis bench`: measurements on this machine, to choose parameters.
//!
//! - [`password`]: PBKDF2-HMAC-SHA256 at a ladder of iteration counts, and a
//!   count for a target latency (never below the 600,000 floor);
//! - [`jwt`]: RS256 sign and verify operations per second.
//!
//! Progress goes to stderr while they run; results to stdout.

pub mod jwt;
pub mod password;
