//! Domain newtypes: strings that carry AWS's or Git's own rules, checked once in `FromStr`.
//!
//! A value of one of these types is valid by construction, so later stages trust it.
//! The error text says what the rule is; the caller adds which input it came from.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The value as Lambda or Git spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(
    /// A function name, partial ARN (`123456789012:function:name`) or full ARN, as
    /// Lambda's `FunctionName` parameter accepts (1 to 64 characters for a plain name).
    FunctionName
);

string_newtype!(
    /// A Lambda alias name: 1 to 128 characters of letters, digits, `-` and `_`, not all
    /// digits (Lambda reads an all-digit name as a version). Dots are not allowed.
    AliasName
);

string_newtype!(
    /// A full 40-hex-digit Git commit SHA.
    GitSha
);

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

impl FromStr for FunctionName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("is empty; give the function's name or ARN".into());
        }
        // arn:aws:lambda:us-east-1:123456789012:function:name[:qualifier] or 123456789012:function:name
        let name = if let Some(rest) = s.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.split(':').collect();
            if parts.len() < 6 || parts[1] != "lambda" || parts[4] != "function" {
                return Err(format!(
                    "'{s}' is not a Lambda function ARN; expected arn:<partition>:lambda:<region>:<account>:function:<name>"
                ));
            }
            if parts.len() > 6 {
                return Err(format!(
                    "'{s}' carries a version or alias qualifier; give the unqualified function ARN and use the alias input"
                ));
            }
            parts[5]
        } else if s.contains(':') {
            let parts: Vec<&str> = s.split(':').collect();
            if parts.len() != 3
                || parts[1] != "function"
                || parts[0].len() != 12
                || !parts[0].bytes().all(|b| b.is_ascii_digit())
            {
                return Err(format!(
                    "'{s}' is neither a function name nor an ARN; a name uses only letters, digits, '-' and '_'"
                ));
            }
            parts[2]
        } else {
            s
        };
        if name.is_empty() || name.len() > 64 {
            return Err(format!("'{name}' must be 1 to 64 characters long"));
        }
        if let Some(bad) = name.chars().find(|c| !is_name_char(*c)) {
            return Err(format!(
                "'{name}' contains '{bad}'; a function name uses only letters, digits, '-' and '_'"
            ));
        }
        Ok(Self(s.to_string()))
    }
}

/// Longest plain Lambda function name.
pub(crate) const MAX_FUNCTION_NAME_LEN: usize = 64;

impl FunctionName {
    /// The plain name, without any ARN prefix.
    pub(crate) fn short_name(&self) -> &str {
        self.0.rsplit(':').next().unwrap_or(&self.0)
    }

    /// The function a pull request's preview deploys to: `<name>-pr-<N>`, in the same
    /// account and region when `self` is an ARN. When that is over 64 characters the name
    /// is cut and a short hash of the whole name is added (`<cut>-<8 hex>-pr-<N>`), so two
    /// long names that share a prefix never share a preview, and every run finds it again.
    pub fn preview(&self, pr_number: u64) -> Self {
        let short = self.short_name();
        let suffix = format!("-pr-{pr_number}");
        let name = if short.len() + suffix.len() <= MAX_FUNCTION_NAME_LEN {
            format!("{short}{suffix}")
        } else {
            use sha2::Digest as _;
            let digest = sha2::Sha256::digest(short.as_bytes());
            let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
            // Names are ASCII (checked in `from_str`), so any byte index is a boundary.
            let keep = MAX_FUNCTION_NAME_LEN.saturating_sub(suffix.len() + 1 + hash.len());
            let cut = short[..keep.min(short.len())].trim_end_matches(['-', '_']);
            format!("{cut}-{hash}{suffix}")
        };
        let prefix = &self.0[..self.0.len() - short.len()];
        Self(format!("{prefix}{name}"))
    }
}

