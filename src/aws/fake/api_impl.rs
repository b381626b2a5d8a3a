//! The fake's answers to each [`LambdaApi`] call (see the parent module for the model).

use std::collections::BTreeMap;
use std::time::Duration;

use super::{
    FakeAlias, FakeFunction, FakeLambda, apply_config, err, not_found, sha_of, stale, written,
};
use crate::aws::AwsError;
use crate::aws::ErrorKind;
use crate::aws::api::{
    AliasTargets, CodeSource, Invoked, LambdaApi, RoutedAlias, UrlAuth, UrlConfig, UrlGrant,
    VersionInfo, Written,
};
use crate::domain::function::ConfigUpdate;
use crate::domain::kind::{Architecture, PackageType};
use crate::state::{FunctionState, LastUpdateStatus, LiveAlias, LiveFunction, LiveVersion};

impl LambdaApi for FakeLambda {
    fn function(&self) -> &str {
        &self.function
    }

    async fn get_function(&self) -> Result<Option<LiveFunction>, AwsError> {
        self.enter("GetFunction").await?;
        Ok(self.world().observe())
    }

    async fn get_version(&self, version: &str) -> Result<Option<LiveVersion>, AwsError> {
        self.enter("GetFunctionConfiguration").await?;
        let w = self.world();
        Ok(version
            .parse::<u64>()
            .ok()
            .and_then(|n| w.versions.get(&n).cloned()))
    }

    async fn latest_version(&self) -> Result<Option<LiveVersion>, AwsError> {
        self.enter("ListVersionsByFunction").await?;
        Ok(self.world().versions.values().next_back().cloned())
    }

    async fn list_versions(&self) -> Result<Vec<VersionInfo>, AwsError> {
        self.enter("ListVersionsByFunction").await?;
        Ok(self
            .world()
            .versions
            .values()
            .map(|v| VersionInfo {
                version: v.version.clone(),
                description: v.description.clone().unwrap_or_default(),
            })
            .collect())
    }

    async fn wait_updated(&self, timeout: Duration) -> Result<Option<String>, AwsError> {
        self.wait_until("waiting for LastUpdateStatus", timeout, |f| {
            f.last_update_status == Some(LastUpdateStatus::Successful)
        })
        .await
    }

    async fn wait_active(&self, timeout: Duration) -> Result<Option<String>, AwsError> {
        self.wait_until("waiting for State Active", timeout, |f| {
            f.state == Some(FunctionState::Active)
        })
        .await
    }

    async fn create(
        &self,
        code: CodeSource,
        architecture: Architecture,
        cfg: &ConfigUpdate,
        tags: &BTreeMap<String, String>,
    ) -> Result<Written, AwsError> {
        self.enter("CreateFunction").await?;
        let resource = LambdaApi::resource(self);
        let mut w = self.world();
        if w.function.is_some() {
            return Err(err(
                "CreateFunction",
                &resource,
                ErrorKind::Conflict,
                "ResourceConflictException: Function already exist",
            ));
        }
        let (code_sha256, code_size) = sha_of(&code);
        let mut live = LiveFunction {
            arn: format!(
                "arn:aws:lambda:us-east-1:123456789012:function:{}",
                self.function
            ),
            package_type: match code {
                CodeSource::Image { .. } => PackageType::Image,
                _ => PackageType::Zip,
            },
            architecture: Some(architecture),
            code_sha256,
            code_size,
            revision_id: Some(w.revision()),
            tags: tags.clone(),
            ..LiveFunction::default()
        };
        apply_config(&mut live, cfg);
        let out = written(&live, "$LATEST");
        let pending = w.settle_after;
        w.function = Some(FakeFunction {
            live,
            busy: 0,
            pending,
        });
        Ok(out)
    }

    async fn update_code(
        &self,
        code: CodeSource,
        architecture: Option<Architecture>,
        revision_id: Option<&str>,
    ) -> Result<Written, AwsError> {
        self.enter("UpdateFunctionCode").await?;
        let resource = LambdaApi::resource(self);
        let mut w = self.world();
        let rev = w.revision();
        let settle = w.settle_after;
        let f = w.writable("UpdateFunctionCode", &resource, revision_id)?;
        (f.live.code_sha256, f.live.code_size) = sha_of(&code);
        if let Some(a) = architecture {
            f.live.architecture = Some(a);
        }
        f.live.revision_id = Some(rev);
        f.busy = settle;
        Ok(written(&f.live, "$LATEST"))
    }

    async fn update_config(
        &self,
        cfg: &ConfigUpdate,
        revision_id: Option<&str>,
    ) -> Result<Written, AwsError> {
        self.enter("UpdateFunctionConfiguration").await?;
        let resource = LambdaApi::resource(self);
        let mut w = self.world();
        let rev = w.revision();
        let settle = w.settle_after;
        let f = w.writable("UpdateFunctionConfiguration", &resource, revision_id)?;
        apply_config(&mut f.live, cfg);
        f.live.revision_id = Some(rev);
        f.busy = settle;
        Ok(written(&f.live, "$LATEST"))
    }

