#!/usr/bin/env bash
# Regenerates the committed Swift of the HiTechSchema target from the protos in this folder.
#
#   proto-schemas/generate.sh [--output DIR]
#
# Output directory: --output DIR, else $HITECH_GENERATED_DIR, else
# Sources/HiTechSchema/Generated. The output directory is replaced as a whole (written into a
# temporary directory first, then swapped in), so a failed run leaves it untouched.
#
# Plugins: protoc-gen-swift and protoc-gen-grpc-swift-2 are built in release mode from the pinned
# package proto-schemas/plugins (scratch path .build-protoc, git-ignored), never by the normal
# `swift build`. Set HITECH_SKIP_PLUGIN_BUILD=1 to reuse already built plugins.
# protoc: Debian's /usr/bin/protoc (installed with apt-get when missing and running as root).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

out="${HITECH_GENERATED_DIR:-$root/Sources/HiTechSchema/Generated}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --output) out="$2"; shift 2 ;;
    --output=*) out="${1#--output=}"; shift ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "generate.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

log() { echo "generate.sh: $*" >&2; }

# 1. protoc and the well-known types.
if ! command -v protoc >/dev/null 2>&1 || [[ ! -f /usr/include/google/protobuf/timestamp.proto ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing protoc (protobuf-compiler, libprotobuf-dev)"
    apt-get install -y protobuf-compiler libprotobuf-dev >&2 \
      || { apt-get update >&2 && apt-get install -y protobuf-compiler libprotobuf-dev >&2; }
  else
    log "protoc or /usr/include/google/protobuf/*.proto missing:" \
      "install them with 'apt-get install protobuf-compiler libprotobuf-dev'"
    exit 1
  fi
fi

# 2. The plugins, pinned in proto-schemas/plugins/Package.swift.
scratch="$root/.build-protoc"
plugins_pkg="$here/plugins"
if [[ "${HITECH_SKIP_PLUGIN_BUILD:-0}" != 1 ]]; then
  for product in protoc-gen-swift protoc-gen-grpc-swift-2; do
    log "building $product (release, scratch path .build-protoc)"
    swift build -c release --package-path "$plugins_pkg" --scratch-path "$scratch" \
      --product "$product" >&2
  done
fi
bin="$(swift build -c release --package-path "$plugins_pkg" --scratch-path "$scratch" --show-bin-path)"
gen_swift="$bin/protoc-gen-swift"
gen_grpc="$bin/protoc-gen-grpc-swift-2"
for p in "$gen_swift" "$gen_grpc"; do
  [[ -x "$p" ]] || { log "plugin missing: $p (run without HITECH_SKIP_PLUGIN_BUILD)"; exit 1; }
done

# 3. Generate into a temporary directory next to the output, then swap it in.
mkdir -p "$(dirname "$out")"
tmp="$(mktemp -d "$(dirname "$out")/.generated.XXXXXX")"
trap 'rm -rf "$tmp" "${old:-}"' EXIT

cd "$here"
mapfile -t protos < <(find ndrc -name '*.proto' | LC_ALL=C sort)
[[ ${#protos[@]} -gt 0 ]] || { log "no .proto files under $here/ndrc"; exit 1; }

# Messages for every file; gRPC stubs only for the files that define a service (the gRPC plugin
# writes an empty "contained no services" file for the others).
mapfile -t service_protos < <(grep -l '^service ' "${protos[@]}")

protoc \
  -I "$here" -I /usr/include \
  --plugin=protoc-gen-swift="$gen_swift" \
  --swift_out="$tmp" \
  --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
  "${protos[@]}"

protoc \
  -I "$here" -I /usr/include \
  --plugin=protoc-gen-grpc-swift="$gen_grpc" \
  --grpc-swift_out="$tmp" \
  --grpc-swift_opt=Visibility=Public,Server=true,Client=true,FileNaming=PathToUnderscores \
  "${service_protos[@]}"

chmod 755 "$tmp"
find "$tmp" -type f -exec chmod 644 {} +
old=""
if [[ -e "$out" ]]; then
  old="$(mktemp -d "$(dirname "$out")/.generated-old.XXXXXX")"
  rmdir "$old"
  mv "$out" "$old"
fi
mv "$tmp" "$out"
log "wrote $(find "$out" -type f | wc -l) files to $out"
