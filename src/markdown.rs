//! Markdown that text from outside cannot break out of. Branch and tag names, payloads
//! a function returned and error texts end up in table cells and list items of the job
//! summary and the pull request comment; a `|` there would add a cell, a newline end the
//! table, a backtick close a code span, and `<` open HTML. Every such value goes through
//! [`text`] or [`code`] here, so the two renderers cannot drift apart.

use std::fmt::Write as _;

/// Plain text, safe in a table cell or a list item: one line, and every character that
/// markdown or HTML would act on written as an entity, so it shows as itself.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' | '\n' | '\t' => out.push(' '),
            '|' | '`' | '\\' | '*' | '_' | '[' | ']' | '~' | '@' => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// An inline code span holding `s` literally, safe in a table cell: one line, `|`
/// escaped the way GFM tables allow inside code, and a backtick fence longer than any
/// run of backticks in `s`. An empty value gives an empty string.
pub fn code(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.is_empty() {
        return String::new();
    }
    let fence = "`".repeat(longest_run(&one_line, '`') + 1);
    let body = one_line.replace('|', "\\|");
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// `render(max_rows)` under `limit` bytes: in full when it fits, else with its long lists
/// cut to `short_rows` rows, else cut at a character boundary with a note that the `what`
/// was truncated.
pub fn fit(
    limit: usize,
    short_rows: usize,
    what: &str,
    render: impl Fn(usize) -> String,
) -> String {
    let full = render(usize::MAX);
    if full.len() <= limit {
        return full;
    }
    let short = render(short_rows);
    if short.len() <= limit {
        return short;
    }
    let mut cut = limit.saturating_sub(64);
    while !short.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\n\n_({what} truncated)_\n", &short[..cut])
}

/// The run's warnings as a list under a bold heading, at most `max_rows` of them; nothing
/// when there are none.
pub fn warnings(md: &mut String, warnings: &[String], max_rows: usize) {
    if warnings.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n**Warnings**\n");
    for w in warnings.iter().take(max_rows) {
        let _ = writeln!(md, "- {}", text(w));
    }
}

/// The closing line: a link to the workflow run when known, and lambda-deploy's version.
pub(crate) fn footer(run_url: Option<&str>) -> String {
    let run = run_url
        .map(|u| format!("[workflow run]({u}) · "))
        .unwrap_or_default();
    format!(
        "\n<sub>{run}lambda-deploy {}</sub>\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// A fenced code block holding `s` as it is (info string `lang`), with a fence no line
/// of `s` can close.
pub fn block(s: &str, lang: &str) -> String {
    // The fence is measured on what is written: dropping `\r` can join two runs.
    let body = s.replace('\r', "");
    let fence = "`".repeat(longest_run(&body, '`').max(2) + 1);
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

/// A URL shown as itself (GitHub links it) when it holds only URL characters, else as
/// code, so it cannot carry markdown or HTML.
pub fn url(u: &str) -> String {
    if url_safe(u) { u.to_string() } else { code(u) }
}

/// A commit as a code span, linked when its URL is plain.
pub fn commit(sha: &str, url: Option<&str>) -> String {
    match url {
        Some(u) if url_safe(u) => format!("[{}]({u})", code(sha)),
        _ => code(sha),
    }
}

fn url_safe(u: &str) -> bool {
    (u.starts_with("https://") || u.starts_with("http://"))
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~:/?#@!$&'*+,;=%".contains(&b))
}

/// At most `max` characters of `s`, and whether it was cut.
pub(crate) fn capped(s: &str, max: usize) -> (&str, bool) {
    match s.char_indices().nth(max) {
        Some((at, _)) => (&s[..at], true),
        None => (s, false),
    }
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut now) = (0, 0);
    for x in s.chars() {
        now = if x == c { now + 1 } else { 0 };
        best = best.max(now);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_writes_active_characters_as_entities() {
        assert_eq!(text("a|b\r\nc"), "a&#124;b  c");
        assert_eq!(text("<b>`x`</b>"), "&lt;b&gt;&#96;x&#96;&lt;/b&gt;");
        assert_eq!(text("plain words, ok."), "plain words, ok.");
    }

    #[test]
    fn code_spans_hold_backticks_and_pipes() {
        assert_eq!(code("v1.2.3"), "`v1.2.3`");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("x\ny"), "`x y`");
        assert_eq!(code(""), "");
    }

    #[test]
    fn blocks_cannot_be_closed_from_inside() {
        assert_eq!(block("a\n```\nb", ""), "````\na\n```\nb\n````\n");
        assert_eq!(block("x", "sh"), "```sh\nx\n```\n");
        // Regression: the fence was measured before `\r` was dropped, so "`\r```" became
        // four backticks inside a four-backtick fence (found by tests/output_hygiene.rs).
        assert_eq!(block("`\r```", ""), "`````\n````\n`````\n");
    }

    #[test]
    fn only_plain_urls_are_linked() {
        assert_eq!(url("https://x.on.aws/"), "https://x.on.aws/");
        assert_eq!(url("https://x/a|b"), "`https://x/a\\|b`");
        assert_eq!(commit("abc", Some("https://g/c")), "[`abc`](https://g/c)");
        assert_eq!(commit("abc", Some("https://g/c)<b>")), "`abc`");
    }

    #[test]
    fn capping_counts_characters() {
        assert_eq!(capped("héllo", 2), ("hé", true));
        assert_eq!(capped("hé", 2), ("hé", false));
    }
}
