//! The IAM adapter for `bootstrap`: the GitHub OIDC provider, roles, their trust policies
//! and inline policies. Documents go in and come out as JSON values (IAM hands them back
//! URL-encoded; they are decoded here).

use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;
use serde_json::Value;

use super::{AwsError, ErrorKind, or_absent};

/// A role as IAM holds it.
#[derive(Debug, Clone)]
pub struct Role {
    pub arn: String,
    pub trust: Value,
}

pub struct Iam {
    client: Client,
}

fn denied_or_other(code: Option<&str>) -> ErrorKind {
    match code {
        Some("AccessDenied" | "AccessDeniedException") => ErrorKind::AccessDenied,
        Some("EntityAlreadyExists") => ErrorKind::Conflict,
        _ => ErrorKind::Other,
    }
}

/// Decodes a policy document as IAM returns it: URL-encoded JSON (some servers send it
/// plain).
pub fn decode_document(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| {
        serde_json::from_str(&percent_decode(text)).unwrap_or(Value::String(text.to_string()))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Iam {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::from_conf(
                aws_sdk_iam::config::Builder::from(config)
                    .interceptor(crate::cancel::Gate)
                    .build(),
            ),
        }
    }

    /// The ARN of the OIDC provider for `host` (e.g. `token.actions.githubusercontent.com`).
    pub(crate) async fn find_oidc_provider(&self, host: &str) -> Result<Option<String>, AwsError> {
        let out = self
            .client
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("ListOpenIDConnectProviders", host, e, |e| {
                    denied_or_other(e.code())
                })
            })?;
        let suffix = format!(":oidc-provider/{host}");
        Ok(out
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
            .find(|arn| arn.ends_with(&suffix))
            .map(str::to_string))
    }

    /// The audiences (client ids) the provider accepts.
    pub(crate) async fn oidc_audiences(&self, arn: &str) -> Result<Vec<String>, AwsError> {
        let out = self
            .client
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("GetOpenIDConnectProvider", arn, e, |e| {
                    denied_or_other(e.code())
                })
            })?;
        Ok(out.client_id_list().to_vec())
    }

    pub(crate) async fn add_audience(&self, arn: &str, audience: &str) -> Result<(), AwsError> {
        self.client
            .add_client_id_to_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .client_id(audience)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                AwsError::from_sdk("AddClientIDToOpenIDConnectProvider", arn, e, |e| {
                    denied_or_other(e.code())
                })
            })
    }

    /// Creates the provider for `https://{host}` with one audience; returns its ARN.
    pub(crate) async fn create_oidc_provider(
        &self,
        host: &str,
        audience: &str,
    ) -> Result<String, AwsError> {
        let out = self
            .client
            .create_open_id_connect_provider()
            .url(format!("https://{host}"))
            .client_id_list(audience)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("CreateOpenIDConnectProvider", host, e, |e| {
                    denied_or_other(e.code())
                })
            })?;
        Ok(out
            .open_id_connect_provider_arn()
            .unwrap_or_default()
            .to_string())
    }

    pub async fn get_role(&self, name: &str) -> Result<Option<Role>, AwsError> {
        let out = or_absent(self.client.get_role().role_name(name).send().await, |e| {
            e.is_no_such_entity_exception()
        })
        .map_err(|e| {
            AwsError::from_sdk("GetRole", &format!("role '{name}'"), e, |e| {
                denied_or_other(e.code())
            })
        })?;
        Ok(out.and_then(|o| o.role).map(|r| Role {
            trust: decode_document(r.assume_role_policy_document().unwrap_or("{}")),
            arn: r.arn,
        }))
    }

    pub(crate) async fn create_role(
        &self,
        name: &str,
        trust: &Value,
        description: &str,
    ) -> Result<String, AwsError> {
        let out = self
            .client
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .description(description)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("CreateRole", &format!("role '{name}'"), e, |e| {
                    denied_or_other(e.code())
                })
            })?;
        Ok(out.role.map(|r| r.arn).unwrap_or_default())
    }

    pub(crate) async fn update_trust(&self, name: &str, trust: &Value) -> Result<(), AwsError> {
        self.client
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(trust.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                AwsError::from_sdk(
                    "UpdateAssumeRolePolicy",
                    &format!("role '{name}'"),
                    e,
                    |e| denied_or_other(e.code()),
                )
            })
    }

    /// The inline policy `policy` of `role`, when there is one.
    pub async fn get_role_policy(
        &self,
        role: &str,
        policy: &str,
    ) -> Result<Option<Value>, AwsError> {
        let out = or_absent(
            self.client
                .get_role_policy()
                .role_name(role)
                .policy_name(policy)
                .send()
                .await,
            |e| e.is_no_such_entity_exception(),
        )
        .map_err(|e| {
            AwsError::from_sdk("GetRolePolicy", &format!("role '{role}'"), e, |e| {
                denied_or_other(e.code())
            })
        })?;
        Ok(out.map(|o| decode_document(&o.policy_document)))
    }

    pub(crate) async fn put_role_policy(
        &self,
        role: &str,
        policy: &str,
        document: &Value,
    ) -> Result<(), AwsError> {
        self.client
            .put_role_policy()
            .role_name(role)
            .policy_name(policy)
            .policy_document(document.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                AwsError::from_sdk("PutRolePolicy", &format!("role '{role}'"), e, |e| {
                    denied_or_other(e.code())
                })
            })
    }
}

/// The account and partition the credentials belong to (STS GetCallerIdentity).
pub(crate) async fn caller_account(
    config: &aws_config::SdkConfig,
) -> Result<(String, String), AwsError> {
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(config)
            .interceptor(crate::cancel::Gate)
            .build(),
    );
    let out = sts.get_caller_identity().send().await.map_err(|e| {
        AwsError::from_sdk("GetCallerIdentity", "the credentials", e, |_| {
            ErrorKind::Other
        })
    })?;
    let arn = out.arn().unwrap_or_default();
    let partition = arn
        .split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws");
    Ok((
        out.account().unwrap_or_default().to_string(),
        partition.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_decode_plain_or_url_encoded() {
        let plain = r#"{"Version":"2012-10-17","Statement":[]}"#;
        assert_eq!(decode_document(plain)["Version"], "2012-10-17");
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode_document(encoded), decode_document(plain));
    }
}
