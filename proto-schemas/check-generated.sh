#!/usr/bin/env bash
# Fails when the committed generated Swift (Sources/HiTechSchema/Generated) is not exactly what
# proto-schemas/generate.sh produces from the current protos. CI runs it.
#
#   proto-schemas/check-generated.sh
#
# Passes HITECH_SKIP_PLUGIN_BUILD through to generate.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
committed="$root/Sources/HiTechSchema/Generated"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$here/generate.sh" --output "$work/Generated"

if [[ ! -d "$committed" ]]; then
  echo "check-generated.sh: $committed does not exist; run proto-schemas/generate.sh and commit the result." >&2
  exit 1
fi

if ! diff -r -u "$committed" "$work/Generated" >"$work/diff.txt"; then
  cat "$work/diff.txt" >&2
  echo >&2
  echo "check-generated.sh: STALE: Sources/HiTechSchema/Generated differs from what proto-schemas/*.proto generate." >&2
  echo "check-generated.sh: run proto-schemas/generate.sh and commit Sources/HiTechSchema/Generated." >&2
  exit 1
fi
echo "check-generated.sh: Sources/HiTechSchema/Generated is up to date." >&2
