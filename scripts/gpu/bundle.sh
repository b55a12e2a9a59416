#!/usr/bin/env bash
# Builds .gpu/ (ignored by git): what a lent GPU machine needs to run `bench:train` there, where
# there is no Node, no npm and no network (../shared/gpu/README.md). The device tool carries at
# most 64 MiB, so node_modules cannot travel: this bundles the bench with esbuild and packs
#   .gpu/node.xz                       this machine's node binary (x86-64 Linux)
#   .gpu/bench-train.mjs               the bench, bundled (tfjs, the project's packages)
#   .gpu/tfjs-backend-wasm*.wasm       beside it, for the wasm backend
#   .gpu/node_modules/webgpu/          Dawn's Node bindings (dawn.node xz-compressed)
#   .gl/*.deb                          Debian's Vulkan loader (the device tool's README recipe)
# scripts/gpu/run.sh unpacks and runs them there. Usage: bash scripts/gpu/bundle.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
exclude="$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p "$(dirname "$exclude")"
for p in /.gpu/ /.gl/; do grep -qxF "$p" "$exclude" 2>/dev/null || echo "$p" >>"$exclude"; done
mkdir -p .gpu/node_modules/webgpu/dist/linux-x64 .gl
if [ ! -s .gpu/node.xz ] || [ "$(command -v node)" -nt .gpu/node.xz ]; then
  echo "compressing node $(node -v) ..."
  xz -T0 -6 -c "$(command -v node)" >.gpu/node.xz
fi
npx esbuild scripts/gpu/bench-entry.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile=.gpu/bench-train.mjs --log-level=error --main-fields=module,main \
  --banner:js="import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm .gpu/
w=node_modules/webgpu
cp $w/index.js $w/package.json .gpu/node_modules/webgpu/
if [ ! -s .gpu/node_modules/webgpu/dist/linux-x64/dawn.node.xz ]; then
  xz -T0 -6 -c $w/dist/linux-x64/dawn.node >.gpu/node_modules/webgpu/dist/linux-x64/dawn.node.xz
fi
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1 >/dev/null)
fi
du -sh .gpu .gl
