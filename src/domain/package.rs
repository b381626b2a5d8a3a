//! A built package and the S3 location packages go through, as plain data: the packager
//! writes the first, the inputs give the second, the S3 adapter uses both.

use serde::Serialize;

/// What a package looks like once written (or inspected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInfo {
    /// `base64(sha256(zip bytes))`: exactly what Lambda reports as `CodeSha256`.
    pub code_sha256: String,
    /// Lowercase hex of the same SHA-256 digest.
    pub sha256_hex: String,
    /// Size of the zip file in bytes.
    pub size: u64,
    /// Sum of the uncompressed sizes of all entries.
    pub unzipped_size: u64,
    /// Number of entries: files, symlinks and directories.
    pub entries: usize,
    /// The ten largest paths by uncompressed size, biggest first. Folders are
    /// aggregated (and end with '/'), files appear on their own; ties are
    /// ordered by path. Meant for "package too big" messages.
    pub largest: Vec<(String, u64)>,
}

/// An S3 location zips are uploaded through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct S3Target {
    pub bucket: String,
    pub prefix: String,
}

/// The function tag that says which source tree gave the function's code.
pub const TREE_TAG: &str = "lambda-deploy:tree";

/// What [`TREE_TAG`] holds: a tree digest and the `CodeSha256` of the package built from
/// that tree. Recorded after a deploy; read by the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRecord {
    /// Lowercase hex SHA-256 of the tree ([`crate::package::TreeDigest::hex`]).
    pub digest: String,
    /// `CodeSha256` (base64) of the package that tree gave.
    pub code_sha256: String,
}

impl TreeRecord {
    /// The tag value: `<digest> <CodeSha256>` (tag values allow spaces and base64's
    /// `+`, `/` and `=`).
    pub(crate) fn tag_value(&self) -> String {
        format!("{} {}", self.digest, self.code_sha256)
    }

    /// Reads a tag value; anything not written by [`Self::tag_value`] is `None`.
    pub fn parse(value: &str) -> Option<Self> {
        let (digest, code) = value.trim().split_once(' ')?;
        let hex = digest.len() == 64
            && digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let base64 = code.len() == 44
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
        (hex && base64).then(|| Self {
            digest: digest.to_string(),
            code_sha256: code.to_string(),
        })
    }

    /// Whether a function whose code is `live_code_sha256` holds the package of the tree
    /// with `digest`. The digest alone is never enough: code changed since the record
    /// was written (in the console, by another tool) has another `CodeSha256`.
    pub(crate) fn vouches_for(&self, digest: &str, live_code_sha256: &str) -> bool {
        self.digest == digest && self.code_sha256 == live_code_sha256
    }
}

/// The hex form of a base64 SHA-256 (Lambda's `CodeSha256`), as package keys use it.
pub(crate) fn hex_of(code_sha256: &str) -> Option<String> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(code_sha256)
        .ok()
        .filter(|d| d.len() == 32)?;
    Some(raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// How a layer version's description names the tree it was built from. A layer version
/// never changes once published, so this record cannot go stale.
const LAYER_TREE: &str = "tree:";

/// A layer version's description (at most 256 characters, Lambda's limit): the tree
/// digest first, when known, then `base`.
pub(crate) fn layer_description(base: &str, digest: Option<&str>) -> String {
    let full = match digest {
        Some(d) => format!("{LAYER_TREE}{d} {base}"),
        None => base.to_string(),
    };
    full.trim_end().chars().take(256).collect()
}

/// The tree digest a layer version's description names, if any.
pub fn layer_tree(description: &str) -> Option<&str> {
    let rest = description.strip_prefix(LAYER_TREE)?;
    let digest = rest.split(' ').next()?;
    (digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit())).then_some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_description_names_its_tree_first_and_fits_lambdas_limit() {
        let long = "x".repeat(300);
        let d = layer_description(&long, Some(DIGEST));
        assert_eq!(d.chars().count(), 256);
        assert_eq!(layer_tree(&d), Some(DIGEST));
        assert_eq!(layer_tree(&layer_description("main abc123", None)), None);
        assert_eq!(
            layer_tree(&layer_description("", Some(DIGEST))),
            Some(DIGEST)
        );
        assert_eq!(layer_tree("tree:abc something"), None);
        assert_eq!(layer_tree("a tree:{DIGEST}"), None);
    }

    #[test]
    fn hex_of_reads_only_a_sha256() {
        assert_eq!(hex_of(CODE).map(|h| h.len()), Some(64));
        assert_eq!(hex_of("not base64!"), None);
        assert_eq!(hex_of("AAAA"), None);
    }

    const DIGEST: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const CODE: &str = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";

    #[test]
    fn a_record_reads_back_what_it_wrote() {
        let r = TreeRecord {
            digest: DIGEST.into(),
            code_sha256: CODE.into(),
        };
        assert_eq!(TreeRecord::parse(&r.tag_value()), Some(r.clone()));
        assert!(r.tag_value().len() <= 256, "Lambda's limit for a tag value");
    }

    #[test]
    fn anything_else_is_no_record() {
        for bad in [
            "",
            DIGEST,
            &format!("{DIGEST}{CODE}"),
            &format!("{} {CODE}", &DIGEST[1..]),
            &format!("{} {CODE}", DIGEST.to_uppercase()),
            &format!("{DIGEST} {}", &CODE[1..]),
            &format!("{DIGEST} {CODE} extra"),
        ] {
            assert_eq!(TreeRecord::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_the_same_tree_on_the_same_code_is_vouched_for() {
        let r = TreeRecord {
            digest: DIGEST.into(),
            code_sha256: CODE.into(),
        };
        assert!(r.vouches_for(DIGEST, CODE));
        let other_tree = DIGEST.replace('0', "1");
        assert!(!r.vouches_for(&other_tree, CODE));
        let changed_in_console = "AAAAgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";
        assert!(!r.vouches_for(DIGEST, changed_in_console));
    }
}
