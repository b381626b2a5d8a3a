//! The closed sets of names Lambda uses for a function: its architecture and package type.
//! The adapters convert them to and from the SDK's types; everything above speaks these.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The instruction set a function (and its layers) runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Architecture {
    /// Lambda's default when none is given.
    #[default]
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    pub const ALL: [Architecture; 2] = [Architecture::X86_64, Architecture::Arm64];

    /// Lambda's name for it (`x86_64`, `arm64`).
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Architecture {
    type Err = String;

    /// Lambda's name, in any case, surrounding blanks ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        one_of(s, &Self::ALL, |a| a.as_str())
    }
}

/// How a function's code is shipped: a zip archive or a container image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PackageType {
    /// Lambda's default when none is given.
    #[default]
    Zip,
    Image,
}

impl PackageType {
    pub const ALL: [PackageType; 2] = [PackageType::Zip, PackageType::Image];

    /// The input's spelling (`zip`, `image`).
    pub fn as_str(self) -> &'static str {
        match self {
            PackageType::Zip => "zip",
            PackageType::Image => "image",
        }
    }
}

impl fmt::Display for PackageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PackageType {
    type Err = String;

    /// The input's spelling or Lambda's (`Zip`), in any case, surrounding blanks ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        one_of(s, &Self::ALL, |p| p.as_str())
    }
}

/// The member of `all` whose name is `value` ignoring case and surrounding blanks, or an
/// error listing the names.
fn one_of<T: Copy>(value: &str, all: &[T], name: impl Fn(T) -> &'static str) -> Result<T, String> {
    let v = value.trim();
    all.iter()
        .copied()
        .find(|&t| name(t).eq_ignore_ascii_case(v))
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|&t| name(t)).collect();
            format!("'{v}' is not one of: {}", names.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_reads_and_writes_lambdas_names() {
        for a in Architecture::ALL {
            assert_eq!(a.to_string().parse::<Architecture>(), Ok(a));
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{a}\""));
        }
        assert_eq!(" ARM64 ".parse::<Architecture>(), Ok(Architecture::Arm64));
        assert_eq!(Architecture::default(), Architecture::X86_64);
        assert_eq!(
            "amd64".parse::<Architecture>(),
            Err("'amd64' is not one of: x86_64, arm64".to_string())
        );
    }

    #[test]
    fn package_type_reads_the_input_and_lambdas_spelling() {
        assert_eq!("zip".parse::<PackageType>(), Ok(PackageType::Zip));
        assert_eq!("Image".parse::<PackageType>(), Ok(PackageType::Image));
        assert_eq!(
            "tar".parse::<PackageType>(),
            Err("'tar' is not one of: zip, image".to_string())
        );
    }
}
