# syntax=docker/dockerfile:1
#
# The lambda-deploy action image: one binary plus CA certificates.
#
#   builder  compiles `lambda-deploy` (release profile: LTO, stripped, ~12 MB)
#   runtime  distroless/cc: glibc, libgcc and /etc/ssl/certs, no shell, no package
#            manager; ~35 MB in all
#
# glibc rather than a static musl build: aws-lc-sys (the TLS crypto under the AWS SDK and
# octocrab) compiles its C against the target's kernel headers, which Debian's musl-gcc
# does not see. Builder and runtime are both Debian 12, so the glibc versions match.
#
# GitHub runs Docker actions as root with the workspace mounted at /github/workspace;
# do not add a USER line. Releases do not build this file in users' jobs: see action.yml.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked --bin lambda-deploy \
 && install -D -m 0755 target/release/lambda-deploy /out/lambda-deploy

FROM gcr.io/distroless/cc-debian12 AS runtime
COPY --from=builder /out/lambda-deploy /lambda-deploy
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
LABEL org.opencontainers.image.title="lambda-deploy" \
      org.opencontainers.image.description="Ship AWS Lambda functions from GitHub Actions or any CI"
ENTRYPOINT ["/lambda-deploy"]
