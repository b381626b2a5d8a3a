//! `command: status`: the function's versions, newest first, with where each came from
//! and which aliases serve it (with their weights).

use serde::Serialize;

use super::{HistoryError, Origin, collect};
use crate::aws::history::{AliasRow, History, VersionRow};
use crate::domain::LOCK_ALIAS;

/// One alias's share of a version's traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Serving {
    pub alias: String,
    /// Percent of the alias's traffic.
    pub weight: f64,
}

/// One version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct VersionStatus {
    pub version: String,
    #[serde(flatten)]
    pub origin: Origin,
    pub date: String,
    pub code_size: i64,
    pub aliases: Vec<Serving>,
}

/// What `status` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StatusReport {
    pub function_name: String,
    pub function_arn: String,
    pub versions: Vec<VersionStatus>,
}

/// Joins versions and aliases (pure).
pub fn build(versions: &[VersionRow], aliases: &[AliasRow]) -> Vec<VersionStatus> {
    let mut rows: Vec<VersionStatus> = versions
        .iter()
        .map(|v| VersionStatus {
            version: v.version.clone(),
            origin: Origin::parse(&v.description),
            date: v.last_modified.clone(),
            code_size: v.code_size,
            aliases: Vec::new(),
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.version.parse::<u64>().unwrap_or(0)));
    for a in aliases.iter().filter(|a| a.name != LOCK_ALIAS) {
        let weighted: f64 = a.weights.iter().map(|(_, w)| w).sum();
        let shares = std::iter::once((a.version.as_str(), 1.0 - weighted))
            .chain(a.weights.iter().map(|(v, w)| (v.as_str(), *w)));
        for (version, share) in shares {
            if let Some(r) = rows.iter_mut().find(|r| r.version == version) {
                r.aliases.push(Serving {
                    alias: a.name.clone(),
                    weight: (share * 1000.0).round() / 10.0,
                });
            }
        }
    }
    rows
}

/// Reads every version and alias of the function.
pub async fn run<H: History>(h: &H, function: &str) -> Result<StatusReport, HistoryError> {
    let latest = h.latest().await?.ok_or_else(|| HistoryError::NoFunction {
        function: function.to_string(),
        command: "list",
    })?;
    let (versions, aliases) = tokio::join!(
        collect(async |m| h.versions_page(m).await),
        collect(async |m| h.aliases_page(m).await),
    );
    Ok(StatusReport {
        function_name: function.to_string(),
        function_arn: latest.arn,
        versions: build(&versions?, &aliases?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_newest_first_with_their_aliases_and_weights() {
        let v = |n: &str| VersionRow {
            version: n.into(),
            description: format!("main @ abc{n} · https://github.com/o/r/actions/runs/{n}"),
            ..VersionRow::default()
        };
        let versions = [v("2"), v("10"), v("1")];
        let aliases = [
            AliasRow {
                name: "live".into(),
                version: "10".into(),
                weights: vec![("2".into(), 0.25)],
                ..AliasRow::default()
            },
            AliasRow {
                name: LOCK_ALIAS.into(),
                version: "1".into(),
                ..AliasRow::default()
            },
        ];
        let rows = build(&versions, &aliases);
        let order: Vec<&str> = rows.iter().map(|r| r.version.as_str()).collect();
        assert_eq!(order, ["10", "2", "1"]);
        assert_eq!(
            rows[0].aliases,
            [Serving {
                alias: "live".into(),
                weight: 75.0
            }]
        );
        assert_eq!(rows[1].aliases[0].weight, 25.0);
        assert!(rows[2].aliases.is_empty(), "the lock alias is not shown");
        assert_eq!(rows[0].origin.commit.as_deref(), Some("abc10"));
    }
}
