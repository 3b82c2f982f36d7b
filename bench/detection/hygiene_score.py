#!/usr/bin/env python3
"""Scores tokenwarden's hygiene findings on the benchmark corpus against gen.py's hygiene labels.

    hygiene_score.py --labels OUT/hygiene-labels.jsonl --report tokenwarden.tree.sarif \
        --root OUT/tree [--json OUT.json]

gen.py labels what a reviewer would point at, at the place it writes it (a token on a command
line, a literal credential exported by a script, one baked into an image by ENV/ARG, SLURM_JWT
handed to a batch job, a credential file other users can read), from what it wrote, not from
tokenwarden's code.

A finding is a true positive when a label has its check, its path and (for line checks) its
line; every other finding at low severity or above is a false positive. `info` findings
(Palmetto's five-second MUNGE credential, documentation that teaches a leak) are advice and are
left out of both counts, as the secret scorer leaves out info results.

Python 3.11 standard library only.
"""
import argparse
import json
import os
import sys
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from score import norm_path, read_sarif  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--root", action="append", default=[])
    ap.add_argument("--json")
    a = ap.parse_args()
    labels = [json.loads(l) for l in open(a.labels) if l.strip()]
    found = Counter()
    tp, fps = 0, []
    matched = set()
    findings = [f for f in read_sarif(a.report) if f.hygiene and not f.secondary]
    for f in findings:
        if (f.severity or "").lower() == "info" or f.level == "none":
            continue
        path = norm_path(f.path, a.root)
        hit = [i for i, l in enumerate(labels)
               if l["check"] == f.rule and l["path"] == path and (l["line"] is None or l["line"] == f.line)]
        if hit:
            tp += 1
            matched.update(hit)
        else:
            fps.append(f"{f.rule} {path}:{f.line}")
    per = defaultdict(lambda: [0, 0])
    for i, l in enumerate(labels):
        per[l["check"]][1] += 1
        if i in matched:
            per[l["check"]][0] += 1
    total = len(labels)
    recall = len(matched) / total if total else 1.0
    counted = tp + len(fps)
    precision = tp / counted if counted else 1.0
    print(f"hygiene: recall {recall:.3f} ({len(matched)}/{total}), precision {precision:.3f} ({tp}/{counted})")
    for check, (n, t) in sorted(per.items()):
        print(f"  {check}: {n}/{t}")
    missed = [l for i, l in enumerate(labels) if i not in matched]
    for l in missed:
        print(f"  MISS {l['check']} {l['path']}:{l['line']} {l.get('note', '')}")
    for fp in fps:
        print(f"  FP   {fp}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"recall": recall, "precision": precision, "labels": total, "found": len(matched),
                       "tp_findings": tp, "fp_findings": len(fps),
                       "checks": {c: {"found": n, "total": t} for c, (n, t) in per.items()},
                       "missed": missed, "false_positives": fps}, fh, indent=1)


if __name__ == "__main__":
    main()