impl FromStr for AliasName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() || s.len() > 128 {
            return Err(format!("'{s}' must be 1 to 128 characters long"));
        }
        if s.contains('.') {
            return Err(format!(
                "'{s}' contains a dot, which Lambda does not allow in alias names; use '-' instead (for example '{}')",
                s.replace('.', "-")
            ));
        }
        if let Some(bad) = s.chars().find(|c| !is_name_char(*c)) {
            return Err(format!(
                "'{s}' contains '{bad}'; an alias name uses only letters, digits, '-' and '_'"
            ));
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "'{s}' is all digits, which Lambda reads as a version number; add a letter (for example 'v{s}')"
            ));
        }
        if s == "LATEST" || s == "$LATEST" {
            return Err(format!(
                "'{s}' is reserved by Lambda; choose another alias name"
            ));
        }
        Ok(Self(s.to_string()))
    }
}

impl FromStr for GitSha {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(format!("'{s}' is not a 40-hex-digit commit SHA"))
        }
    }
}

impl GitSha {
    /// The first seven hex digits, as Git and GitHub abbreviate.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_and_arns() {
        for ok in [
            "hello",
            "my_func-2",
            "arn:aws:lambda:us-east-1:123456789012:function:hello",
            "123456789012:function:hello",
        ] {
            assert!(ok.parse::<FunctionName>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            "has space",
            "a.b",
            "arn:aws:s3:::bucket",
            "arn:aws:lambda:us-east-1:123456789012:function:hello:live",
        ] {
            assert!(bad.parse::<FunctionName>().is_err(), "{bad}");
        }
        assert_eq!(
            "arn:aws:lambda:us-east-1:1:function:fn"
                .parse::<FunctionName>()
                .unwrap()
                .short_name(),
            "fn"
        );
        assert_eq!(
            "x".repeat(65).parse::<FunctionName>().unwrap_err(),
            format!("'{}' must be 1 to 64 characters long", "x".repeat(65))
        );
    }

    #[test]
    fn preview_function_names_fit_lambda_and_never_change() {
        let f = |s: &str| s.parse::<FunctionName>().unwrap();
        assert_eq!(f("orders").preview(12).as_str(), "orders-pr-12");
        assert_eq!(
            f("arn:aws:lambda:eu-west-1:123456789012:function:orders")
                .preview(12)
                .as_str(),
            "arn:aws:lambda:eu-west-1:123456789012:function:orders-pr-12"
        );
        assert_eq!(
            f("123456789012:function:orders").preview(3).as_str(),
            "123456789012:function:orders-pr-3"
        );
        let exact = "a".repeat(58);
        assert_eq!(f(&exact).preview(12).as_str(), format!("{exact}-pr-12"));
        let long_a = format!("{}-a", "x".repeat(62));
        let long_b = format!("{}-b", "x".repeat(62));
        let (pa, pb) = (f(&long_a).preview(123456), f(&long_b).preview(123456));
        for p in [&pa, &pb] {
            assert_eq!(p.as_str().len(), MAX_FUNCTION_NAME_LEN, "{p}");
            assert!(p.as_str().ends_with("-pr-123456"), "{p}");
            assert!(p.as_str().parse::<FunctionName>().is_ok(), "{p}");
        }
        assert_ne!(pa, pb, "a shared prefix never shares a preview");
        assert_eq!(pa, f(&long_a).preview(123456), "the same name every time");
        assert!(pa.as_str().starts_with(&"x".repeat(40)), "{pa}");
        let huge = f(&"y".repeat(64)).preview(u64::MAX);
        assert!(huge.as_str().len() <= MAX_FUNCTION_NAME_LEN, "{huge}");
        assert!(huge.as_str().parse::<FunctionName>().is_ok(), "{huge}");
    }

    #[test]
    fn alias_names_follow_lambda_rules() {
        for ok in ["live", "v1-2-3", "pr-12", "v1", "a_b"] {
            assert!(ok.parse::<AliasName>().is_ok(), "{ok}");
        }
        for bad in ["", "1.2.3", "123", "has space", "$LATEST", &"a".repeat(129)] {
            assert!(bad.parse::<AliasName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn git_sha_is_forty_hex() {
        let sha: GitSha = "0123456789ABCDEF0123456789abcdef01234567".parse().unwrap();
        assert_eq!(sha.short(), "0123456");
        assert!("abc".parse::<GitSha>().is_err());
    }
}
