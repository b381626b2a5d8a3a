//! Exclude patterns: globs relative to the source directory.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::PackageError;

/// A set of exclude globs, matched against paths relative to the source
/// directory with '/' separators.
///
/// `*` and `?` never cross a '/', `**` matches any number of folders
/// (`**/*.pyc` excludes every `.pyc` file, `*.pyc` only those at the top).
/// A pattern that matches a directory excludes everything below it. A leading
/// `./` or `/` is ignored; a trailing `/` makes a pattern match directories
/// only. Blank lines and lines starting with `#` are ignored.
#[derive(Debug, Clone)]
pub struct ExcludeSet {
    any: GlobSet,
    dirs_only: GlobSet,
    count: usize,
    /// The patterns as given (trimmed, comments and blank lines left out), in order.
    rules: Vec<String>,
}

impl Default for ExcludeSet {
    fn default() -> Self {
        Self {
            any: GlobSet::empty(),
            dirs_only: GlobSet::empty(),
            count: 0,
            rules: Vec::new(),
        }
    }
}

impl ExcludeSet {
    /// Build the set from newline-separated or already-split glob patterns.
    ///
    /// # Errors
    /// [`PackageError::Pattern`] naming the first pattern that is not a valid glob.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, PackageError> {
        let mut any = GlobSetBuilder::new();
        let mut dirs_only = GlobSetBuilder::new();
        let mut count = 0;
        let mut rules = Vec::new();
        for line in patterns.iter().flat_map(|p| p.as_ref().lines()) {
            let raw = line.trim();
            if raw.is_empty() || raw.starts_with('#') {
                continue;
            }
            let mut pat = raw;
            while let Some(rest) = pat.strip_prefix("./") {
                pat = rest;
            }
            let pat = pat.trim_start_matches('/');
            let (pat, dir_only) = match pat.strip_suffix('/') {
                Some(p) => (p.trim_end_matches('/'), true),
                None => (pat, false),
            };
            if pat.is_empty() {
                return Err(PackageError::Pattern {
                    pattern: raw.to_string(),
                    reason: "it matches the whole source-dir".to_string(),
                });
            }
            let glob = GlobBuilder::new(pat)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| PackageError::Pattern {
                    pattern: raw.to_string(),
                    reason: e.kind().to_string(),
                })?;
            if dir_only {
                dirs_only.add(glob);
            } else {
                any.add(glob);
            }
            count += 1;
            rules.push(raw.to_string());
        }
        let build = |b: GlobSetBuilder| {
            b.build().map_err(|e| PackageError::Pattern {
                pattern: e.glob().unwrap_or("").to_string(),
                reason: e.kind().to_string(),
            })
        };
        Ok(Self {
            any: build(any)?,
            dirs_only: build(dirs_only)?,
            count,
            rules,
        })
    }

    /// True when no pattern was given (comments and blank lines aside).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The patterns as given, in order (what a tree digest covers of the rules).
    pub(crate) fn rules(&self) -> &[String] {
        &self.rules
    }

    /// Whether `rel` (relative, '/' separators, no trailing '/') is excluded.
    pub(crate) fn is_excluded(&self, rel: &str, is_dir: bool) -> bool {
        self.count != 0 && (self.any.is_match(rel) || (is_dir && self.dirs_only.is_match(rel)))
    }
}
