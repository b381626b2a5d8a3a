//! lambda-deploy ships AWS Lambda functions from GitHub Actions or any CI.
//!
//! One run flows in one direction:
//!
//! 1. [`config`]: inputs from `INPUT_*` variables and `--flags` are validated into a
//!    typed [`config::Config`]; every bad input fails here, before any AWS call.
//! 2. [`context`]: the GitHub run (event, ref, commit, pull request) is read from
//!    `GITHUB_*` variables and the event payload; [`tags`] derives aliases and
//!    version descriptions from it.
//! 3. [`package`]: the source directory becomes a byte-reproducible zip, so an
//!    unchanged tree has an unchanged CodeSha256 and is never uploaded again.
//! 4. [`plan`]: a pure diff of the desired function against the live one ([`state`],
//!    read by the [`aws`] adapters): what is uploaded, which fields change, which
//!    version is published, which aliases move. `dry-run` stops here.
//! 5. [`deploy`]: the plan is applied with waits and RevisionId guards; [`layers`] from
//!    `layer-dirs` are published first when their content changed, and packages go
//!    through S3 ([`aws::s3`]) when `s3-bucket` is set.
//! 6. [`report`]: one report becomes outputs, the job summary and JSON ([`gha`]).
//!
//! [`run`] wires these stages; `main.rs` only parses the command line and turns
//! errors into annotations and an exit code.

pub mod aws;
pub mod cli;
pub mod config;
pub mod context;
pub mod deploy;
pub mod error;
pub mod gha;
pub mod layers;
pub mod limits;
pub mod output;
pub mod package;
pub mod plan;
pub mod report;
pub mod run;
pub mod state;
pub mod tags;
pub mod types;

pub use error::Error;
