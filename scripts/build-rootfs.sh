#!/usr/bin/env bash
# scripts/build-rootfs.sh TARGETARCH ROOTFS
#
# The Dockerfile builder stage's one step after `COPY . .`: compiles lambda-deploy for
# TARGETARCH (amd64 or arm64; cross-compiled with Debian's gcc-<triple> toolchain when that
# is not this machine's architecture) and assembles the image's runtime filesystem in
# ROOTFS with scripts/assemble-runtime.sh. Needs the rustup target and the cross packages
# the Dockerfile installs first.
set -euo pipefail
arch="${1:?usage: build-rootfs.sh amd64|arm64 ROOTFS}"
root="${2:?usage: build-rootfs.sh amd64|arm64 ROOTFS}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

case "$arch" in
  amd64) triple=x86_64-unknown-linux-gnu; gnu=x86_64-linux-gnu;;
  arm64) triple=aarch64-unknown-linux-gnu; gnu=aarch64-linux-gnu;;
  *) echo "build-rootfs: unsupported architecture '$arch' (amd64 or arm64)" >&2; exit 1;;
esac
if [ "$(dpkg --print-architecture 2>/dev/null)" != "$arch" ]; then
  # cargo links with the cross gcc; the cc crate (aws-lc-sys) compiles C with it.
  upper=$(printf '%s' "$triple" | tr 'a-z-' 'A-Z_')
  export "CARGO_TARGET_${upper}_LINKER=$gnu-gcc"
  export "CC_${triple//-/_}=$gnu-gcc" "AR_${triple//-/_}=$gnu-ar"
fi
cargo build --release --locked --target "$triple" --bin lambda-deploy
"$here/assemble-runtime.sh" --arch "$arch" "target/$triple/release/lambda-deploy" "$root"
