//! `portcullis hash-password`: reads a password and prints its PHC hash.

use super::out::outln;
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use crate::auth::password::{check_policy, hash_password};

/// Reads the password from standard input (one line) or, on a terminal,
/// prompts twice without echo; prints the PBKDF2-SHA256 PHC string.
pub fn run() -> anyhow::Result<ExitCode> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat: ")?;
        if first != second {
            eprintln!("portcullis: the passwords differ");
            return Ok(ExitCode::from(1));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    if let Err(e) = check_policy(&password) {
        eprintln!("portcullis: {e}");
        return Ok(ExitCode::from(1));
    }
    outln!("{}", hash_password(&password)?)?;
    Ok(ExitCode::SUCCESS)
}
