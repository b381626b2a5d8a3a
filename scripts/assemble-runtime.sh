#!/usr/bin/env bash
# scripts/assemble-runtime.sh BINARY ROOTFS
#
# Assembles the action image's whole runtime filesystem: the lambda-deploy binary, the
# shared libraries it links (as ldd reports them, nothing else), and the CA bundle the
# TLS stacks read. The Dockerfile's builder stage runs this script and the runtime stage
# is `FROM scratch` + this folder, so what this script writes is exactly what users pull.
#
# With --check it then measures the folder and runs `lambda-deploy --help` inside it with
# chroot (as root, or through sudo), proving the image's files are enough to start; when AWS_ENDPOINT_URL
# points at the local emulator it also runs a dry-run of examples/python-hello in there,
# laid out as GitHub mounts a workspace (/github/workspace).
set -euo pipefail

check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
bin="${1:?usage: assemble-runtime.sh [--check] BINARY ROOTFS}"
root="${2:?usage: assemble-runtime.sh [--check] BINARY ROOTFS}"
ca="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

[ -x "$bin" ] || { echo "assemble-runtime: $bin is not an executable" >&2; exit 1; }
[ -s "$ca" ] || { echo "assemble-runtime: no CA bundle at $ca (apt-get install ca-certificates)" >&2; exit 1; }

rm -rf "$root"
mkdir -p "$root/etc/ssl/certs" "$root/tmp"
chmod 1777 "$root/tmp"
install -m 0755 "$bin" "$root/lambda-deploy"
install -m 0644 "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
# Every library the binary loads, at the path the loader looks for it.
ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3; next} $1 ~ /^\// {print $1}' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
# Name resolution for AWS and GitHub endpoints without NSS plugins: files, then DNS.
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$root/etc/hosts"

if [ "$check" = 1 ]; then
  # chroot needs root; GitHub's runners have passwordless sudo.
  as_root=(); [ "$(id -u)" = 0 ] || as_root=(sudo -n)
  bytes=$(du -sb "$root" | cut -f1)
  printf 'runtime filesystem: %s bytes (%s MiB), %s files\n' "$bytes" "$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1048576}')" "$(find "$root" -type f | wc -l)"
  printf 'gzip-compressed layer (what a registry stores): %s bytes\n' "$(tar -C "$root" -cf - . | gzip -6 | wc -c)"
  "${as_root[@]}" chroot "$root" /lambda-deploy --help >/dev/null
  echo "chroot $root /lambda-deploy --help: ok"
  if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
    repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    mkdir -p "$root/github/workspace"
    cp -r "$repo/examples/python-hello" "$root/github/workspace/"
    out=$(cd / && "${as_root[@]}" env -i PATH=/ AWS_ENDPOINT_URL="$AWS_ENDPOINT_URL" AWS_REGION="${AWS_REGION:-us-east-1}" \
      AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}" \
      AWS_EC2_METADATA_DISABLED=true 'INPUT_FUNCTION-NAME=runtime-image-check' \
      'INPUT_SOURCE-DIR=/github/workspace/python-hello' INPUT_RUNTIME=python3.12 INPUT_HANDLER=app.handler \
      INPUT_ROLE=arn:aws:iam::123456789012:role/lambda-deploy-test \
      'INPUT_DRY-RUN=true' "$(command -v chroot)" "$root" /lambda-deploy --format json)
    echo "$out" | grep -q '"status": "planned"' || { echo "dry-run in the runtime filesystem failed: $out" >&2; exit 1; }
    echo "chroot $root /lambda-deploy (dry-run against $AWS_ENDPOINT_URL): ok"
  fi
fi
