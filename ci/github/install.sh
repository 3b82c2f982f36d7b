#!/usr/bin/env bash
# Builds tokenwarden from the action's own source into TW_INSTALL_DIR (restored from the cache
# when the source has not changed) and puts it on the job's PATH. Needs cargo (preinstalled on
# GitHub-hosted runners; elsewhere add a Rust toolchain step first).
set -euo pipefail
dest="${TW_INSTALL_DIR:?TW_INSTALL_DIR is not set}"
src="${TW_SOURCE:?TW_SOURCE is not set}"
if [ -x "$dest/bin/tokenwarden" ]; then
  echo "tokenwarden: using the cached build in $dest"
else
  if ! command -v cargo >/dev/null; then
    echo "::error::tokenwarden: cargo is not installed; add a Rust toolchain step before this action, or give version: <path to a tokenwarden binary>"
    exit 2
  fi
  cargo install --locked --quiet --root "$dest" --path "$src"
fi
echo "$dest/bin" >> "${GITHUB_PATH:-/dev/null}"
"$dest/bin/tokenwarden" --version
