# syntax=docker/dockerfile:1
#
# The lambda-deploy action image: one binary, the few glibc libraries it links, and the
# CA bundle. Nothing else: no shell, no package manager.
#
#   builder  compiles `lambda-deploy` (release profile: thin LTO, opt-level s, stripped)
#            and assembles the runtime filesystem with scripts/assemble-runtime.sh
#   runtime  FROM scratch + that filesystem, so `scripts/assemble-runtime.sh --check`
#            measures and runs exactly what users pull
#
# glibc rather than a static musl build: aws-lc-sys (the TLS crypto under the AWS SDK and
# octocrab) compiles C that Debian's musl-gcc does not build cleanly.
#
# GitHub runs Docker actions as root with the workspace mounted at /github/workspace;
# do not add a USER line. Releases do not build this file in users' jobs: see action.yml.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked --bin lambda-deploy \
 && scripts/assemble-runtime.sh target/release/lambda-deploy /out/rootfs

FROM scratch AS runtime
COPY --from=builder /out/rootfs/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
LABEL org.opencontainers.image.title="lambda-deploy" \
      org.opencontainers.image.description="Ship AWS Lambda functions from GitHub Actions or any CI"
ENTRYPOINT ["/lambda-deploy"]
