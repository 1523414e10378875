//! `portcullis audit`: the security checklist as a command.
//!
//! - [`config_checks`]: the configuration and the files it names;
//! - [`token`]: one JWT, decoded without trusting it, optionally verified
//!   against a JWKS with the product's strict verifier;
//! - [`headers`]: the security headers of a live URL ([`fetch`] gets it).
//!
//! Every check has a stable id, a critical flag and a result ([`report`]);
//! a failed critical check makes the command exit 1.

pub mod config_checks;
pub mod fetch;
pub mod headers;
pub mod report;
pub mod set_cookie;
pub mod token;
