//! Small parsers shared by the input checks. Each returns a message that says what is
//! wrong and what to do; the caller adds the input's name.

use std::collections::BTreeMap;

/// Splits a list input on new lines (and commas, where `commas`), trimming each item and
/// skipping blanks and `#` comments.
pub fn lines(value: &str, commas: bool) -> Vec<String> {
    value
        .lines()
        .flat_map(|l| {
            if commas {
                l.split(',').collect::<Vec<_>>()
            } else {
                vec![l]
            }
        })
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

pub(crate) fn boolean(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Ok(true),
        "false" | "no" | "0" | "off" => Ok(false),
        other => Err(format!("'{other}' is not a boolean; use true or false")),
    }
}

pub(crate) fn int_in(value: &str, min: i64, max: i64, unit: &str) -> Result<i64, String> {
    let v = value.trim();
    let n: i64 = v
        .parse()
        .map_err(|_| format!("'{v}' is not a whole number; give {unit} from {min} to {max}"))?;
    if n < min || n > max {
        return Err(format!(
            "{n} is out of range; give {unit} from {min} to {max}"
        ));
    }
    Ok(n)
}

pub(crate) fn one_of<'a>(value: &str, allowed: &[&'a str]) -> Result<&'a str, String> {
    let v = value.trim();
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(v))
        .copied()
        .ok_or_else(|| format!("'{v}' is not one of: {}", allowed.join(", ")))
}

/// Lambda's environment variable names: a letter, then letters, digits and underscores.
fn env_key_ok(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Keys the Lambda runtime sets itself; CreateFunction and UpdateFunctionConfiguration
/// reject them.
const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Parses `KEY=value` lines or a JSON object of strings (numbers and booleans are
/// written as text) into environment variables.
pub fn environment(value: &str) -> Result<BTreeMap<String, String>, String> {
    let trimmed = value.trim();
    let mut vars = BTreeMap::new();
    if trimmed.starts_with('{') {
        let obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(trimmed).map_err(|e| format!("is not a valid JSON object ({e}); use KEY=value lines or {{\"KEY\": \"value\"}}"))?;
        for (k, v) in obj {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(format!(
                        "value of '{k}' must be a string, number or boolean"
                    ));
                }
            };
            vars.insert(k, text);
        }
    } else {
        for (i, line) in value.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(format!("line {} has no '='; write KEY=value", i + 1));
            };
            let k = k.trim();
            if vars.insert(k.to_string(), v.to_string()).is_some() {
                return Err(format!("'{k}' is given twice; keep one line per key"));
            }
        }
    }
    let mut size = 0;
    for (k, v) in &vars {
        if !env_key_ok(k) {
            return Err(format!(
                "'{k}' is not a valid variable name; start with a letter and use letters, digits and '_'"
            ));
        }
        if RESERVED_ENV.contains(&k.as_str()) {
            return Err(format!(
                "'{k}' is reserved by the Lambda runtime; choose another name"
            ));
        }
        size += k.len() + v.len();
    }
    if size > 4096 {
        return Err(format!(
            "variables total {size} bytes, over Lambda's 4 KB limit; move large values to SSM Parameter Store or Secrets Manager"
        ));
    }
    Ok(vars)
}

