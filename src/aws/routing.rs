//! Weighted alias routing: an alias that serves its version and sends a share of the
//! requests to a second one (`RoutingConfig.AdditionalVersionWeights`).

use std::collections::HashMap;

use aws_sdk_lambda::types::AliasRoutingConfiguration;

use super::lambda::Lambda;
use super::{AwsError, ErrorKind, or_absent};

pub use super::api::RoutedAlias;

impl Lambda {
    /// `name` with its routing; `None` when the alias does not exist.
    pub(crate) async fn get_routed_alias(
        &self,
        name: &str,
    ) -> Result<Option<RoutedAlias>, AwsError> {
        let resource = format!("alias '{name}' of {}", self.resource());
        let result = self
            .client()
            .get_alias()
            .function_name(self.function())
            .name(name)
            .send()
            .await;
        let found = or_absent(result, |s| s.is_resource_not_found_exception())
            .map_err(|e| AwsError::from_sdk("GetAlias", &resource, e, |_| ErrorKind::Other))?;
        Ok(found.map(|a| RoutedAlias {
            version: a.function_version().unwrap_or_default().to_string(),
            weight: a
                .routing_config()
                .and_then(|r| r.additional_version_weights())
                .and_then(|w| w.iter().next())
                .map(|(v, w)| (v.clone(), *w)),
            description: a.description().map(str::to_string),
            revision_id: a.revision_id().map(str::to_string),
        }))
    }

    /// Points `name` at `version`, sending `weight` of the requests to a second version
    /// (or none: the routing is removed), guarded by the alias's `revision_id`.
    pub(crate) async fn route_alias(
        &self,
        name: &str,
        version: &str,
        weight: Option<(&str, f64)>,
        description: &str,
        revision_id: Option<&str>,
    ) -> Result<(), AwsError> {
        let resource = format!("alias '{name}' of {}", self.resource());
        let weights: HashMap<String, f64> = weight
            .map(|(v, w)| (v.to_string(), w))
            .into_iter()
            .collect();
        let routing = AliasRoutingConfiguration::builder()
            .set_additional_version_weights(Some(weights))
            .build();
        self.client()
            .update_alias()
            .function_name(self.function())
            .name(name)
            .function_version(version)
            .description(description)
            .routing_config(routing)
            .set_revision_id(revision_id.map(str::to_string))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                AwsError::from_sdk("UpdateAlias", &resource, e, |s| {
                    if s.is_precondition_failed_exception() {
                        ErrorKind::PreconditionFailed
                    } else if s.is_resource_conflict_exception() {
                        ErrorKind::Conflict
                    } else {
                        ErrorKind::Other
                    }
                })
            })
    }
}
