//! Lambda's size limits, checked on the local package (and the layers built with it)
//! before anything is uploaded.

use crate::domain::bytes;
use crate::domain::package::PackageInfo;

/// Largest zip Lambda accepts in the request itself (CreateFunction/UpdateFunctionCode,
/// and PublishLayerVersion for a layer).
pub(crate) const DIRECT_UPLOAD_MAX: u64 = 50 * 1024 * 1024;
/// Largest unzipped size of function code plus its layers.
pub(crate) const UNZIPPED_MAX: u64 = 250 * 1024 * 1024;

/// A limit the package breaks, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "the package is {}, over Lambda's {} limit for direct uploads; set s3-bucket to upload it through S3, or make it smaller with exclude or layers",
        bytes(*size), bytes(DIRECT_UPLOAD_MAX)
    )]
    DirectUpload { size: u64 },
    #[error(
        "layer '{name}' from layer-dirs is {}, over Lambda's {} limit for direct uploads; set s3-bucket to upload it through S3, or split it into several layers",
        bytes(*size), bytes(DIRECT_UPLOAD_MAX)
    )]
    LayerDirectUpload { name: String, size: u64 },
    #[error(
        "the package{} unzips to {}, over Lambda's {} limit for code and layers; largest entries: {}; leave files out with exclude, move dependencies to layers, or use package-type: image (up to 10 GB)",
        if *with_layers { " with its layers" } else { "" },
        bytes(*unzipped), bytes(UNZIPPED_MAX), largest
    )]
    Unzipped {
        unzipped: u64,
        largest: String,
        with_layers: bool,
    },
}

/// A layer built from `layer-dirs`, as the size checks see it.
#[derive(Debug, Clone, Copy)]
pub struct LayerSize<'a> {
    pub name: &'a str,
    pub info: &'a PackageInfo,
}

/// Checks a zip that will be uploaded directly, without layers.
pub fn check(info: &PackageInfo) -> Result<(), LimitError> {
    check_all(info, &[], false)
}

/// Checks the package and the layers built with it: together they must unzip to at most
/// [`UNZIPPED_MAX`]; without `via_s3`, each zip must be at most [`DIRECT_UPLOAD_MAX`].
/// The unzipped total is checked first: S3 does not help with it.
pub(crate) fn check_all(
    info: &PackageInfo,
    layers: &[LayerSize<'_>],
    via_s3: bool,
) -> Result<(), LimitError> {
    let total = info.unzipped_size + layers.iter().map(|l| l.info.unzipped_size).sum::<u64>();
    if total > UNZIPPED_MAX {
        // Each list holds its own ten largest, so the ten largest of their union are here.
        let mut all: Vec<(String, u64)> = info.largest.clone();
        for l in layers {
            all.extend(
                l.info
                    .largest
                    .iter()
                    .map(|(p, n)| (format!("layer {}: {p}", l.name), *n)),
            );
        }
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let largest = all
            .iter()
            .take(10)
            .map(|(p, n)| format!("{p} ({})", bytes(*n)))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(LimitError::Unzipped {
            unzipped: total,
            largest,
            with_layers: !layers.is_empty(),
        });
    }
    if via_s3 {
        return Ok(());
    }
    if info.size > DIRECT_UPLOAD_MAX {
        return Err(LimitError::DirectUpload { size: info.size });
    }
    if let Some(l) = layers.iter().find(|l| l.info.size > DIRECT_UPLOAD_MAX) {
        return Err(LimitError::LayerDirectUpload {
            name: l.name.to_string(),
            size: l.info.size,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(size: u64, unzipped: u64, largest: &[(&str, u64)]) -> PackageInfo {
        PackageInfo {
            code_sha256: String::new(),
            sha256_hex: String::new(),
            size,
            unzipped_size: unzipped,
            entries: largest.len(),
            largest: largest.iter().map(|(p, n)| (p.to_string(), *n)).collect(),
        }
    }

    const MB: u64 = 1024 * 1024;

    #[test]
    fn direct_limit_applies_only_without_s3() {
        let big = info(60 * MB, 60 * MB, &[("blob", 60 * MB)]);
        let err = check_all(&big, &[], false).unwrap_err();
        assert!(err.to_string().contains("set s3-bucket"), "{err}");
        assert_eq!(check_all(&big, &[], true), Ok(()));
        let small = info(MB, MB, &[]);
        let layer = LayerSize {
            name: "deps",
            info: &big,
        };
        let err = check_all(&small, &[layer], false).unwrap_err();
        assert!(err.to_string().starts_with("layer 'deps'"), "{err}");
        assert_eq!(check_all(&small, &[layer], true), Ok(()));
    }

    #[test]
    fn layers_count_toward_the_unzipped_limit_and_are_listed() {
        let code = info(
            10 * MB,
            150 * MB,
            &[("lib/", 140 * MB), ("lib/a.so", 90 * MB)],
        );
        let deps = info(10 * MB, 120 * MB, &[("python/", 120 * MB)]);
        assert_eq!(check_all(&code, &[], false), Ok(()));
        let err = check_all(
            &code,
            &[LayerSize {
                name: "deps",
                info: &deps,
            }],
            true,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("the package with its layers unzips to 270.0 MiB"),
            "{text}"
        );
        assert!(
            text.contains("largest entries: lib/ (140.0 MiB), layer deps: python/ (120.0 MiB), lib/a.so (90.0 MiB)"),
            "{text}"
        );
        assert!(text.contains("package-type: image"), "{text}");
    }
}
