//! The audit report: checks with a stable id, a critical flag and a result,
//! rendered as Markdown or JSON, and the exit status they imply.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde::Serialize;

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The requirement holds.
    Pass,
    /// The requirement does not hold.
    Fail,
    /// Worth attention, never fails the audit.
    Warn,
    /// Not evaluated; the detail says why.
    Skipped,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "FAIL",
            Self::Warn => "warn",
            Self::Skipped => "skipped",
        }
    }
}

/// One check of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable identifier, e.g. `TOKEN-001` (documented in the README).
    pub id: &'static str,
    /// What is checked, in a few words.
    pub title: &'static str,
    /// A failure of a critical check makes the audit exit 1.
    pub critical: bool,
    /// The result.
    pub result: Outcome,
    /// What was measured, or why the check was skipped. Never a secret.
    pub detail: String,
}

impl Check {
    /// A check with its id, title and critical flag; the result is set by
    /// [`Check::pass`], [`Check::fail`], [`Check::warn`] or [`Check::skip`].
    pub const fn spec(id: &'static str, title: &'static str, critical: bool) -> Spec {
        Spec {
            id,
            title,
            critical,
        }
    }
}

/// A check not yet evaluated: id, title and critical flag.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// See [`Check::id`].
    pub id: &'static str,
    /// See [`Check::title`].
    pub title: &'static str,
    /// See [`Check::critical`].
    pub critical: bool,
}

impl Spec {
    /// The check with `result` and `detail`.
    pub fn result(self, result: Outcome, detail: impl Into<String>) -> Check {
        Check {
            id: self.id,
            title: self.title,
            critical: self.critical,
            result,
            detail: detail.into(),
        }
    }

    /// Passed.
    pub fn pass(self, detail: impl Into<String>) -> Check {
        self.result(Outcome::Pass, detail)
    }

    /// Failed.
    pub fn fail(self, detail: impl Into<String>) -> Check {
        self.result(Outcome::Fail, detail)
    }

    /// Warned.
    pub fn warn(self, detail: impl Into<String>) -> Check {
        self.result(Outcome::Warn, detail)
    }

    /// Skipped, with the reason.
    pub fn skip(self, reason: impl Into<String>) -> Check {
        self.result(Outcome::Skipped, reason)
    }

    /// Passes when `ok`, else fails; `detail` either way.
    pub fn judge(self, ok: bool, detail: impl Into<String>) -> Check {
        if ok {
            self.pass(detail)
        } else {
            self.fail(detail)
        }
    }
}

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A Markdown table, for people and CI logs.
    #[default]
    Markdown,
    /// One JSON object, for tools.
    Json,
}

/// A finished audit.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was audited (a configuration file, a token, a URL).
    pub subject: String,
    /// Every check, in a stable order.
    pub checks: Vec<Check>,
}

/// Counts by outcome, for the summary line and the JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Passed checks.
    pub pass: usize,
    /// Failed checks.
    pub fail: usize,
    /// Failed critical checks.
    pub critical_fail: usize,
    /// Warnings.
    pub warn: usize,
    /// Skipped checks.
    pub skipped: usize,
}

impl Report {
    /// A report on `subject`.
    pub fn new(subject: impl Into<String>, checks: Vec<Check>) -> Self {
        Self {
            subject: subject.into(),
            checks,
        }
    }

    /// Counts by outcome.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.checks {
            match c.result {
                Outcome::Pass => s.pass += 1,
                Outcome::Fail if c.critical => {
                    s.fail += 1;
                    s.critical_fail += 1;
                }
                Outcome::Fail => s.fail += 1,
                Outcome::Warn => s.warn += 1,
                Outcome::Skipped => s.skipped += 1,
            }
        }
        s
    }

    /// 0 when no critical check failed, else 1.
    pub fn exit_code(&self) -> ExitCode {
        if self.summary().critical_fail == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }

    /// The report in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Markdown => self.markdown(),
            Format::Json => self.json(),
        }
    }

    /// A Markdown document: a title, a summary and one table row per check.
    pub fn markdown(&self) -> String {
        let s = self.summary();
        let mut out = format!("# portcullis audit: {}\n\n", cell(&self.subject));
        let _ = writeln!(
            out,
            "{} passed, {} failed ({} critical), {} warnings, {} skipped\n",
            s.pass, s.fail, s.critical_fail, s.warn, s.skipped
        );
        out.push_str("| id | check | critical | result | detail |\n");
        out.push_str("|----|-------|----------|--------|--------|\n");
        for c in &self.checks {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                c.id,
                cell(c.title),
                if c.critical { "yes" } else { "no" },
                c.result.label(),
                cell(&c.detail)
            );
        }
        out
    }

    /// `{"subject", "summary", "checks": [{id, title, critical, result, detail}]}`.
    pub fn json(&self) -> String {
        let value = serde_json::json!({
            "subject": self.subject,
            "summary": self.summary(),
            "checks": self.checks,
        });
        serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".into())
    }
}

/// Text safe inside a Markdown table cell: one line, `|` escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Spec = Check::spec("TEST-001", "a critical check", true);
    const B: Spec = Check::spec("TEST-002", "a minor check", false);

    /// A critical failure gives exit 1; a minor failure or a warning does not.
    #[test]
    fn exit_code_follows_critical_failures() {
        let ok = Report::new("x", vec![A.pass("fine"), B.fail("minor"), A.warn("hm")]);
        assert_eq!(ok.exit_code(), ExitCode::SUCCESS);
        assert_eq!(ok.summary().fail, 1);
        let bad = Report::new("x", vec![A.fail("broken"), B.pass("")]);
        assert_eq!(bad.exit_code(), ExitCode::from(1));
        assert_eq!(bad.summary().critical_fail, 1);
    }

    /// Markdown has one escaped row per check; JSON carries every field.
    #[test]
    fn renders_markdown_and_json() {
        let r = Report::new("cfg", vec![A.fail("a | b\nc"), B.skip("no file")]);
        let md = r.markdown();
        assert!(
            md.contains("| TEST-001 | a critical check | yes | FAIL | a \\| b c |"),
            "{md}"
        );
        assert!(md.contains("| TEST-002 | a minor check | no | skipped | no file |"));
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["checks"][0]["id"], "TEST-001");
        assert_eq!(v["checks"][0]["critical"], true);
        assert_eq!(v["checks"][0]["result"], "fail");
        assert_eq!(v["checks"][1]["result"], "skipped");
        assert_eq!(v["summary"]["critical_fail"], 1);
    }
}
