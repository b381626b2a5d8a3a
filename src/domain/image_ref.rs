//! Image references and registry addresses, checked once when inputs are read.
//!
//! The grammar follows the distribution reference format: `[host[:port]/]path[:tag][@digest]`,
//! where the first component is a host when it holds a `.` or `:` or is `localhost`;
//! path components are lowercase alphanumerics joined by `.`, `_`, `__` or dashes; a tag is
//! `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`; the only digest accepted is `sha256:<64 hex>`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Docker Hub, for references without a host.
const DOCKER_HUB: &str = "registry-1.docker.io";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// Host and optional port, e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `team/app`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<hex>` when the reference pins a digest.
    pub digest: Option<String>,
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Whether `s` is one path component: `[a-z0-9]+` groups joined by `.`, `_`, `__` or `-`+.
fn path_component_ok(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__" or one or more "-".
        let start = i;
        while i < b.len() && matches!(b[i], b'.' | b'_' | b'-') {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok || i == start {
            return false;
        }
    }
    true
}

/// Whether `d` is `sha256:` and 64 lowercase hex digits.
pub(crate) fn is_sha256_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl FromStr for ImageRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let usage = "write [registry/]repository[:tag][@sha256:digest], e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0";
        if s.is_empty() || s.len() > 512 || s.contains("://") || s.chars().any(char::is_whitespace)
        {
            return Err(format!("'{s}' is not an image reference; {usage}"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                if !is_sha256_digest(d) {
                    return Err(format!(
                        "'{s}' has the digest '{d}'; a digest is sha256: and 64 lowercase hex digits"
                    ));
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        let (first, remainder) = match rest.split_once('/') {
            Some((h, r)) if h.contains('.') || h.contains(':') || h == "localhost" => (Some(h), r),
            _ => (None, rest),
        };
        // A tag is after the last ':' that follows the last '/'.
        let (path, tag) = match remainder.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') => (p, Some(t.to_string())),
            _ => (remainder, None),
        };
        if let Some(t) = &tag
            && !is_valid_image_tag(t)
        {
            return Err(format!(
                "'{s}' has the tag '{t}'; a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
            ));
        }
        if path.is_empty() || !path.split('/').all(path_component_ok) {
            return Err(format!(
                "'{s}' has the repository '{path}'; repository names use lowercase letters, digits and single '.', '_' or '-' between them; {usage}"
            ));
        }
        let (registry, repository) = match first {
            Some(h) => {
                let host_ok = h
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
                if !host_ok {
                    return Err(format!(
                        "'{s}' has the registry host '{h}', which is not a host name"
                    ));
                }
                (h.to_ascii_lowercase(), path.to_string())
            }
            None if path.contains('/') => (DOCKER_HUB.to_string(), path.to_string()),
            None => (DOCKER_HUB.to_string(), format!("library/{path}")),
        };
        if tag.is_none() && digest.is_none() {
            return Err(format!(
                "'{s}' names no tag or digest; add one (e.g. ':latest' or '@sha256:...') so the image deployed is explicit"
            ));
        }
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

/// An Amazon ECR registry host: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrHost {
    pub account: String,
    pub region: String,
}

impl EcrHost {
    /// Parses a host name; `None` when it is not an ECR registry.
    pub fn parse(host: &str) -> Option<Self> {
        let host = host.split(':').next().unwrap_or(host);
        let rest = host
            .strip_suffix(".amazonaws.com")
            .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
        let (account, rest) = rest.split_once(".dkr.ecr.")?;
        let region = rest.strip_suffix(".fips").unwrap_or(rest);
        let ok = account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self {
            account: account.to_string(),
            region: region.to_string(),
        })
    }
}

/// An ECR repository name: 2 to 256 characters, lowercase path components separated by `/`,
/// each made of letters and digits joined by single `.`, `_` or `-`.
pub(crate) fn ecr_repository(value: &str) -> Result<String, String> {
    let v = value.trim();
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.split(['.', '_', '-']).all(|g| {
                !g.is_empty()
                    && g.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
    };
    if (2..=256).contains(&v.len()) && v.split('/').all(component_ok) {
        Ok(v.to_string())
    } else {
        Err(format!(
            "'{v}' is not an ECR repository name; use 2 to 256 lowercase letters and digits, with single '.', '_', '-' or '/' between them"
        ))
    }
}

/// Where the registry is reached: `https://host[:port]`, or `http://` on a loopback address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryEndpoint {
    pub https: bool,
    /// `host[:port]`.
    pub authority: String,
}

impl RegistryEndpoint {
    /// `https://<host>` for a registry host taken from a reference.
    pub fn https(host: &str) -> Self {
        Self {
            https: true,
            authority: host.to_string(),
        }
    }

    /// The address of a registry named in an image reference: https, except on a loopback
    /// host (a local registry), which is reached over http like container tools do.
    pub(crate) fn for_host(host: &str) -> Self {
        let mut e = Self::https(host);
        e.https = !is_loopback(e.host());
        e
    }

    /// The base URL, without a trailing slash.
    pub(crate) fn base_url(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.authority
        )
    }

    /// The host without the port.
    pub fn host(&self) -> &str {
        let a = self.authority.as_str();
        if let Some(rest) = a.strip_prefix('[') {
            return rest.split(']').next().unwrap_or(rest);
        }
        a.split(':').next().unwrap_or(a)
    }
}

