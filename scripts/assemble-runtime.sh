#!/usr/bin/env bash
# scripts/assemble-runtime.sh [--check] [--arch amd64|arm64] BINARY ROOTFS
#
# Assembles the action image's whole runtime filesystem: the lambda-deploy binary, the
# shared libraries it needs (its ELF NEEDED entries, followed transitively, nothing else),
# its ELF interpreter, and the CA bundle the TLS stacks read. The Dockerfile's builder
# stage runs this script and the runtime stage is `FROM scratch` + this folder, so what
# this script writes is exactly what users pull.
#
# --arch names the architecture BINARY was built for (default: this machine's). For
# another architecture (a cross-compiled binary) the libraries come from Debian's cross
# sysroot /usr/<gnu-triple>/lib (packages libc6-<arch>-cross, libgcc-s1-<arch>-cross) and
# land where that architecture's loader looks: /lib/<gnu-triple>/.
#
# With --check it then measures the folder and runs `lambda-deploy --help` inside it with
# chroot (as root, or through sudo; for another architecture through qemu-<cpu>-static),
# proving the image's files are enough to start; when AWS_ENDPOINT_URL points at the
# local emulator it also runs a dry-run of examples/python-hello in there, laid out as
# GitHub mounts a workspace (/github/workspace).
set -euo pipefail

usage="usage: assemble-runtime.sh [--check] [--arch amd64|arm64] BINARY ROOTFS"
check=0
native=$(dpkg --print-architecture 2>/dev/null || uname -m)
case "$native" in x86_64) native=amd64;; aarch64) native=arm64;; esac
arch="$native"
while [ $# -gt 0 ]; do
  case "$1" in
    --check) check=1; shift;;
    --arch) arch="${2:?$usage}"; shift 2;;
    *) break;;
  esac
done
bin="${1:?$usage}"
root="${2:?$usage}"
ca="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

case "$arch" in
  amd64) triple=x86_64-linux-gnu; qemu=qemu-x86_64-static;;
  arm64) triple=aarch64-linux-gnu; qemu=qemu-aarch64-static;;
  *) echo "assemble-runtime: unknown architecture '$arch' (amd64 or arm64)" >&2; exit 1;;
esac
if [ "$arch" = "$native" ]; then
  libdirs=("/lib/$triple" "/usr/lib/$triple" /lib64 /usr/lib64 /lib /usr/lib)
else
  libdirs=("/usr/$triple/lib" "/usr/$triple/lib64")
fi

[ -x "$bin" ] || { echo "assemble-runtime: $bin is not an executable" >&2; exit 1; }
[ -s "$ca" ] || { echo "assemble-runtime: no CA bundle at $ca (apt-get install ca-certificates)" >&2; exit 1; }
command -v readelf >/dev/null || { echo "assemble-runtime: readelf not found (apt-get install binutils)" >&2; exit 1; }

needed() { readelf -dW "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }
find_lib() {
  local d
  for d in "${libdirs[@]}"; do
    if [ -e "$d/$1" ]; then echo "$d/$1"; return 0; fi
  done
  echo "assemble-runtime: $1 (needed by $bin) is in none of: ${libdirs[*]}" >&2
  return 1
}

rm -rf "$root"
mkdir -p "$root/etc/ssl/certs" "$root/tmp" "$root/lib/$triple"
chmod 1777 "$root/tmp"
install -m 0755 "$bin" "$root/lambda-deploy"
install -m 0644 "$ca" "$root/etc/ssl/certs/ca-certificates.crt"

# The interpreter, at the absolute path the binary names.
interp=$(readelf -lW "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)\]$/\1/p')
if [ -n "$interp" ]; then
  src="$interp"; [ "$arch" = "$native" ] || src=$(find_lib "$(basename "$interp")")
  mkdir -p "$root$(dirname "$interp")"
  cp -L "$src" "$root$interp"
fi
# Every library it loads, transitively, where the loader looks for it.
todo=("$bin"); seen=" $(basename "${interp:-none}") "
while [ ${#todo[@]} -gt 0 ]; do
  file="${todo[0]}"; todo=("${todo[@]:1}")
  for lib in $(needed "$file"); do
    case "$seen" in *" $lib "*) continue;; esac
    seen="$seen$lib "
    path=$(find_lib "$lib")
    cp -L "$path" "$root/lib/$triple/$lib"
    todo+=("$path")
  done
done
# Name resolution for AWS and GitHub endpoints without NSS plugins: files, then DNS.
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$root/etc/hosts"

if [ "$check" = 1 ]; then
  # chroot needs root; GitHub's runners have passwordless sudo.
  as_root=(); [ "$(id -u)" = 0 ] || as_root=(sudo -n)
  bytes=$(du -sb "$root" | cut -f1)
  printf 'runtime filesystem (%s): %s bytes (%s MiB), %s files\n' "$arch" "$bytes" "$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1048576}')" "$(find "$root" -type f | wc -l)"
  printf 'gzip-compressed layer (what a registry stores): %s bytes\n' "$(tar -C "$root" -cf - . | gzip -6 | wc -c)"
  run=(/lambda-deploy)
  if [ "$arch" != "$native" ]; then
    emu=$(command -v "$qemu") || { echo "assemble-runtime: --check of an $arch binary needs $qemu (apt-get install qemu-user-static)" >&2; exit 1; }
    cp "$emu" "$root/.qemu"; run=(/.qemu /lambda-deploy)
    trap 'rm -f "$root/.qemu"' EXIT
  fi
  "${as_root[@]}" chroot "$root" "${run[@]}" --help >/dev/null
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
      'INPUT_DRY-RUN=true' "$(command -v chroot)" "$root" "${run[@]}" --format json)
    echo "$out" | grep -q '"status": "planned"' || { echo "dry-run in the runtime filesystem failed: $out" >&2; exit 1; }
    echo "chroot $root /lambda-deploy (dry-run against $AWS_ENDPOINT_URL): ok"
  fi
fi
