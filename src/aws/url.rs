//! Function URLs on an alias, and the resource-policy statements a public URL needs.

use aws_sdk_lambda::types::FunctionUrlAuthType;

pub use super::api::{UrlAuth, UrlConfig, UrlGrant};
use super::lambda::Lambda;
use super::or_absent;
use super::{AwsError, ErrorKind};

fn sdk_auth(auth: UrlAuth) -> FunctionUrlAuthType {
    match auth {
        UrlAuth::None => FunctionUrlAuthType::None,
        UrlAuth::AwsIam => FunctionUrlAuthType::AwsIam,
    }
}

fn auth_str(a: Option<&FunctionUrlAuthType>) -> String {
    a.map(|a| a.as_str().to_string()).unwrap_or_default()
}

impl Lambda {
    fn url_resource(&self, qualifier: &str) -> String {
        format!("the URL of alias '{qualifier}' of {}", self.resource())
    }

    /// The URL of `qualifier`, or `None` when it has none.
    pub(crate) async fn get_url(&self, qualifier: &str) -> Result<Option<UrlConfig>, AwsError> {
        match self
            .client()
            .get_function_url_config()
            .function_name(self.function())
            .qualifier(qualifier)
            .send()
            .await
        {
            Ok(c) => Ok(Some(UrlConfig {
                url: c.function_url().to_string(),
                auth_type: auth_str(Some(c.auth_type())),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(AwsError::from_sdk(
                "GetFunctionUrlConfig",
                &self.url_resource(qualifier),
                e,
                |_| ErrorKind::Other,
            )),
        }
    }

    /// Creates the URL of `qualifier`.
    pub(crate) async fn create_url(
        &self,
        qualifier: &str,
        auth: UrlAuth,
    ) -> Result<UrlConfig, AwsError> {
        self.client()
            .create_function_url_config()
            .function_name(self.function())
            .qualifier(qualifier)
            .auth_type(sdk_auth(auth))
            .send()
            .await
            .map(|c| UrlConfig {
                url: c.function_url().to_string(),
                auth_type: auth_str(Some(c.auth_type())),
            })
            .map_err(|e| {
                AwsError::from_sdk(
                    "CreateFunctionUrlConfig",
                    &self.url_resource(qualifier),
                    e,
                    |s| {
                        if s.is_resource_conflict_exception() {
                            ErrorKind::Conflict
                        } else {
                            ErrorKind::Other
                        }
                    },
                )
            })
    }

    /// Changes the auth type of the URL of `qualifier`.
    pub(crate) async fn update_url_auth(
        &self,
        qualifier: &str,
        auth: UrlAuth,
    ) -> Result<UrlConfig, AwsError> {
        self.client()
            .update_function_url_config()
            .function_name(self.function())
            .qualifier(qualifier)
            .auth_type(sdk_auth(auth))
            .send()
            .await
            .map(|c| UrlConfig {
                url: c.function_url().to_string(),
                auth_type: auth_str(Some(c.auth_type())),
            })
            .map_err(|e| {
                AwsError::from_sdk(
                    "UpdateFunctionUrlConfig",
                    &self.url_resource(qualifier),
                    e,
                    |_| ErrorKind::Other,
                )
            })
    }

    /// Deletes the URL of `qualifier`; none there is fine.
    pub(crate) async fn delete_url(&self, qualifier: &str) -> Result<(), AwsError> {
        let result = self
            .client()
            .delete_function_url_config()
            .function_name(self.function())
            .qualifier(qualifier)
            .send()
            .await;
        or_absent(result, |s| s.is_resource_not_found_exception())
            .map(|_| ())
            .map_err(|e| {
                AwsError::from_sdk(
                    "DeleteFunctionUrlConfig",
                    &self.url_resource(qualifier),
                    e,
                    |_| ErrorKind::Other,
                )
            })
    }

    /// The statement ids in the resource policy of `qualifier` (empty without a policy).
    pub(crate) async fn policy_statement_ids(
        &self,
        qualifier: &str,
    ) -> Result<Vec<String>, AwsError> {
        let policy = match self
            .client()
            .get_policy()
            .function_name(self.function())
            .qualifier(qualifier)
            .send()
            .await
        {
            Ok(p) => p.policy().unwrap_or_default().to_string(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(Vec::new());
            }
            Err(e) => {
                return Err(AwsError::from_sdk(
                    "GetPolicy",
                    &format!("the policy of alias '{qualifier}' of {}", self.resource()),
                    e,
                    |_| ErrorKind::Other,
                ));
            }
        };
        let doc: serde_json::Value = serde_json::from_str(&policy).unwrap_or_default();
        Ok(doc["Statement"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|st| st["Sid"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Adds one public statement for the URL of `qualifier`.
    pub(crate) async fn add_url_permission(
        &self,
        statement_id: &str,
        qualifier: &str,
        grant: UrlGrant,
    ) -> Result<(), AwsError> {
        let req = self
            .client()
            .add_permission()
            .function_name(self.function())
            .qualifier(qualifier)
            .statement_id(statement_id)
            .principal("*");
        let req = match grant {
            UrlGrant::InvokeFunctionUrl => req
                .action("lambda:InvokeFunctionUrl")
                .function_url_auth_type(FunctionUrlAuthType::None),
            UrlGrant::InvokeViaUrl => req
                .action("lambda:InvokeFunction")
                .invoked_via_function_url(true),
        };
        req.send().await.map(|_| ()).map_err(|e| {
            AwsError::from_sdk(
                "AddPermission",
                &format!("the policy of alias '{qualifier}' of {}", self.resource()),
                e,
                |s| {
                    if s.is_resource_conflict_exception() {
                        ErrorKind::Conflict
                    } else {
                        ErrorKind::Other
                    }
                },
            )
        })
    }

    /// Removes one statement from the policy of `qualifier`; one not there is fine.
    pub(crate) async fn remove_permission(
        &self,
        statement_id: &str,
        qualifier: &str,
    ) -> Result<(), AwsError> {
        match self
            .client()
            .remove_permission()
            .function_name(self.function())
            .qualifier(qualifier)
            .statement_id(statement_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(AwsError::from_sdk(
                "RemovePermission",
                &format!("the policy of alias '{qualifier}' of {}", self.resource()),
                e,
                |_| ErrorKind::Other,
            )),
        }
    }
}