    async fn tag(&self, _arn: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        self.enter("TagResource").await?;
        let resource = LambdaApi::resource(self);
        let mut w = self.world();
        let f = w
            .function
            .as_mut()
            .ok_or_else(|| not_found("TagResource", &resource))?;
        f.live.tags.extend(tags.clone());
        Ok(())
    }

    async fn untag(&self, _arn: &str, key: &str) -> Result<(), AwsError> {
        self.enter("UntagResource").await?;
        if let Some(f) = self.world().function.as_mut() {
            f.live.tags.remove(key);
        }
        Ok(())
    }

    async fn publish(
        &self,
        code_sha256: &str,
        description: &str,
        revision_id: Option<&str>,
    ) -> Result<Written, AwsError> {
        self.enter("PublishVersion").await?;
        let resource = LambdaApi::resource(self);
        let mut w = self.world();
        let f = w.writable("PublishVersion", &resource, revision_id)?;
        if f.live.code_sha256 != code_sha256 {
            return Err(err(
                "PublishVersion",
                &resource,
                ErrorKind::PreconditionFailed,
                "PreconditionFailedException: CodeSha256 does not match the code of $LATEST",
            ));
        }
        let live = f.live.clone();
        // Lambda publishes nothing new when the code and configuration are those of the
        // latest version: it returns that version, with its own description.
        let version = match w.versions.values().next_back() {
            Some(v) if v.code_sha256 == live.code_sha256 && v.fingerprint == live.fingerprint() => {
                v.version.clone()
            }
            _ => w.publish_as(description),
        };
        Ok(written(&live, &version))
    }

    async fn delete_function(&self) -> Result<(), AwsError> {
        self.enter("DeleteFunction").await?;
        let mut w = self.world();
        w.function = None;
        w.versions.clear();
        w.aliases.clear();
        w.urls.clear();
        w.policies.clear();
        Ok(())
    }

    async fn invoke(
        &self,
        qualifier: &str,
        _payload: &[u8],
        _timeout: Duration,
    ) -> Result<Invoked, AwsError> {
        self.enter("Invoke").await?;
        let resource = format!("version {qualifier} of {}", LambdaApi::resource(self));
        let w = self.world();
        let known = qualifier
            .parse::<u64>()
            .is_ok_and(|n| w.versions.contains_key(&n));
        if w.function.is_none() || !known {
            return Err(not_found("Invoke", &resource));
        }
        Ok(Invoked {
            status_code: 200,
            function_error: w.invoke_error.clone(),
            payload: br#"{"ok":true}"#.to_vec(),
        })
    }

    async fn get_alias(&self, name: &str) -> Result<Option<LiveAlias>, AwsError> {
        self.enter("GetAlias").await?;
        Ok(self.world().aliases.get(name).map(|a| LiveAlias {
            name: name.to_string(),
            version: a.version.clone(),
            revision_id: Some(a.revision_id.clone()),
            description: Some(a.description.clone()).filter(|d| !d.is_empty()),
        }))
    }

    async fn list_aliases(&self) -> Result<Vec<AliasTargets>, AwsError> {
        self.enter("ListAliases").await?;
        Ok(self
            .world()
            .aliases
            .iter()
            .map(|(name, a)| AliasTargets {
                name: name.clone(),
                version: a.version.clone(),
                additional: a.weights.keys().cloned().collect(),
            })
            .collect())
    }

    async fn point_alias(
        &self,
        name: &str,
        version: &str,
        description: &str,
        exists: bool,
        revision_id: Option<&str>,
    ) -> Result<(), AwsError> {
        let operation = if exists { "UpdateAlias" } else { "CreateAlias" };
        self.enter(operation).await?;
        let resource = self.alias_resource(name);
        let mut w = self.world();
        let known = version == "$LATEST"
            || version
                .parse::<u64>()
                .is_ok_and(|n| w.versions.contains_key(&n));
        if w.function.is_none() || !known {
            return Err(not_found(operation, &resource));
        }
        match (w.aliases.get(name), exists) {
            (Some(_), false) => Err(err(
                operation,
                &resource,
                ErrorKind::Conflict,
                "ResourceConflictException: Alias already exists",
            )),
            (None, true) => Err(not_found(operation, &resource)),
            (Some(a), true) if revision_id.is_some_and(|r| r != a.revision_id) => {
                Err(stale(operation, &resource))
            }
            _ => {
                w.set_alias(name, version, description);
                Ok(())
            }
        }
    }