/// Parses `key=value` lines into resource tags, with Lambda's limits.
pub fn tags(value: &str) -> Result<BTreeMap<String, String>, String> {
    let mut tags = BTreeMap::new();
    for (i, line) in value.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(format!("line {} has no '='; write key=value", i + 1));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || k.chars().count() > 128 {
            return Err(format!("key '{k}' must be 1 to 128 characters"));
        }
        if v.chars().count() > 256 {
            return Err(format!("value of '{k}' is over 256 characters"));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(format!(
                "key '{k}' uses the reserved prefix 'aws:'; choose another key"
            ));
        }
        let ok = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
        if let Some(bad) = k.chars().chain(v.chars()).find(|c| !ok(*c)) {
            return Err(format!(
                "'{k}' contains '{bad}'; tags use letters, digits, spaces and _ . : / = + - @"
            ));
        }
        if tags.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("'{k}' is given twice; keep one line per key"));
        }
    }
    if tags.len() > 50 {
        return Err(format!(
            "{} tags given; Lambda allows at most 50",
            tags.len()
        ));
    }
    Ok(tags)
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An IAM role ARN: `arn:<partition>:iam::<account>:role/<path/name>`.
pub fn role_arn(value: &str) -> Result<String, String> {
    let v = value.trim();
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && is_account(parts[4])
        && parts[5].strip_prefix("role/").is_some_and(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_/".contains(c))
        });
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!(
            "'{v}' is not an IAM role ARN; expected arn:aws:iam::<12-digit account>:role/<name>"
        ))
    }
}

/// A layer version ARN: `arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>`.
pub(crate) fn layer_arn(value: &str) -> Result<String, String> {
    let v = value.trim();
    let p: Vec<&str> = v.split(':').collect();
    let ok = p.len() == 8
        && p[0] == "arn"
        && p[1].starts_with("aws")
        && p[2] == "lambda"
        && !p[3].is_empty()
        && is_account(p[4])
        && p[5] == "layer"
        && !p[6].is_empty()
        && p[6]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !p[7].is_empty()
        && p[7].bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!(
            "'{v}' is not a layer version ARN; expected arn:aws:lambda:<region>:<account>:layer:<name>:<version>"
        ))
    }
}

/// A layer name for `layer-dirs`: 1 to 64 letters, digits, `-` or `_`.
pub fn layer_name(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty()
        || v.len() > 64
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "'{v}' is not a layer name; use 1 to 64 letters, digits, '-' or '_'"
        ));
    }
    Ok(v.to_string())
}

/// An S3 bucket name (the rules for new buckets: 3 to 63 lowercase letters, digits, `.`
/// and `-`, starting and ending with a letter or digit).
pub fn bucket(value: &str) -> Result<String, String> {
    let v = value.trim();
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok = (3..=63).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(v.chars().next())
        && edge(v.chars().last())
        && !v.contains("..");
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!(
            "'{v}' is not an S3 bucket name; give the bucket's name only (no s3:// and no key)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_accepts_lines_and_json() {
        let lines = environment("A=1\n# comment\nB=x=y\n\n").unwrap();
        assert_eq!(lines.get("B").map(String::as_str), Some("x=y"));
        let json = environment(r#"{"A": "1", "N": 2, "T": true}"#).unwrap();
        assert_eq!(json.get("N").map(String::as_str), Some("2"));
        assert!(
            environment("NOEQUALS")
                .unwrap_err()
                .contains("line 1 has no '='")
        );
        assert!(
            environment("AWS_REGION=x")
                .unwrap_err()
                .contains("reserved")
        );
        assert!(
            environment("1A=x")
                .unwrap_err()
                .contains("not a valid variable name")
        );
        assert!(
            environment(&format!("BIG={}", "x".repeat(5000)))
                .unwrap_err()
                .contains("4 KB")
        );
    }

    #[test]
    fn arns_and_names() {
        assert!(role_arn("arn:aws:iam::123456789012:role/service-role/fn").is_ok());
        assert!(role_arn("arn:aws:iam::123:role/x").is_err());
        assert!(role_arn("my-role").is_err());
        assert!(layer_arn("arn:aws:lambda:us-east-1:123456789012:layer:deps:3").is_ok());
        assert!(layer_arn("arn:aws:lambda:us-east-1:123456789012:layer:deps").is_err());
        assert!(bucket("my-bucket").is_ok());
        assert!(bucket("s3://my-bucket").is_err());
        assert!(tags("team=platform\ncost-center=42").is_ok());
        assert!(tags("aws:x=1").is_err());
    }
}
