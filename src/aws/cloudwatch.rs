//! The CloudWatch adapter: reads the state of the alarms that gate a gradual shift.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::AlarmType;

use super::{AwsError, ErrorKind};
use crate::domain::shift::Alarm;

/// A CloudWatch client for alarm reads.
#[derive(Debug, Clone)]
pub struct CloudWatch {
    client: Client,
}

impl CloudWatch {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(config)
                    .interceptor(crate::cancel::Gate)
                    .build(),
            ),
        }
    }

    /// The alarms among `names` that exist (metric and composite), in no set order.
    pub async fn alarms(&self, names: &[String]) -> Result<Vec<Alarm>, AwsError> {
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk("DescribeAlarms", "the alarms", e, |_| ErrorKind::Other)
                })?;
            for a in out.metric_alarms() {
                found.push(Alarm {
                    name: a.alarm_name().unwrap_or_default().to_string(),
                    state: a
                        .state_value()
                        .map(|s| s.as_str())
                        .unwrap_or("")
                        .to_string(),
                    metric: format!(
                        "{}/{}",
                        a.namespace().unwrap_or("-"),
                        a.metric_name().unwrap_or("(metric math)")
                    ),
                    reason: a.state_reason().unwrap_or_default().to_string(),
                });
            }
            for a in out.composite_alarms() {
                found.push(Alarm {
                    name: a.alarm_name().unwrap_or_default().to_string(),
                    state: a
                        .state_value()
                        .map(|s| s.as_str())
                        .unwrap_or("")
                        .to_string(),
                    metric: format!("composite rule {}", a.alarm_rule().unwrap_or("-")),
                    reason: a.state_reason().unwrap_or_default().to_string(),
                });
            }
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(found);
            }
        }
    }
}
