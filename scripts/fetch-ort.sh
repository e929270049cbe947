#!/usr/bin/env bash
# Fetches the ONNX Runtime CPU shared library into the per-user cache, verifies it by sha256,
# and prints its path. Idempotent: a verified copy in the cache is reused without network access.
#
# Source: the npm package onnxruntime-node@1.30.0, file bin/napi-v6/linux/x64/libonnxruntime.so.1
# (the only registry that ships a prebuilt linux-x64 ORT 1.30 shared library we can reach).
set -euo pipefail
ORT_VERSION=1.30.0
TGZ_SHA256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
LIB_SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "fetch-ort: only linux x86_64 is fetched automatically; set HFHOST_ORT_LIB to your libonnxruntime" >&2; exit 1 ;;
esac

cache=${HFHOST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hfhost}
dir="$cache/onnxruntime/$ORT_VERSION/linux-x64"
lib="$dir/libonnxruntime.so.1"

verify() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if ! verify "$lib" "$LIB_SHA256"; then
  command -v npm >/dev/null || { echo "fetch-ort: npm is needed to fetch onnxruntime-node@$ORT_VERSION (apt-get install npm)" >&2; exit 1; }
  mkdir -p "$dir"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
  tgz="$tmp/onnxruntime-node-$ORT_VERSION.tgz"
  verify "$tgz" "$TGZ_SHA256" || { echo "fetch-ort: checksum mismatch for $tgz" >&2; exit 1; }
  tar -xzf "$tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
  verify "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$LIB_SHA256" || { echo "fetch-ort: checksum mismatch for libonnxruntime.so.1" >&2; exit 1; }
  mv "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$lib.part"
  mv "$lib.part" "$lib"
fi
echo "$lib"
