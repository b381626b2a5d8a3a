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

impl FunctionName {
    /// The plain name, without any ARN prefix.
    pub fn short_name(&self) -> &str {
        self.0.rsplit(':').next().unwrap_or(&self.0)
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
