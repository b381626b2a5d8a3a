//! Container image deploys, without a Docker engine.
//!
//! Two ways in, both ending with Lambda pointed at `<registry>/<repository>@sha256:<digest>`:
//! - `image-uri`: an existing image in ECR; a tag is resolved to its digest, an index to the
//!   manifest of the function's architecture.
//! - `source-dir` with `package-type: image`: the base image's manifest and config are read
//!   ([`source`]), `source-dir` becomes one reproducible layer under `/var/task`
//!   ([`layer`]), config and manifest are assembled ([`build`]) and, after the plan,
//!   pushed to the ECR repository with the run's tags ([`push`]). The same tree on the same
//!   base gives the same digest, so nothing is uploaded and Lambda sees no change.
//!
//! Every check that can refuse the image (architecture, size, package type) runs in
//! [`prepare`], before anything is pushed.

pub mod build;
pub mod layer;
pub mod push;
pub mod source;

use std::path::Path;

use secrecy::ExposeSecret;

use crate::aws::AwsError;
use crate::aws::ecr::{Ecr, EcrLogin};
use crate::config::{Artifact, Config};
use crate::package::{ExcludeSet, PackageError};
use crate::plan::{ImageCode, LocalCode, bytes};
use crate::registry::{Credentials, Registry, RegistryError};

use crate::domain::image_ref::{EcrHost, ImageRef, RegistryEndpoint};
pub use crate::domain::outcome::{ImageReport, LayerReport};
use build::{BaseImage, Built};
use layer::LayerInfo;

/// Lambda's limit on an image, uncompressed, all layers included.
pub(crate) const IMAGE_MAX: u64 = 10 * 1024 * 1024 * 1024;

/// Why an image cannot be deployed.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(
        "image {image} is for {image_arch} but the function runs on {function_arch}; build on a base image for {function_arch} or set architecture: {image_arch}"
    )]
    Architecture {
        image: String,
        image_arch: String,
        function_arch: String,
    },
    #[error(
        "image {image} has no linux/{arch} manifest (it offers {offered}); choose an image for {arch} or set architecture to one it offers"
    )]
    NoPlatform {
        image: String,
        arch: String,
        offered: String,
    },
    #[error("image {image} cannot be used: {reason}")]
    Unusable { image: String, reason: String },
    #[error(
        "the image is at least {}, over Lambda's {} limit for images; leave files out with exclude or use a smaller base-image",
        bytes(*size), bytes(IMAGE_MAX)
    )]
    TooLarge { size: u64 },
    #[error("cannot use a scratch directory for the image: {0}")]
    Scratch(std::io::Error),
}

/// An image built here, waiting to be pushed.
pub struct BuiltImage {
    pub base: BaseImage,
    pub layer: LayerInfo,
    pub built: Built,
    /// The registry the base is read from when it is not the target registry.
    base_registry: Option<Registry>,
    scratch: crate::cancel::ScratchDir,
}

/// The image a run deploys, checked and ready.
pub struct Prepared {
    /// The registry host Lambda is given (ECR).
    pub host: String,
    pub repository: String,
    /// `sha256:<hex>` of the single-platform manifest.
    pub digest: String,
    pub architecture: String,
    /// Compressed size of every layer (what a pull downloads).
    pub size: u64,
    /// `CMD` override for an existing image.
    pub command: Option<Vec<String>>,
    /// `Some` when the image was built here and has to be pushed.
    pub build: Option<BuiltImage>,
    target: Registry,
}

impl Prepared {
    /// The URI Lambda is given: always by digest.
    pub fn image_uri(&self) -> String {
        format!("{}/{}@{}", self.host, self.repository, self.digest)
    }

    /// What the plan compares with the function's CodeSha256 (the digest's hex).
    pub fn code(&self) -> LocalCode {
        LocalCode {
            code_sha256: self.digest.trim_start_matches("sha256:").to_string(),
            size: self.size,
            unzipped_size: self.build.as_ref().map_or(0, |b| b.layer.uncompressed_size),
            image: Some(ImageCode {
                uri: self.image_uri(),
                command: self.command.clone(),
            }),
        }
    }
}

/// The endpoint for `host`: the `registry-endpoint` override when given, else https.
fn endpoint_for(config: &Config) -> impl Fn(&str) -> RegistryEndpoint + '_ {
    move |host| {
        config
            .image
            .endpoint
            .clone()
            .unwrap_or_else(|| RegistryEndpoint::https(host))
    }
}

fn basic(login: &EcrLogin) -> Credentials {
    Credentials::Basic {
        user: login.user.clone(),
        password: login.password.clone(),
    }
}

/// Resolves or builds the image named by the config and runs every check that can refuse
/// it. `function_arch` is the architecture the function will run on. Nothing is written.
/// In Actions (`mask`), the registry password is masked before anything could print it.
pub(crate) async fn prepare(
    config: &Config,
    ecr: &Ecr,
    function_arch: &str,
    mask: bool,
) -> Result<Prepared, ImageError> {
    let login = ecr.login().await?;
    if mask {
        crate::gha::add_mask(login.password.expose_secret());
    }
    match config.artifact.as_ref() {
        None | Some(Artifact::SourceDir { .. } | Artifact::ZipFile { .. }) => {
            Err(ImageError::Unusable {
                image: "(none)".into(),
                reason: "the run deploys no image".into(),
            })
        }
        Some(Artifact::ImageUri { image }) => {
            resolve_existing(config, &login, image, function_arch).await
        }
        Some(Artifact::ImageBuild {
            dir,
            exclude,
            base_image,
        }) => {
            let source = BuildSource {
                dir,
                exclude,
                base_image,
            };
            build_new(config, &login, &source, function_arch).await
        }
    }
}

