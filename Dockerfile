# syntax=docker/dockerfile:1
#
# The lambda-deploy action image: one binary, the few glibc libraries it links, and the
# CA bundle. Nothing else: no shell, no package manager.
#
#   builder  runs on the build machine's own platform ($BUILDPLATFORM) and cross-compiles
#            `lambda-deploy` for the image's platform ($TARGETARCH: amd64 or arm64) with
#            Debian's cross toolchain (release profile: thin LTO, opt-level s, stripped);
#            scripts/build-rootfs.sh then assembles the runtime filesystem with
#            scripts/assemble-runtime.sh. No cargo under QEMU.
#   runtime  FROM scratch + that filesystem, so `scripts/assemble-runtime.sh --check`
#            measures and runs exactly what users pull
#
# glibc rather than a static musl build: aws-lc-sys (the TLS crypto under the AWS SDK and
# octocrab) compiles C that Debian's musl-gcc does not build cleanly.
#
# The builder's base is pinned by the digest of its multi-platform index; Dependabot
# (.github/dependabot.yml) proposes new digests. `LAMBDA_DEPLOY_COMMIT` names the commit
# in `lambda-deploy --version` (the build context has no .git).
#
# GitHub runs Docker actions as root with the workspace mounted at /github/workspace;
# do not add a USER line. Releases do not build this file in users' jobs: see action.yml.

FROM --platform=$BUILDPLATFORM docker.io/library/rust:1.95-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082 AS builder
ARG TARGETARCH
# The cross toolchain (gcc, glibc and libgcc for the target) only when the image's platform
# is not the builder's; binutils' readelf lists the libraries the runtime needs.
RUN set -eu; \
    pkgs="ca-certificates binutils"; \
    if [ "$(dpkg --print-architecture)" != "$TARGETARCH" ]; then \
      case "$TARGETARCH" in \
        arm64) pkgs="$pkgs gcc-aarch64-linux-gnu libc6-dev-arm64-cross"; rustup target add aarch64-unknown-linux-gnu;; \
        amd64) pkgs="$pkgs gcc-x86-64-linux-gnu libc6-dev-amd64-cross"; rustup target add x86_64-unknown-linux-gnu;; \
        *) echo "unsupported TARGETARCH '$TARGETARCH' (amd64 or arm64)" >&2; exit 1;; \
      esac; \
    fi; \
    apt-get update; \
    apt-get install -y --no-install-recommends $pkgs; \
    rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY . .
ARG LAMBDA_DEPLOY_COMMIT=unknown
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    scripts/build-rootfs.sh "$TARGETARCH" rootfs

FROM scratch AS runtime
COPY --from=builder /build/rootfs/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
LABEL org.opencontainers.image.title="lambda-deploy" \
      org.opencontainers.image.description="Ship AWS Lambda functions from GitHub Actions or any CI"
ENTRYPOINT ["/lambda-deploy"]
