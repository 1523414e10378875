//! The commands' standard output. A reader that closes early (`portcullis
//! keys list | head -1`) is not a failure: like a Unix tool killed by
//! SIGPIPE, the command stops quietly with success. `println!` would panic
//! instead, and resetting SIGPIPE would take unsafe code.

use std::fmt;
use std::io::{self, Write};

/// Standard output was closed by its reader; [`super::run`] turns this into
/// a quiet successful exit.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct StdoutClosed;

/// Writes `args` to standard output and flushes. A closed reader is
/// [`StdoutClosed`]; any other failure is an error naming stdout.
pub fn write(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to standard output")),
    }
}

/// `println!` through [`write`]: evaluates to `anyhow::Result<()>`.
macro_rules! outln {
    () => {
        $crate::cli::out::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`write`]: evaluates to `anyhow::Result<()>`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::out::write(format_args!($($arg)*))
    };
}

pub(crate) use {out, outln};
