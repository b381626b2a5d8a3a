//! The GitHub Actions runner protocol: workflow commands on stdout and the files the
//! runner reads back (`$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`).
//!
//! Outside Actions the same calls degrade to plain lines, so the binary stays a good CLI.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

/// Escapes a workflow command's message (`%`, `\r`, `\n`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Tells the runner to mask `secret` in every later log line. Empty values are skipped:
/// masking "" would be a no-op at best.
pub(crate) fn add_mask(secret: &str) {
    for line in secret.lines().map(str::trim).filter(|l| !l.is_empty()) {
        println!("::add-mask::{}", escape_data(line));
    }
}

/// Severity of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

/// Formats an annotation command (`::error title=...::message`).
pub fn annotation(level: Level, title: &str, message: &str) -> String {
    let cmd = match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Notice => "notice",
    };
    format!(
        "::{cmd} title={}::{}",
        escape_property(title),
        escape_data(message)
    )
}

/// Prints an annotation when running in Actions, else a plain `level: message` line on stderr.
pub fn annotate(in_actions: bool, level: Level, title: &str, message: &str) {
    if in_actions {
        println!("{}", annotation(level, title, message));
    } else {
        let word = match level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "note",
        };
        eprintln!("{word}: {message}");
    }
}

/// Whether log groups are opened: a step that deploys several functions at once turns
/// them off, since the runner cannot nest or interleave them.
static GROUPS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Stops opening `::group::` blocks for the rest of the process.
pub(crate) fn disable_groups() {
    GROUPS.store(false, std::sync::atomic::Ordering::Relaxed);
}

/// A `::group::` that ends when dropped, so every early return closes it.
pub struct Group {
    active: bool,
    step: usize,
}

impl Group {
    /// Opens a collapsible log group (only inside Actions), and records the phase for
    /// the report of a cancelled run.
    pub fn start(in_actions: bool, title: &str) -> Self {
        let in_actions = in_actions && GROUPS.load(std::sync::atomic::Ordering::Relaxed);
        if in_actions {
            println!("::group::{}", escape_data(title));
        }
        let phase = title.strip_prefix("lambda-deploy: ").unwrap_or(title);
        Self {
            active: in_actions,
            step: crate::cancel::step_started(phase),
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        crate::cancel::step_finished(self.step);
        if self.active {
            println!("::endgroup::");
        }
    }
}

/// Renders `name=value` pairs in the runner's file format. Single-line values use
/// `name=value`; multi-line values use a heredoc whose delimiter appears in no value.
pub fn render_outputs(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if value.contains('\n') || value.contains('\r') {
            let mut delim = String::from("ghadelimiter_lambda_deploy");
            let mut n = 0u32;
            while value.contains(&delim) || name.contains(&delim) {
                n += 1;
                delim = format!("ghadelimiter_lambda_deploy_{n}");
            }
            // The runner ends a line at `\n` or `\r\n`: a value ending in `\r` gets a
            // `\r\n` after it, or its own `\r` would be read as part of the line end.
            let end = if value.ends_with('\r') { "\r\n" } else { "\n" };
            let _ = writeln!(out, "{name}<<{delim}\n{value}{end}{delim}");
        } else {
            let _ = writeln!(out, "{name}={value}");
        }
    }
    out
}

/// One log event as one line: line breaks inside it (a payload, an error text) are
/// written as `\n` and `\r`, so no text a log line carries can start a line of its
/// own, which the runner would read as a workflow command (`::stop-commands::`).
pub fn one_line(event: &[u8]) -> Vec<u8> {
    let body = event.strip_suffix(b"\n").unwrap_or(event);
    let mut out = Vec::with_capacity(body.len() + 1);
    for &b in body {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b => out.push(b),
        }
    }
    out.push(b'\n');
    out
}

/// Where log events go: stderr, each event kept on one line ([`one_line`]).
pub struct LogWriter;

/// One event being formatted; written to stderr when the formatter is done with it.
pub struct EventBuffer(Vec<u8>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = EventBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        EventBuffer(Vec::new())
    }
}

impl Write for EventBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = io::stderr().write_all(&one_line(&self.0));
        }
    }
}

/// Appends `text` to the file the runner named (`$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`).
pub(crate) fn append(path: &Path, text: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_values_are_escaped() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
        assert_eq!(
            annotation(Level::Error, "input memory-size", "line1\nline2"),
            "::error title=input memory-size::line1%0Aline2"
        );
    }

    #[test]
    fn multiline_outputs_use_a_delimiter_absent_from_the_value() {
        let pairs = vec![
            ("status".to_string(), "deployed".to_string()),
            (
                "aliases".to_string(),
                "a\nghadelimiter_lambda_deploy\nb".to_string(),
            ),
        ];
        let text = render_outputs(&pairs);
        assert_eq!(
            text,
            "status=deployed\naliases<<ghadelimiter_lambda_deploy_1\na\nghadelimiter_lambda_deploy\nb\nghadelimiter_lambda_deploy_1\n"
        );
    }
}
