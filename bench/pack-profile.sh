#!/usr/bin/env bash
# What a history scan has to read, by object type: the bytes of whole objects (what every
# reader of whole objects, tokenwarden's included, inflates and scans) against the bytes a
# delta-aware reader would handle (the objects stored whole, plus the delta data of the
# others: their copy instructions and inserted bytes), as `git verify-pack -v` reports them
# for the repository's packs.
#
#   bash bench/pack-profile.sh /path/to/clone [NAME]
#
# Writes bench/results-pack-NAME.md (NAME: the clone's directory name by default) and prints
# it. Read-only on the repository; takes about as long as `git index-pack` (Spack: 25 s,
# Slurm: 45 s on the project's 2-core machine). Whole-object bytes come from
# `git cat-file --batch-all-objects --batch-check`, the floor's own listing.
set -euo pipefail
repo=${1:?usage: bash bench/pack-profile.sh /path/to/clone [NAME]}
name=${2:-$(basename "$(cd "$repo" && pwd)")}
here=$(cd "$(dirname "$0")" && pwd)
out="$here/results-pack-$name.md"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git_dir=$(git -C "$repo" rev-parse --absolute-git-dir)
for idx in "$git_dir"/objects/pack/*.idx; do
  git -C "$repo" verify-pack -v "$idx" >> "$tmp/vp.txt"
done
git -C "$repo" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' > "$tmp/sizes.txt"
python3 - "$tmp/vp.txt" "$tmp/sizes.txt" "$name" > "$out" <<'PY'
import sys, collections
vp, sizes, name = sys.argv[1:4]
whole = collections.Counter()
count = collections.Counter()
for line in open(sizes):
    t, s = line.split()
    whole[t] += int(s)
    count[t] += 1
stored_whole = collections.Counter()
delta_data = collections.Counter()
packed = collections.Counter()
deltas = collections.Counter()
for line in open(vp):
    p = line.split()
    if len(p) < 5 or p[1] not in ("blob", "tree", "commit", "tag"):
        continue
    t, size, in_pack = p[1], int(p[2]), int(p[3])
    packed[t] += in_pack
    if len(p) >= 7:
        deltas[t] += 1
        delta_data[t] += size
    else:
        stored_whole[t] += size
mb = lambda b: f"{b / 1e6:,.1f}"
print(f"# What a history scan reads: {name}\n")
print("Bytes by object type (MB). *Whole objects*: every object of that type at its full size,")
print("as `git cat-file --batch-all-objects --batch` writes them (the benchmark's floor) and as")
print("a reader of whole objects inflates and scans them. *Delta-aware*: the objects stored")
print("whole plus the delta data of the rest (copy instructions and inserted bytes), which is")
print("what a reader that scans only what each delta inserts would inflate. *Packed*: on disk.\n")
print("| type | objects | of them deltas | whole objects | delta-aware (stored whole + delta data) | ratio | packed |")
print("|---|---:|---:|---:|---:|---:|---:|")
for t in ("blob", "tree", "commit", "tag"):
    aware = stored_whole[t] + delta_data[t]
    ratio = f"{whole[t] / aware:,.0f}×" if aware else "–"
    print(f"| {t} | {count[t]:,} | {deltas[t]:,} | {mb(whole[t])} | {mb(stored_whole[t])} + {mb(delta_data[t])} = {mb(aware)} | {ratio} | {mb(packed[t])} |")
PY
cat "$out"
