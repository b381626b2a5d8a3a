//! The inputs of `package-type: image`: which image (an existing `image-uri`, or a build
//! of `source-dir` on `base-image`), where built images go (`ecr-repository`,
//! `registry-endpoint`) and their `CMD`. Every rule is checked here, before any AWS call.

use std::path::Path;

use serde::Serialize;

use super::{Artifact, Checker, RawInputs, existing_dir};
use crate::domain::image_ref::{self as reference, EcrHost, ImageRef, RegistryEndpoint};
use crate::types::FunctionName;

/// Where and how images are pushed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImageOptions {
    /// ECR repository for built images (default: the function name, lowercased).
    pub repository: String,
    /// Registry address override (`registry-endpoint`).
    pub endpoint: Option<RegistryEndpoint>,
    /// `CMD` of the image (`image-command`); for builds it defaults to the handler.
    pub command: Option<Vec<String>>,
}

/// `image-command`: a JSON array of strings, or words separated by spaces.
fn command(v: &str) -> Result<Vec<String>, String> {
    let v = v.trim();
    let words: Vec<String> = if v.starts_with('[') {
        serde_json::from_str(v).map_err(|e| {
            format!("is not a JSON array of strings ({e}); write [\"app.handler\"] or app.handler")
        })?
    } else {
        v.split_whitespace().map(str::to_string).collect()
    };
    if words.is_empty() || words.iter().any(String::is_empty) {
        return Err("is empty; give the command, e.g. app.handler".into());
    }
    if words.iter().map(String::len).sum::<usize>() > 1024 {
        return Err("is over 1024 characters; shorten it".into());
    }
    Ok(words)
}

fn ecr_image(v: &str) -> Result<ImageRef, String> {
    let image: ImageRef = v.parse()?;
    if EcrHost::parse(&image.registry).is_none() {
        return Err(format!(
            "'{v}' is not in Amazon ECR, and Lambda runs images only from ECR; push it to a repository and give <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>"
        ));
    }
    Ok(image)
}

/// Checks the image inputs for any package type; returns the options for image runs.
pub(super) fn options(
    c: &mut Checker,
    raw: &RawInputs,
    function: Option<&FunctionName>,
    is_image: bool,
) -> ImageOptions {
    let endpoint = c.opt("registry-endpoint", &raw.registry_endpoint, |v| v.parse());
    let command = c.opt("image-command", &raw.image_command, command);
    let explicit = c.opt(
        "ecr-repository",
        &raw.ecr_repository,
        reference::ecr_repository,
    );
    let mut repository = explicit.clone().unwrap_or_default();
    if is_image
        && raw.ecr_repository.is_none()
        && raw.image_uri.is_none()
        && let Some(f) = function
    {
        let default = f.short_name().to_ascii_lowercase();
        match reference::ecr_repository(&default) {
            Ok(r) => repository = r,
            Err(_) => c.fail(
                "ecr-repository",
                format!("the default, the function name '{default}', is not a valid ECR repository name; give ecr-repository"),
            ),
        }
    }
    ImageOptions {
        repository,
        endpoint,
        command,
    }
}

/// The artifact of an image run.
pub(super) fn artifact(
    c: &mut Checker,
    raw: &RawInputs,
    base: &Path,
    exclude: &[String],
) -> Option<Artifact> {
    if raw.zip_file.is_some() {
        c.fail(
            "zip-file",
            "applies only to package-type zip; give source-dir (to build an image) or image-uri",
        );
    }
    for (input, value, why) in [
        (
            "runtime",
            &raw.runtime,
            "an image brings its own runtime; remove runtime",
        ),
        (
            "layers",
            &raw.layers,
            "Lambda does not attach layers to image functions; copy the layer's files into source-dir",
        ),
    ] {
        if value.is_some() {
            c.fail(input, format!("applies only to package-type zip: {why}"));
        }
    }
    match (&raw.source_dir, &raw.image_uri) {
        (Some(_), Some(_)) => {
            c.fail(
                "image-uri",
                "cannot be combined with source-dir; give image-uri to deploy an existing image, or source-dir to build one",
            );
            None
        }
        (None, Some(uri)) => {
            for (input, value) in [
                ("exclude", &raw.exclude),
                ("ecr-repository", &raw.ecr_repository),
            ] {
                if value.is_some() {
                    c.fail(input, "applies only when building from source-dir; image-uri is deployed as it is");
                }
            }
            c.opt("image-uri", &Some(uri.clone()), ecr_image)
                .map(|image| Artifact::ImageUri { image })
        }
        (Some(dir), None) => {
            if raw.handler.is_none() && raw.image_command.is_none() {
                c.fail(
                    "handler",
                    "is required to build an image: it becomes the image's CMD; give handler (or image-command)",
                );
            }
            let base_image =
                c.with_default("base-image", &raw.base_image, |v| v.parse::<ImageRef>());
            let dir = c.opt("source-dir", &Some(dir.clone()), |v| existing_dir(base, v));
            Some(Artifact::ImageBuild {
                dir: dir?,
                exclude: exclude.to_vec(),
                base_image: base_image?,
            })
        }
        (None, None) => {
            c.fail(
                "source-dir",
                "is required: give source-dir (a folder to build into an image) or image-uri (an image in ECR)",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_ecr_images() {
        assert_eq!(command("app.handler").unwrap(), ["app.handler"]);
        assert_eq!(
            command(r#"["/bin/sh", "-c", "x y"]"#).unwrap(),
            ["/bin/sh", "-c", "x y"]
        );
        assert!(command("[1]").is_err());
        assert!(ecr_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1").is_ok());
        assert!(
            ecr_image("docker.io/library/alpine:3")
                .unwrap_err()
                .contains("only from ECR")
        );
    }
}