/// Whether `host` (no port; an IPv6 address with or without brackets) is loopback:
/// `localhost`, 127.0.0.0/8 or ::1. The host is parsed, never matched as a prefix.
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl FromStr for RegistryEndpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().trim_end_matches('/');
        let (https, authority) = if let Some(a) = s.strip_prefix("https://") {
            (true, a)
        } else if let Some(a) = s.strip_prefix("http://") {
            (false, a)
        } else {
            return Err(format!(
                "'{s}' is not a registry URL; write https://host[:port] (or http://127.0.0.1:port for a local registry)"
            ));
        };
        let ok = !authority.is_empty()
            && authority
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !ok {
            return Err(format!(
                "'{s}' is not a registry URL; give only the scheme, host and port (no path, user or query)"
            ));
        }
        let endpoint = Self {
            https,
            authority: authority.to_ascii_lowercase(),
        };
        if !https && !is_loopback(endpoint.host()) {
            return Err(format!(
                "'{s}' uses http:// on a non-loopback host, which would send registry credentials in clear text; use https://"
            ));
        }
        Ok(endpoint)
    }
}

/// Longest OCI image tag.
pub(crate) const MAX_IMAGE_TAG_LEN: usize = 128;

/// Whether `tag` matches OCI's `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_valid_image_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    first_ok
        && tag.len() <= MAX_IMAGE_TAG_LEN
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_reject() {
        let r: ImageRef = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1.2"
            .parse()
            .unwrap();
        assert_eq!(r.registry, "123456789012.dkr.ecr.us-east-1.amazonaws.com");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        let r: ImageRef = "127.0.0.1:5000/base:al2023".parse().unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("127.0.0.1:5000", "base")
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let r: ImageRef = format!("public.ecr.aws/lambda/provided@{d}")
            .parse()
            .unwrap();
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        let r: ImageRef = "alpine:3".parse().unwrap();
        assert_eq!(r.repository, "library/alpine");
        for bad in [
            "",
            "Upper/Case:1",
            "host.io/app",
            "host.io/app:-bad",
            "host.io/app@sha256:xyz",
            "https://host.io/app:1",
            "host.io/a--_b:1",
        ] {
            assert!(bad.parse::<ImageRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ecr_hosts_repositories_and_endpoints() {
        let h = EcrHost::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com").unwrap();
        assert_eq!(
            (h.account.as_str(), h.region.as_str()),
            ("123456789012", "eu-west-1")
        );
        assert!(EcrHost::parse("public.ecr.aws").is_none());
        assert!(ecr_repository("team/my-fn_1").is_ok());
        assert!(ecr_repository("My-Fn").is_err());
        assert!(ecr_repository("a//b").is_err());
        let e: RegistryEndpoint = "http://127.0.0.1:5000".parse().unwrap();
        assert_eq!(e.base_url(), "http://127.0.0.1:5000");
        assert_eq!(e.host(), "127.0.0.1");
        assert!(
            "http://registry.example.com"
                .parse::<RegistryEndpoint>()
                .is_err()
        );
        assert!(
            "https://registry.example.com/v2"
                .parse::<RegistryEndpoint>()
                .is_err()
        );
        assert!("registry.example.com".parse::<RegistryEndpoint>().is_err());
    }
}
