//! The real [`Traffic`]: Lambda aliases, CloudWatch alarms, the system clock and the
//! cancellation undo actions; and the deploy's entry point, [`before_moves`].

use std::time::{Duration, SystemTime};

use super::{Back, ShiftError, Shifted, Spec, Traffic, clear_leftovers, rollback, run};
use crate::aws::AwsError;
use crate::aws::api::LambdaApi;
use crate::aws::cloudwatch::CloudWatch;
use crate::aws::routing::RoutedAlias;
use crate::cancel::{self, Pending};
use crate::config::Config;
use crate::domain::shift::Alarm;
use crate::order::OrderKey;
use crate::plan::Plan;
use crate::state::LiveAlias;

/// Lambda and CloudWatch as they are.
#[derive(Debug, Clone)]
pub struct Live<L> {
    pub lambda: L,
    pub cloudwatch: Option<CloudWatch>,
}

impl<L: LambdaApi> Traffic for Live<L> {
    type Guard = Pending;

    async fn read(&self, alias: &str) -> Result<Option<RoutedAlias>, AwsError> {
        self.lambda.get_routed_alias(alias).await
    }

    async fn route(
        &self,
        alias: &str,
        version: &str,
        weight: Option<(&str, f64)>,
        description: &str,
        revision_id: Option<&str>,
    ) -> Result<(), AwsError> {
        self.lambda
            .route_alias(alias, version, weight, description, revision_id)
            .await
    }

    async fn mover(&self, name: &str, current: &RoutedAlias) -> Result<OrderKey, AwsError> {
        let live = LiveAlias {
            name: name.to_string(),
            version: current.version.clone(),
            revision_id: current.revision_id.clone(),
            description: current.description.clone(),
        };
        crate::race::mover(&self.lambda, &live).await
    }

    async fn alarms(&self, names: &[String]) -> Result<Vec<Alarm>, AwsError> {
        match &self.cloudwatch {
            Some(cw) => cw.alarms(names).await,
            None => Ok(Vec::new()),
        }
    }

    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }

    fn on_cancel(&self, back: Vec<Back>, ours: OrderKey) -> Pending {
        let live = self.clone();
        cancel::on_cancel(move || async move {
            let said = rollback(&live, &back, &ours).await;
            Ok(format!("traffic shift undone: {said}"))
        })
    }
}

/// What happened before the plain alias moves.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Rollout {
    /// Leftover routing cleared, for the report.
    pub warnings: Vec<String>,
    /// The gradual shift, when one ran.
    pub shifted: Option<Shifted>,
}

/// Runs before the aliases move: clears routing a dead run's shift left on them, then,
/// with a gradual `traffic-shift`, shifts every alias that serves another published
/// version to `version`. The plain moves that follow find those aliases on `version`.
pub(crate) async fn before_moves<L: LambdaApi>(
    lambda: &L,
    config: &Config,
    plan: &Plan,
    version: &str,
    ours: &OrderKey,
) -> Result<Rollout, ShiftError> {
    let names: Vec<String> = plan
        .aliases
        .iter()
        .map(|a| a.name.clone())
        .chain(plan.aliases_in_place.iter().cloned())
        .collect();
    let gradual = config.traffic_shift.is_gradual();
    let cloudwatch = if gradual && !config.alarms.is_empty() {
        Some(CloudWatch::new(&crate::aws::load_config().await))
    } else {
        None
    };
    let live = Live {
        lambda: lambda.clone(),
        cloudwatch,
    };
    let warnings = clear_leftovers(&live, &names, ours).await?;
    let shifting: Vec<String> = plan
        .aliases
        .iter()
        .filter(|a| a.from.as_deref().is_some_and(|f| f != version))
        .map(|a| a.name.clone())
        .collect();
    if !gradual || shifting.is_empty() || version.parse::<u64>().is_err() {
        return Ok(Rollout {
            warnings,
            shifted: None,
        });
    }
    let (steps, hold) = config.traffic_shift.steps();
    let spec = Spec {
        aliases: &shifting,
        version,
        steps: &steps,
        hold,
        alarms: &config.alarms,
        ours,
        poll: super::POLL,
    };
    let mut shifted = run(&live, &spec).await?;
    shifted.shift = config.traffic_shift.to_string();
    Ok(Rollout {
        warnings,
        shifted: Some(shifted),
    })
}
