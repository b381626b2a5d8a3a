//! Several functions in one step: each entry of a manifest is planned and deployed on its
//! own, at most `max-parallel` at a time, with one AWS configuration (and its credentials)
//! loaded once for them all. One failure does not stop the others.

use std::sync::Arc;

use tokio::task::JoinSet;
use tracing::Instrument;

use crate::config::Config;
use crate::config::manifest::Entry;
use crate::context::GitHubContext;
use crate::error::Error;
use crate::report::many::{EntryResult, Failure};

/// How one entry's deploy ended.
pub type Outcome = EntryResult;

fn failure(err: &Error) -> Failure {
    Failure {
        title: err.title(),
        message: err.to_string(),
    }
}

/// Deploys every entry (a dry run plans them), at most `max_parallel` at once; the
/// results keep the manifest's order.
pub(crate) async fn deploy_all(
    entries: Vec<Entry>,
    ctx: &GitHubContext,
    max_parallel: usize,
) -> Result<Vec<Outcome>, Error> {
    let configs: Vec<(String, Config)> = entries.into_iter().map(|e| (e.name, e.config)).collect();
    run_all(configs, ctx, max_parallel).await
}

/// Names the entries whose deploy would change something: the package, the function's
/// configuration, a layer, an alias (a function not yet created is in). Nothing is
/// written: every entry is planned as a dry run.
pub async fn matrix(
    entries: Vec<Entry>,
    ctx: &GitHubContext,
    max_parallel: usize,
) -> Result<Vec<(String, Result<bool, Failure>)>, Error> {
    let configs: Vec<(String, Config)> = entries
        .into_iter()
        .map(|e| {
            let mut config = e.config;
            config.dry_run = true;
            (e.name, config)
        })
        .collect();
    let outcomes = run_all(configs, ctx, max_parallel).await?;
    Ok(outcomes
        .into_iter()
        .map(|o| {
            let changed = o
                .result
                .map(|r| r.plan.as_ref().is_none_or(|p| !p.is_noop()));
            (o.name, changed)
        })
        .collect())
}

/// Runs one deploy per config, `max_parallel` at a time, sharing one AWS configuration.
async fn run_all(
    configs: Vec<(String, Config)>,
    ctx: &GitHubContext,
    max_parallel: usize,
) -> Result<Vec<Outcome>, Error> {
    let sdk = Arc::new(super::connect().await?);
    let ctx = Arc::new(ctx.clone());
    let mut results: Vec<Option<Result<crate::report::Report, Failure>>> =
        vec![None; configs.len()];
    let names: Vec<String> = configs.iter().map(|(n, _)| n.clone()).collect();
    let mut set = JoinSet::new();
    let mut queue = configs.into_iter().enumerate();
    loop {
        while set.len() < max_parallel.max(1) {
            let Some((index, (name, config))) = queue.next() else {
                break;
            };
            let (sdk, ctx) = (Arc::clone(&sdk), Arc::clone(&ctx));
            let span = tracing::info_span!("function", name = %name);
            let handle = tokio::runtime::Handle::current();
            // Each deploy runs on its own thread (packaging is CPU work), driven by the
            // step's runtime for its network I/O.
            set.spawn_blocking(move || {
                let deploy = super::deploy_with(&config, &ctx, Some(&sdk)).instrument(span.clone());
                let result = handle.block_on(deploy);
                if let Err(e) = &result {
                    span.in_scope(|| tracing::error!("{e}"));
                }
                (index, result.map_err(|e| failure(&e)))
            });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        match joined {
            Ok((index, result)) => results[index] = Some(result),
            Err(e) => tracing::error!("a deploy stopped unexpectedly: {e}"),
        }
    }
    Ok(names
        .into_iter()
        .zip(results)
        .map(|(name, result)| EntryResult {
            name,
            result: result.unwrap_or_else(|| {
                Err(Failure {
                    title: "lambda-deploy: deploy stopped".into(),
                    message: "the deploy stopped unexpectedly; see the step's log".into(),
                })
            }),
        })
        .collect())
}