/// `image-uri`: the existing image, resolved to the manifest of the function's
/// architecture.
async fn resolve_existing(
    config: &Config,
    login: &EcrLogin,
    image: &ImageRef,
    function_arch: &str,
) -> Result<Prepared, ImageError> {
    let endpoint = endpoint_for(config);
    let target = Registry::new(endpoint(&image.registry), basic(login))?;
    let resolved = source::resolve(&target, image, function_arch).await?;
    check_arch(image, &resolved.architecture, function_arch)?;
    Ok(Prepared {
        host: image.registry.clone(),
        repository: image.repository.clone(),
        digest: resolved.manifest_digest.clone(),
        architecture: resolved.architecture.clone(),
        size: resolved.manifest.layers.iter().map(|l| l.size).sum(),
        command: config.image.command.clone(),
        build: None,
        target,
    })
}

/// What a built image is made of: `source-dir` (with its excludes) on a base image.
struct BuildSource<'a> {
    dir: &'a Path,
    exclude: &'a [String],
    base_image: &'a ImageRef,
}

/// `source-dir` with `package-type: image`: the code layer on the base image, assembled
/// here and checked against Lambda's size limit; nothing is pushed yet.
async fn build_new(
    config: &Config,
    login: &EcrLogin,
    src: &BuildSource<'_>,
    function_arch: &str,
) -> Result<Prepared, ImageError> {
    let base_image = src.base_image;
    let endpoint = endpoint_for(config);
    let target = Registry::new(endpoint(&login.host), basic(login))?;
    let base_registry = base_registry(config, login, base_image)?;
    let base = source::resolve(
        base_registry.as_ref().unwrap_or(&target),
        base_image,
        function_arch,
    )
    .await?;
    check_arch(base_image, &base.architecture, function_arch)?;

    let scratch =
        crate::cancel::ScratchDir::new("lambda-deploy-image-").map_err(ImageError::Scratch)?;
    let layer = code_layer(src, &scratch).await?;
    let command = config
        .image
        .command
        .clone()
        .or_else(|| config.settings.handler.clone().map(|h| vec![h]))
        .unwrap_or_default();
    let built =
        build::assemble(&base, &layer, &command).map_err(|reason| ImageError::Unusable {
            image: base_image.to_string(),
            reason,
        })?;
    // Base layers count compressed (their unpacked size is not known without
    // downloading them): a lower bound, exact for the code layer.
    let at_least =
        base.manifest.layers.iter().map(|l| l.size).sum::<u64>() + layer.uncompressed_size;
    if at_least > IMAGE_MAX {
        return Err(ImageError::TooLarge { size: at_least });
    }
    Ok(Prepared {
        host: login.host.clone(),
        repository: config.image.repository.clone(),
        digest: built.manifest_digest.clone(),
        architecture: base.architecture.clone(),
        size: built.layers.iter().map(|l| l.size).sum(),
        command: None,
        build: Some(BuiltImage {
            base,
            layer,
            built,
            base_registry,
            scratch,
        }),
        target,
    })
}

/// The registry the base image is read from when it is not the one pushes go to: ECR
/// with the run's login, any other registry anonymously.
fn base_registry(
    config: &Config,
    login: &EcrLogin,
    base_image: &ImageRef,
) -> Result<Option<Registry>, ImageError> {
    if same_registry(config, &login.host, base_image) {
        return Ok(None);
    }
    let registry = if EcrHost::parse(&base_image.registry).is_some() {
        Registry::new(RegistryEndpoint::https(&base_image.registry), basic(login))?
    } else {
        Registry::new(
            RegistryEndpoint::for_host(&base_image.registry),
            Credentials::Anonymous,
        )?
    };
    Ok(Some(registry))
}

/// Writes `source-dir` as the code layer into the scratch directory.
async fn code_layer(
    src: &BuildSource<'_>,
    scratch: &crate::cancel::ScratchDir,
) -> Result<LayerInfo, ImageError> {
    let out = scratch.path().join("code-layer.tar.gz");
    let (dir, patterns) = (src.dir.to_path_buf(), src.exclude.to_vec());
    let layer = tokio::task::spawn_blocking(move || {
        layer::write_layer(&dir, &ExcludeSet::new(&patterns)?, &out)
    })
    .await
    .map_err(|e| ImageError::Scratch(std::io::Error::other(e)))??;
    tracing::info!(size = layer.size, uncompressed = layer.uncompressed_size, entries = layer.entries, digest = %layer.digest, "code layer ready");
    Ok(layer)
}

/// Whether the base image lives on the registry pushes go to (so its layers can be
/// mounted instead of copied).
fn same_registry(config: &Config, ecr_host: &str, base: &ImageRef) -> bool {
    base.registry == ecr_host
        || config
            .image
            .endpoint
            .as_ref()
            .is_some_and(|e| e.authority == base.registry)
}

fn check_arch(image: &ImageRef, image_arch: &str, function_arch: &str) -> Result<(), ImageError> {
    if image_arch == function_arch {
        Ok(())
    } else {
        Err(ImageError::Architecture {
            image: image.to_string(),
            image_arch: image_arch.to_string(),
            function_arch: function_arch.to_string(),
        })
    }
}
