#!/usr/bin/env bash
# Installs what this project needs on a fresh Debian 12 machine with Node 20, and nothing twice:
#   - npm dependencies (npm ci, only when package-lock.json changed since the last install)
#   - Jupyter from Debian (nbconvert, nbclient, ipykernel) and Chromium for figure export
#   - the tslab kernel, registered with an absolute path so Jupyter finds it without PATH changes
#   - the TypeScript build of lib/ that notebooks and commands import (dist/)
# Re-running it is fast and changes nothing. Without root it prints the apt-get line to run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
say() { printf '[setup] %s\n' "$*" >&2; }

APT_PACKAGES=(jupyter-nbconvert python3-nbclient jupyter-client jupyter-core python3-ipykernel chromium fonts-dejavu-core)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    say "installing Debian packages with sudo: ${missing[*]}"
    sudo apt-get update -qq >&2
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    say "missing Debian packages: ${missing[*]}"
    say "install them as root, then run this again:"
    say "  sudo apt-get update && sudo apt-get install --no-install-recommends ${missing[*]}"
    exit 1
  fi
fi

stamp=node_modules/.artstyle-lock.sha
want=$(sha256sum package-lock.json package.json | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" >"$stamp"
fi

# The kernel spec points at this checkout's tslab by absolute path, so `jupyter nbconvert --execute`
# finds it whatever PATH is. It is written only when it differs from what is there.
kernel_dir=$(/usr/bin/python3 -c 'import jupyter_core.paths as p; print(p.jupyter_data_dir())')/kernels/tslab
spec=$(printf '{\n  "argv": ["%s", "%s/node_modules/tslab/bin/tslab", "kernel", "--config-path", "{connection_file}"],\n  "display_name": "TypeScript",\n  "language": "typescript"\n}\n' "$(command -v node)" "$ROOT")
if [[ ! -f $kernel_dir/kernel.json || $(cat "$kernel_dir/kernel.json") != "$spec" ]]; then
  say "registering the tslab kernel in $kernel_dir"
  mkdir -p "$kernel_dir"
  printf '%s\n' "$spec" >"$kernel_dir/kernel.json.tmp"
  mv "$kernel_dir/kernel.json.tmp" "$kernel_dir/kernel.json"
fi

npx --no-install tsc -p tsconfig.json >&2
