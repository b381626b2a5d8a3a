//! lambda-deploy ships AWS Lambda functions from GitHub Actions or any CI.
//!
//! One run flows in one direction:
//!
//! 1. [`config`]: inputs from `INPUT_*` variables and `--flags` are validated into a
//!    typed [`config::Config`]; every bad input fails here, before any AWS call.
//! 2. [`context`]: the GitHub run (event, ref, commit, pull request) is read from
//!    `GITHUB_*` variables and the event payload; [`tags`] derives aliases and
//!    version descriptions from it, and [`targets`] decides which aliases the run moves
//!    (release tags, pull request previews) or whether it removes a preview ([`preview`]).
//! 3. [`package`]: the source directory becomes a byte-reproducible zip, so an
//!    unchanged tree has an unchanged CodeSha256 and is never uploaded again.
//!    For `package-type: image`, [`image`] builds one reproducible code layer on a base
//!    image (or resolves an existing image) and, after the plan, pushes it to ECR through
//!    [`registry`], a thin OCI distribution client.
//! 4. [`plan`]: a pure diff of the desired function against the live one ([`state`],
//!    read by the [`aws`] adapters): everything the run will do, in one value. What is
//!    uploaded and by which route (the zip itself, an S3 object, an image push), which
//!    fields change, which layers are published or reused, which version is published,
//!    which aliases move or are held back, and the function URL with its grants.
//!    `dry-run` stops here.
//! 5. [`deploy`]: the plan is applied with waits and RevisionId guards; [`layers`] from
//!    `layer-dirs` are published first when their content changed, and packages go
//!    through S3 ([`aws::s3`]) when `s3-bucket` is set. Every AWS call retries within
//!    bounds ([`aws::retry`]), a run that loses `$LATEST` to a concurrent one never serves
//!    a mixed version and never moves an alias back to an older run or release ([`race`],
//!    [`order`]), and [`smoke`] invokes the new version first. With `traffic-shift`,
//!    [`shift`] moves the stable aliases gradually through weighted routing, gated on
//!    CloudWatch alarms.
//! 6. [`report`]: one report, the plan plus what applying it did, becomes outputs, the
//!    job summary and JSON ([`gha`]); pull request runs also get a sticky comment and a
//!    deployment ([`github`]). The summary and the comment show the plan in a collapsible
//!    section rendered from the same value as the dry run's text and JSON.
//!
//! Below them all, [`domain`] holds the pure types and rules the stages share (what is sent
//! to Lambda, package facts, Lambda's limits, image references and OCI documents); it
//! imports nothing above it, so the adapters never reach into the plan or the config.
//!
//! A `manifest` lists several functions; [`fleet`] validates them all, then deploys each
//! through the same stages, several at a time, and reports them together.
//!
//! Besides deploying, [`history`] rolls aliases back, prunes old versions and lists them;
//! [`app`] picks the command. [`run`] wires the deploy's stages; `main.rs` only parses the command line and turns
//! errors into annotations and an exit code.

// The library serves the binary and the tests: items only the crate uses are
// `pub(crate)`, and the docs of public items still link to them for readers of the source.
#![allow(rustdoc::private_intra_doc_links)]

pub mod app;
pub mod aws;
pub mod backoff;
pub mod bootstrap;
pub mod cancel;
pub mod cli;
pub mod config;
pub mod context;
pub mod deploy;
pub mod domain;
pub mod error;
pub mod fleet;
pub mod function_url;
pub mod gha;
pub mod github;
pub mod history;
pub mod image;
pub mod init;
pub mod layers;
pub mod markdown;
pub mod order;
pub mod output;
pub mod package;
pub mod permissions;
pub mod plan;
pub mod preview;
pub mod race;
pub mod registry;
pub mod release;
pub mod report;
pub mod run;
pub mod shift;
pub mod smoke;
pub mod state;
pub mod tags;
pub mod targets;
pub mod types;

pub use error::Error;
