#!/usr/bin/env bash
# scripts/pin-action-image.sh IMAGE DIGEST [ACTION_YML]
#
# Points action.yml's `runs.image` at a pushed image by digest:
#   image: "docker://IMAGE@sha256:<64 hex>"
# The release workflow runs this on the release commit, so `uses: owner/lambda-deploy@v1`
# pulls exactly the image that release built: a tag can be moved by anyone who can push
# the package, a digest cannot. Fails unless DIGEST is a sha256 digest and the line was
# rewritten.
set -euo pipefail
image="${1:?usage: pin-action-image.sh IMAGE DIGEST [ACTION_YML]}"
digest="${2:?usage: pin-action-image.sh IMAGE DIGEST [ACTION_YML]}"
file="${3:-action.yml}"
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "pin-action-image: '$digest' is not a sha256 digest" >&2; exit 1; }
[[ "$image" =~ ^[a-z0-9./_-]+$ ]] || { echo "pin-action-image: '$image' is not a lowercase image name" >&2; exit 1; }
pinned="docker://${image}@${digest}"
sed -i -E "s|^(  image: ).*$|\\1\"${pinned}\"|" "$file"
grep -qxF "  image: \"${pinned}\"" "$file" || { echo "pin-action-image: no runs.image line in $file" >&2; exit 1; }
echo "$pinned"