    async fn get_routed_alias(&self, name: &str) -> Result<Option<RoutedAlias>, AwsError> {
        self.enter("GetAlias").await?;
        Ok(self.world().aliases.get(name).map(|a| RoutedAlias {
            version: a.version.clone(),
            weight: a.weights.iter().next().map(|(v, w)| (v.clone(), *w)),
            description: Some(a.description.clone()).filter(|d| !d.is_empty()),
            revision_id: Some(a.revision_id.clone()),
        }))
    }

    async fn route_alias(
        &self,
        name: &str,
        version: &str,
        weight: Option<(&str, f64)>,
        description: &str,
        revision_id: Option<&str>,
    ) -> Result<(), AwsError> {
        self.point_alias(name, version, description, true, revision_id)
            .await?;
        if let Some(a) = self.world().aliases.get_mut(name) {
            a.weights = weight
                .map(|(v, w)| (v.to_string(), w))
                .into_iter()
                .collect();
        }
        Ok(())
    }

    async fn delete_alias(&self, name: &str) -> Result<(), AwsError> {
        self.enter("DeleteAlias").await?;
        let mut w = self.world();
        w.aliases.remove(name);
        w.urls.remove(name);
        w.policies.remove(name);
        Ok(())
    }

    async fn get_url(&self, qualifier: &str) -> Result<Option<UrlConfig>, AwsError> {
        self.enter("GetFunctionUrlConfig").await?;
        Ok(self.world().urls.get(qualifier).cloned())
    }

    async fn create_url(&self, qualifier: &str, auth: UrlAuth) -> Result<UrlConfig, AwsError> {
        self.enter("CreateFunctionUrlConfig").await?;
        let resource = self.alias_resource(qualifier);
        let mut w = self.world();
        if w.urls.contains_key(qualifier) {
            return Err(err(
                "CreateFunctionUrlConfig",
                &resource,
                ErrorKind::Conflict,
                "ResourceConflictException: the URL exists",
            ));
        }
        if !w.aliases.contains_key(qualifier) {
            return Err(not_found("CreateFunctionUrlConfig", &resource));
        }
        let url = UrlConfig {
            url: format!("https://{}-{qualifier}.lambda-url.fake/", self.function),
            auth_type: auth.as_str().to_string(),
        };
        w.urls.insert(qualifier.to_string(), url.clone());
        Ok(url)
    }

    async fn update_url_auth(&self, qualifier: &str, auth: UrlAuth) -> Result<UrlConfig, AwsError> {
        self.enter("UpdateFunctionUrlConfig").await?;
        let resource = self.alias_resource(qualifier);
        let mut w = self.world();
        let url = w
            .urls
            .get_mut(qualifier)
            .ok_or_else(|| not_found("UpdateFunctionUrlConfig", &resource))?;
        url.auth_type = auth.as_str().to_string();
        Ok(url.clone())
    }

    async fn delete_url(&self, qualifier: &str) -> Result<(), AwsError> {
        self.enter("DeleteFunctionUrlConfig").await?;
        self.world().urls.remove(qualifier);
        Ok(())
    }

    async fn policy_statement_ids(&self, qualifier: &str) -> Result<Vec<String>, AwsError> {
        self.enter("GetPolicy").await?;
        Ok(self
            .world()
            .policies
            .get(qualifier)
            .map(|s| s.iter().map(|(sid, _)| sid.clone()).collect())
            .unwrap_or_default())
    }

    async fn add_url_permission(
        &self,
        statement_id: &str,
        qualifier: &str,
        grant: UrlGrant,
    ) -> Result<(), AwsError> {
        self.enter("AddPermission").await?;
        let resource = self.alias_resource(qualifier);
        let mut w = self.world();
        let statements = w.policies.entry(qualifier.to_string()).or_default();
        if statements.iter().any(|(sid, _)| sid == statement_id) {
            return Err(err(
                "AddPermission",
                &resource,
                ErrorKind::Conflict,
                "ResourceConflictException: the statement id exists",
            ));
        }
        statements.push((statement_id.to_string(), grant));
        Ok(())
    }

    async fn remove_permission(&self, statement_id: &str, qualifier: &str) -> Result<(), AwsError> {
        self.enter("RemovePermission").await?;
        if let Some(s) = self.world().policies.get_mut(qualifier) {
            s.retain(|(sid, _)| sid != statement_id);
        }
        Ok(())
    }
}

/// Alias routing, for tests of what weighted aliases keep.
impl FakeLambda {
    /// Routes `weight` of alias `name`'s traffic to `version` as well.
    pub fn route(&self, name: &str, version: &str, weight: f64) {
        if let Some(a) = self.world().aliases.get_mut(name) {
            a.weights.insert(version.to_string(), weight);
        }
    }

    /// The alias as the fake holds it.
    pub fn alias(&self, name: &str) -> Option<FakeAlias> {
        self.world().aliases.get(name).cloned()
    }
}
