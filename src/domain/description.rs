//! The one codec of the provenance every published version carries in its description:
//!
//! ```text
//! <ref label> @ <short sha> · <run url>
//! v1.2.3 @ 0123456 · https://github.com/o/r/actions/runs/42
//! ```
//!
//! [`VersionDescription::encode`] writes it and [`VersionDescription::parse`] reads it back;
//! the tag rules, the release targets and the run order all read descriptions through
//! [`VersionDescription::parse`], so the format lives here alone.
//!
//! A part that is unknown is left out with its separator (`main @ 0123456`,
//! `@ 0123456 · <url>`, `v1.2.3 · <url>`); nothing known gives an empty string. Lambda keeps
//! at most [`MAX_DESCRIPTION_LEN`] characters: a long label is cut on a character boundary
//! and ends in `…`, and the run URL is dropped only if it alone would not fit, so the SHA
//! always survives.

use semver::Version;

/// Longest Lambda version description. Kept as a byte budget, which also bounds characters.
pub const MAX_DESCRIPTION_LEN: usize = 256;

const SHA_MARK: &str = "@ ";
const LABEL_END: &str = " @ ";
const URL_SEPARATOR: &str = " · ";
const ELLIPSIS: char = '…';
const RUNS_MARK: &str = "/actions/runs/";

/// What a version's description records about the run that published it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionDescription {
    /// What was deployed: the tag (`v1.2.3`), the branch, `pull request #12`, another ref.
    pub label: Option<String>,
    /// The seven-digit abbreviation of the commit.
    pub sha: Option<String>,
    /// The workflow run's page (`…/actions/runs/<id>`).
    pub run_url: Option<String>,
}

/// The release a Git tag names: `v1.2.3` or `1.2.3` (a leading lowercase `v` is optional),
/// with optional prerelease (`v1.2.3-rc.1`) and build metadata (`v1.2.3+build.5`).
/// Anything that is not full semver (`v1`, `v1.2`, `release-2024`, `1.2.3.4`, `v01.2.3`)
/// gives `None`.
pub fn release_version(tag: &str) -> Option<Version> {
    Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

impl VersionDescription {
    /// The description Lambda gets: at most [`MAX_DESCRIPTION_LEN`] bytes (see the module
    /// docs for what is cut first).
    pub(crate) fn encode(&self) -> String {
        self.fitted().render()
    }

    /// The fields as [`VersionDescription::encode`] writes them: the label cut to the room
    /// the SHA and URL leave (or left out when no room is left), the URL dropped when it
    /// alone would not fit.
    pub(crate) fn fitted(&self) -> Self {
        let mut fit = self.clone();
        if fit.tail().len() > MAX_DESCRIPTION_LEN {
            fit.run_url = None;
        }
        let Some(label) = &self.label else {
            return fit;
        };
        let room = MAX_DESCRIPTION_LEN.saturating_sub(fit.tail().len() + fit.joiner().len());
        fit.label = if label.len() <= room {
            Some(label.clone())
        } else if room > ELLIPSIS.len_utf8() {
            let mut cut = room - ELLIPSIS.len_utf8();
            while !label.is_char_boundary(cut) {
                cut -= 1;
            }
            Some(format!("{}{ELLIPSIS}", &label[..cut]))
        } else {
            None
        };
        fit
    }

    /// Reads a description back. Parts this project did not write are `None`; a
    /// description written by hand or by another tool parses to whatever of the three
    /// parts it happens to hold.
    pub fn parse(desc: &str) -> Self {
        let sha = parse_sha(desc);
        Self {
            label: parse_label(desc).map(str::to_string),
            run_url: parse_run_url(desc, sha.is_some()),
            sha,
        }
    }

    /// The release the label names (`v1.3.0 @ …`), when it is a semver tag.
    pub fn release(&self) -> Option<Version> {
        self.label.as_deref().and_then(release_version)
    }

    /// The workflow run id: the number after `/actions/runs/` in the run URL.
    pub fn run_id(&self) -> Option<u64> {
        run_id_in(self.run_url.as_deref()?)
    }

    /// `@ <sha> · <url>`, `@ <sha>`, `<url>` or nothing.
    fn tail(&self) -> String {
        let sha = self.sha.as_ref().map(|s| format!("{SHA_MARK}{s}"));
        match (sha, self.run_url.as_deref()) {
            (Some(s), Some(u)) => format!("{s}{URL_SEPARATOR}{u}"),
            (Some(s), None) => s,
            (None, Some(u)) => u.to_string(),
            (None, None) => String::new(),
        }
    }

    /// Between label and tail: " " before the SHA mark, " · " before a bare URL.
    fn joiner(&self) -> &'static str {
        match (self.sha.is_some(), self.run_url.is_some()) {
            (false, false) => "",
            (true, _) => " ",
            (false, true) => URL_SEPARATOR,
        }
    }

    fn render(&self) -> String {
        let tail = self.tail();
        match &self.label {
            Some(label) => format!("{label}{}{tail}", self.joiner()),
            None => tail,
        }
    }
}

/// The short SHA: the seven lowercase hex digits after `@ ` (at the start or after a
/// space), followed by a space or the end.
fn parse_sha(desc: &str) -> Option<String> {
    // The mark at the start, then after every " @ ", overlapping ones included (a label
    // may itself hold "@ ").
    let starts = desc.strip_prefix(SHA_MARK).into_iter().chain(
        desc.char_indices()
            .filter_map(|(at, _)| desc[at..].strip_prefix(LABEL_END)),
    );
    starts.into_iter().find_map(|rest| {
        let sha = rest.get(..7)?;
        let hex = sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let ends = matches!(rest.as_bytes().get(7), None | Some(b' '));
        (hex && ends).then(|| sha.to_string())
    })
}

/// The text before ` @ ` (or before ` · ` when there is no SHA), trimmed; `None` when the
/// description starts with the SHA mark or the label is empty.
fn parse_label(desc: &str) -> Option<&str> {
    if desc.starts_with(SHA_MARK) {
        return None;
    }
    let end = desc
        .find(LABEL_END)
        .or_else(|| desc.find(URL_SEPARATOR))
        .unwrap_or(desc.len());
    let label = desc[..end].trim();
    (!label.is_empty() && !looks_like_url(label)).then_some(label)
}

/// The run URL: what follows the last ` · `, or a description that is a URL alone.
fn parse_run_url(desc: &str, has_sha: bool) -> Option<String> {
    let url = match desc.rfind(URL_SEPARATOR) {
        Some(at) => &desc[at + URL_SEPARATOR.len()..],
        None if !has_sha => desc,
        None => return None,
    };
    looks_like_url(url).then(|| url.to_string())
}

fn looks_like_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://")) && !s.contains(' ')
}

fn run_id_in(url: &str) -> Option<u64> {
    let at = url.rfind(RUNS_MARK)?;
    let digits: String = url[at + RUNS_MARK.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests;
