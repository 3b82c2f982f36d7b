# Shared by bench/run.sh and bench/history.sh (sourced, not run). Expects: CACHE, KERNEL_PKG,
# REPO, START_SECONDS, LOG_TAG, and the associative arrays BIN and VERSION.

log() { printf '[%s %4ss] %s\n' "$LOG_TAG" "$((SECONDS - START_SECONDS))" "$*" >&2; }

APT_UPDATED=0
apt_update_once() {
    if [[ $APT_UPDATED == 0 ]]; then
        log "apt-get update"
        timeout 600 apt-get update -qq >"$CACHE/logs/apt-update.log" 2>&1 || log "apt-get update failed (see $CACHE/logs/apt-update.log)"
        APT_UPDATED=1
    fi
}

# apt_ensure CHECK_CMD PACKAGE: install PACKAGE unless CHECK_CMD is on PATH.
apt_ensure() {
    command -v "$1" >/dev/null 2>&1 && return 0
    [[ $(id -u) == 0 ]] || { log "not root: cannot apt-get install $2"; return 1; }
    apt_update_once
    log "apt-get install $2"
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq "$2" \
        >"$CACHE/logs/apt-$2.log" 2>&1 || { log "apt-get install $2 failed (see $CACHE/logs/apt-$2.log)"; return 1; }
    command -v "$1" >/dev/null 2>&1
}

# kernel_tree: download (apt-get download) and extract the Debian kernel source package once;
# sets debver (package file name) and KERNEL_TREE (the extracted tree).
kernel_tree() {
    local deb top
    deb=$(ls "$CACHE"/debs/"${KERNEL_PKG}"_*.deb 2>/dev/null | sort -V | tail -1 || true)
    if [[ -z "$deb" ]]; then
        log "downloading $KERNEL_PKG (about 140 MB)"
        dl() { (cd "$CACHE/debs" && timeout 900 apt-get download -o APT::Sandbox::User=root "$KERNEL_PKG" >"$CACHE/logs/download.log" 2>&1); }
        dl || { apt_update_once; dl; } || { echo "cannot download $KERNEL_PKG (see $CACHE/logs/download.log)" >&2; exit 2; }
        deb=$(ls "$CACHE"/debs/"${KERNEL_PKG}"_*.deb | sort -V | tail -1)
    fi
    debver=$(basename "$deb" .deb)
    KERNEL_TREE="$CACHE/corpus/$debver"
    if [[ ! -f "$CACHE/corpus/$debver.done" ]]; then
        log "extracting $deb"
        rm -rf "$KERNEL_TREE" "$KERNEL_TREE.tmp"
        mkdir -p "$KERNEL_TREE.tmp"
        # The .deb carries usr/src/<pkg>.tar.xz; unpack it straight from the archive.
        timeout 1200 bash -o pipefail -c 'dpkg-deb --fsys-tarfile "$1" | tar -xO --wildcards "./usr/src/*.tar.xz" | tar -xJ -C "$2"' \
            _ "$deb" "$KERNEL_TREE.tmp"
        top=$(ls "$KERNEL_TREE.tmp")
        [[ $(wc -l <<<"$top") == 1 ]] || { echo "unexpected tarball layout in $deb" >&2; exit 2; }
        mv "$KERNEL_TREE.tmp/$top" "$KERNEL_TREE"
        rmdir "$KERNEL_TREE.tmp"
        touch "$CACHE/corpus/$debver.done"
    fi
}

# build_tokenwarden: release build of this repository; sets BIN[tokenwarden] and its VERSION
# (with the commit, and +dirty when src, rules or Cargo.toml have uncommitted changes).
build_tokenwarden() {
    log "cargo build --release (tokenwarden)"
    (cd "$REPO" && timeout 1800 cargo build --release --quiet) || { echo "tokenwarden build failed" >&2; exit 2; }
    BIN[tokenwarden]="${CARGO_TARGET_DIR:-$REPO/target}/release/tokenwarden"
    VERSION[tokenwarden]="$("${BIN[tokenwarden]}" --version | awk '{print $2}') ($(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$REPO" && git diff --quiet HEAD -- src rules Cargo.toml 2>/dev/null || echo '+dirty'))"
}
