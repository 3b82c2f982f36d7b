#!/usr/bin/env bash
# The scan step of tokenwarden's GitHub Action (action.yml). Inputs arrive as TW_* environment
# variables (never interpolated into the script, so a branch name cannot inject shell), GitHub's
# context as TW_EVENT / TW_BASE_SHA / TW_BEFORE_SHA. Writes SARIF, a job summary and the step
# outputs `findings`, `sarif` and `failed`; the failing itself is left to a later step, so the
# SARIF is uploaded first. Exit 2 (and no outputs) when the scan could not be done.
set -euo pipefail

bin="${TW_BIN:-tokenwarden}"
path="${TW_PATH:-.}"
sarif="${TW_SARIF:-tokenwarden.sarif}"
fail_on="${TW_FAIL_ON:-low}"
mode="${TW_MODE:-auto}"
zero=0000000000000000000000000000000000000000

notice() { echo "::$1::$2"; }

in_repo() { git -C "$path" rev-parse --git-dir >/dev/null 2>&1; }
has_commit() { [ -n "$1" ] && [ "$1" != "$zero" ] && git -C "$path" cat-file -e "$1^{commit}" 2>/dev/null; }

args=(scan "$path" --format sarif --output "$sarif" --fail-on "$fail_on" --no-progress --color never)
what=""
if [ "$mode" = auto ]; then
  if ! in_repo; then
    mode=tree
  else
    case "${TW_EVENT:-}" in
      pull_request|pull_request_target)
        if has_commit "${TW_BASE_SHA:-}"; then mode=since; base="$TW_BASE_SHA"; else mode=history; fi ;;
      push)
        if has_commit "${TW_BEFORE_SHA:-}"; then mode=since; base="$TW_BEFORE_SHA"; else mode=history; fi ;;
      *) mode=history ;;
    esac
  fi
fi
case "$mode" in
  since)   args+=(--git --since "$base"); what="the commits since ${base:0:12}" ;;
  history) args+=(--git); what="the whole git history" ;;
  tree)    what="the files in $path" ;;
  staged)  args+=(--staged); what="the staged changes" ;;
  *) notice error "tokenwarden: mode must be auto, history, tree or staged, not '$mode'"; exit 2 ;;
esac
if [ "$mode" != tree ] && in_repo && [ "$(git -C "$path" rev-parse --is-shallow-repository)" = true ]; then
  notice warning "tokenwarden: the checkout is shallow, so older commits are not scanned; use actions/checkout with fetch-depth: 0"
fi
[ -n "${TW_BASELINE:-}" ] && args+=(--baseline "$TW_BASELINE")
[ -n "${TW_CONFIG:-}" ] && args+=(--config "$TW_CONFIG")

set +e
"$bin" "${args[@]}"
code=$?
set -e
if [ "$code" -ge 2 ]; then
  notice error "tokenwarden could not scan (exit $code); see the log above"
  exit "$code"
fi

# The summary reads the SARIF it just wrote (python3 is on every GitHub-hosted runner).
count=$(python3 - "$sarif" "${GITHUB_STEP_SUMMARY:-/dev/null}" "$what" "$fail_on" <<'PY'
import json, re, sys
sarif, summary, what, fail_on = sys.argv[1:5]

# Paths, rule ids and messages come from the scanned repository: nothing of them may render
# as Markdown or HTML, or break the table (the same rules as tokenwarden's src/escape.rs).
INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u115f\u1160\u180e\u200b-\u200f"
                       "\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
                       "\ufff9-\ufffb\U000e0000-\U000e007f]")
def printable(s):
    return INVISIBLE.sub(lambda m: "\\u{%x}" % ord(m.group()), str(s))
def md(s):
    s = printable(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]()#!|~])", r"\\\1", s)
def code(s):
    s = printable(s).replace("|", "\\|")
    fence = "`" * (max((len(r) for r in re.findall("`+", s)), default=0) + 1)
    return f"{fence} {s} {fence}" if len(fence) > 1 else f"`{s}`"

doc = json.load(open(sarif))
results = [r for run in doc.get("runs", []) for r in run.get("results", [])]
rows = []
for r in results:
    loc = (r.get("locations") or [{}])[0].get("physicalLocation", {})
    uri = loc.get("artifactLocation", {}).get("uri", "")
    line = loc.get("region", {}).get("startLine", "")
    sev = r.get("properties", {}).get("severity", r.get("level", ""))
    msg = (r.get("message", {}).get("text", "").splitlines() or [""])[0][:120]
    rows.append(f"| {code(r.get('ruleId', ''))} | {md(sev)} | {code(f'{uri}:{line}')} | {md(msg)} |")
with open(summary, "a") as out:
    out.write(f"### tokenwarden: {len(results)} finding(s) in {md(what)}\n\n")
    if rows:
        out.write("| rule | severity | where | what |\n|---|---|---|---|\n")
        out.write("\n".join(rows[:200]) + "\n")
        if len(rows) > 200:
            out.write(f"\n…and {len(rows) - 200} more in the SARIF file.\n")
    out.write(f"\nFails the job at or above `{fail_on}`. Secrets are never shown in full.\n")
print(len(results))
PY
)

{
  echo "findings=$count"
  echo "sarif=$sarif"
  echo "failed=$([ "$code" -eq 1 ] && echo true || echo false)"
} >> "${GITHUB_OUTPUT:-/dev/null}"
echo "tokenwarden: $count finding(s) in $what (exit $code)"
