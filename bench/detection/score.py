#!/usr/bin/env python3
"""Score a secret scanner's report against gen.py's labels.

    score.py --labels OUT/labels.jsonl --tool NAME --report FILE --kind sarif|gitleaks-json|kingfisher-json
             [--where tree|history] [--root PREFIX] [--json OUT.json] [--check MIN_RECALL MIN_PRECISION]
    score.py --combine A.json B.json ...      # one table from several --json outputs

Matching (see README.md): a positive label is found when a finding is on the same path (after
stripping --root, or the tree/ or history/ prefix) and the same line (label line 0: any line of
that file), or on one of the label's `alt` locations (the key id line of a key pair); a result
that reports a line range (SARIF endLine, gitleaks EndLine) of at most 10 lines matches any line
in it. In history,
a finding that names a commit must name a commit in which the value is present at that path and
line (the label's `occurrences`); a finding without a commit is matched on path and line alone.
A finding that matches no positive label is a false positive, except tokenwarden `hygiene.*`
results (no secret value; counted as "hygiene") and unmatched results whose SARIF level is
"note" or severity "info" (counted as "info"). `generic_jwt` labels count as found/true positive
but are left out of the facility kinds and of overall recall.

Python 3.11 standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

FACILITY_KINDS = ["s3m", "s3m_stream", "globus", "globus_client_secret", "iri", "palmetto", "slurm_jwt", "slurm_key",
                  "munge_cred", "munge_key", "csm_keycloak", "csm_client_secret", "ceph_sts", "s3_keypair", "aws"]
SHORT = {"s3m": "s3m", "s3m_stream": "s3m_str", "globus": "globus", "globus_client_secret": "gl_csec", "iri": "iri",
         "palmetto": "palm", "slurm_jwt": "slm_jwt", "slurm_key": "slm_key", "munge_cred": "mng_crd", "munge_key": "mng_key",
         "csm_keycloak": "csm_kc", "csm_client_secret": "csm_sec", "ceph_sts": "ceph_sts", "s3_keypair": "s3_pair",
         "aws": "aws", "generic_jwt": "gen_jwt"}


# ------------------------------------------------------------------ report readers
class Finding:
    __slots__ = ("path", "line", "commit", "rule", "level", "severity", "value", "col", "hygiene", "end", "secondary")

    def __init__(self, path, line, commit=None, rule="?", level=None, severity=None, value=None, col=None, hygiene=False, end=None):
        self.path, self.line, self.commit, self.rule = path, line, commit, rule
        self.level, self.severity, self.value, self.col, self.hygiene = level, severity, value, col, hygiene
        self.secondary = False  # a SARIF result's 2nd+ location: may find a label, never counted as TP or FP
        # a multi-line result covers line..end (only trusted for spans of at most MAX_SPAN lines)
        self.end = end if isinstance(end, int) and isinstance(line, int) and line <= end <= line + MAX_SPAN - 1 else line

    def lines(self):
        return range(self.line, self.end + 1) if isinstance(self.line, int) else [self.line]


def read_sarif(path):
    with open(path) as fh:
        doc = json.load(fh)
    out = []
    for run in doc.get("runs", []):
        for r in run.get("results", []):
            props = r.get("properties") or {}
            git = props.get("git") or {}
            rule = r.get("ruleId", "?")
            locs = r.get("locations") or [{}]
            for k, loc in enumerate(locs[:1] + [l for l in locs[1:] if l]):
                pl = loc.get("physicalLocation") or {}
                uri = (pl.get("artifactLocation") or {}).get("uri") or git.get("path") or ""
                reg = pl.get("region") or {}
                snippet = (reg.get("snippet") or {}).get("text")
                out.append(Finding(uri, reg.get("startLine"), git.get("commit") or props.get("commit"), rule,
                                   r.get("level", "warning"), props.get("severity"), snippet, reg.get("startColumn"),
                                   hygiene=rule.startswith("hygiene."), end=reg.get("endLine")))
                out[-1].secondary = k > 0
    return out


def read_gitleaks(path):
    with open(path) as fh:
        doc = json.load(fh) or []
    return [Finding(x.get("File", ""), x.get("StartLine"), x.get("Commit") or None, x.get("RuleID", "?"),
                    value=x.get("Secret"), col=x.get("StartColumn"), end=x.get("EndLine")) for x in doc]


def read_kingfisher(path):
    with open(path) as fh:
        text = fh.read()
    dec = json.JSONDecoder()
    i, docs = 0, []
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        d, i = dec.raw_decode(text, i)
        docs.append(d)
    out = []
    for d in docs:
        items = d if isinstance(d, list) else d.get("findings") if isinstance(d.get("findings"), list) else []
        for x in items:
            f = x.get("finding", x)
            gm = f.get("git_metadata") or {}
            commit = ((gm.get("commit") or {}).get("id")) if isinstance(gm, dict) else None
            p = f.get("path") or ((gm.get("file") or {}).get("path") if isinstance(gm, dict) else "") or ""
            out.append(Finding(p, f.get("line"), commit, (x.get("rule") or {}).get("id", "?"), value=f.get("snippet"),
                               col=f.get("column_start")))
    return out


MAX_SPAN = 10
READERS = {"sarif": read_sarif, "gitleaks-json": read_gitleaks, "kingfisher-json": read_kingfisher}


# ------------------------------------------------------------------ matching
def norm_path(p, roots):
    if p.startswith("file://"):
        p = p[7:]
    for r in roots:
        if r and p.startswith(r.rstrip("/") + "/"):
            return p[len(r.rstrip("/")) + 1:]
    for marker in ("/tree/", "/history/"):
        i = p.rfind(marker)
        if i >= 0 and os.path.isabs(p):
            return p[i + len(marker):]
    for pre in ("./", "tree/", "history/"):
        if p.startswith(pre):
            p = p[len(pre):]
    return p


def redact(v):
    if not v:
        return "?"
    v = v.strip()
    return v[:6] + "…"


def line_value(corpus, where, f):
    """First 6 characters of the reported value, read from the corpus when the report has none."""
    if f.value:
        return redact(f.value)
    try:
        if where == "tree":
            with open(os.path.join(corpus, f.path), "rb") as fh:
                data = fh.read()
        else:
            if not f.commit:
                return "?"
            data = subprocess.run(["git", "-C", corpus, "show", f"{f.commit}:{f.path}"], capture_output=True).stdout
        lines = data.split(b"\n")
        if not f.line or f.line > len(lines):
            return "?"
        s = lines[f.line - 1].decode("utf-8", "replace")
        if f.col:
            s = s[f.col - 1:]
        return redact(s) if s.strip() else "?"
    except OSError:
        return "?"


def score(labels, findings, where, roots, corpus):
    pos = [l for l in labels if l["where"] == where and not l["negative"]]
    neg = [l for l in labels if l["where"] == where and l["negative"]]
    by_line = defaultdict(list)     # (path, line) -> labels ; tree, or history without commit
    by_file = defaultdict(list)     # path -> line-0 labels
    by_commit = defaultdict(list)   # (path, commit, line) -> labels ; history
    by_commit_file = defaultdict(list)
    for l in pos:
        if where == "tree":
            if l["line"] == 0:
                by_file[l["path"]].append(l)
            else:
                by_line[(l["path"], l["line"])].append(l)
                for a in l.get("alt", []):
                    by_line[(a["path"], a["line"])].append(l)
        else:
            for o in l.get("occurrences", []):
                if o["line"] == 0:
                    by_commit_file[(o["path"], o["commit"])].append(l)
                    by_file[o["path"]].append(l)
                else:
                    by_commit[(o["path"], o["commit"], o["line"])].append(l)
                    by_line[(o["path"], o["line"])].append(l)
    neg_by_line = defaultdict(list)
    for l in neg:
        if where == "tree":
            neg_by_line[(l["path"], l["line"])].append(l)
        else:
            for o in l.get("occurrences", [{"path": l["path"], "line": l["line"]}]):
                if l not in neg_by_line[(o["path"], o["line"])]:
                    neg_by_line[(o["path"], o["line"])].append(l)

    per_file = defaultdict(list)  # path -> findings, to show what the tool did report in a missed label's file
    found = {}           # label id -> first matching finding
    intro = set()        # history: labels matched at their introducing commit
    tp, fps, info, hyg = [], [], [], []
    for f in findings:
        f.path = norm_path(f.path, roots)
        per_file[f.path].append(f)
        if f.hygiene:
            hyg.append(f)
            continue
        if where == "history" and f.commit:
            m = [l for ln in f.lines() for l in by_commit.get((f.path, f.commit, ln), [])] + by_commit_file.get((f.path, f.commit), [])
        else:
            m = [l for ln in f.lines() for l in by_line.get((f.path, ln), [])] + by_file.get(f.path, [])
        if f.secondary:
            for l in m:
                found.setdefault(l["id"], f)
            continue
        if m:
            tp.append(f)
            for l in m:
                found.setdefault(l["id"], f)
                if where == "history" and f.commit == l.get("commit") and f.path == l["path"]:
                    intro.add(l["id"])
        elif f.level == "note" or (f.severity or "").lower() == "info":
            info.append(f)
        else:
            fps.append(f)

    def tally(key):
        t = defaultdict(lambda: [0, 0])
        for l in pos:
            k = key(l)
            t[k][1] += 1
            if l["id"] in found:
                t[k][0] += 1
        return t

    kinds = tally(lambda l: l["kind"])
    contexts = tally(lambda l: l["context"])
    fac = [l for l in pos if l["kind"] in FACILITY_KINDS]
    fac_found = sum(1 for l in fac if l["id"] in found)
    misses = [l for l in pos if l["id"] not in found]
    res = {
        "where": where,
        "kinds": {k: {"found": v[0], "total": v[1]} for k, v in sorted(kinds.items())},
        "contexts": {k: {"found": v[0], "total": v[1]} for k, v in sorted(contexts.items())},
        "facility_found": fac_found, "facility_total": len(fac),
        "recall": fac_found / len(fac) if fac else 0.0,
        "tp_findings": len(tp), "fp_findings": len(fps), "info_findings": len(info), "hygiene_findings": len(hyg),
        "precision": len(tp) / (len(tp) + len(fps)) if tp or fps else 0.0,
        "misses": [{"id": l["id"], "kind": l["kind"], "context": l["context"], "path": l["path"], "line": l["line"],
                    **({"commit": l["commit"][:10]} if where == "history" else {}),
                    **({"note": l["note"]} if l.get("note") else {}), **({"encoded": l["encoded"]} if l.get("encoded") else {}),
                    **({"same_file": sorted({f"{f.rule}@{f.line}" for f in per_file[l["path"]]})} if per_file.get(l["path"]) else {})}
                   for l in misses],
        "false_positives": [], "info": [],
    }
    if where == "history":
        res["intro_attributed"] = len(intro)
    for lst, name in ((fps, "false_positives"), (info, "info")):
        for f in lst:
            n = [l for ln in f.lines() for l in neg_by_line.get((f.path, ln), [])]
            res[name].append({"path": f.path, "line": f.line, "rule": f.rule, "value": line_value(corpus, where, f),
                              **({"commit": f.commit[:10]} if f.commit else {}),
                              **({"negative_label": ",".join(l["id"] for l in n),
                                  "reason": "; ".join(dict.fromkeys(l["reason"] for l in n))} if n else {})})
    res["false_positives_on_labelled_negatives"] = sum(1 for x in res["false_positives"] if "negative_label" in x)
    return res


def pct(a, b):
    return f"{100.0 * a / b:5.1f}%" if b else "   - "


def print_report(tool, r, out=sys.stdout):
    w = lambda s="": print(s, file=out)
    w(f"== {tool} ({r['where']}) ==")
    w(f"{'kind':<22} {'found/total':>12} {'recall':>7}")
    for k in FACILITY_KINDS + ["generic_jwt"]:
        if k in r["kinds"]:
            v = r["kinds"][k]
            label = k if k != "generic_jwt" else "generic_jwt (not in overall)"
            w(f"{label:<22} {v['found']:>5}/{v['total']:<6} {pct(v['found'], v['total'])}")
    w(f"{'OVERALL (facility kinds)':<22} {r['facility_found']:>5}/{r['facility_total']:<6} {pct(r['facility_found'], r['facility_total'])}")
    w(f"precision: {pct(r['tp_findings'], r['tp_findings'] + r['fp_findings'])}  (true-positive findings {r['tp_findings']}, "
      f"false positives {r['fp_findings']} of which on labelled negatives {r['false_positives_on_labelled_negatives']}; "
      f"info {r['info_findings']}, hygiene {r['hygiene_findings']})")
    if "intro_attributed" in r:
        w(f"history: {r['intro_attributed']} found labels attributed to their introducing commit and path")
    w()
    w(f"{'context':<22} {'found/total':>12} {'recall':>7}")
    for k, v in r["contexts"].items():
        w(f"{k:<22} {v['found']:>5}/{v['total']:<6} {pct(v['found'], v['total'])}")
    w()
    w(f"misses ({len(r['misses'])}):")
    for m in r["misses"]:
        extra = " ".join(x for x in (f"@{m['commit']}" if m.get("commit") else "", f"[{m['encoded']}]" if m.get("encoded") else "",
                                     f"({m['note']})" if m.get("note") else "") if x)
        w(f"  {m['id']:<6} {m['kind']:<20} {m['context']:<18} {m['path']}:{m['line']} {extra}".rstrip())
        if m.get("same_file"):
            w(f"         (reported in that file: {', '.join(m['same_file'][:8])}{' …' if len(m['same_file']) > 8 else ''})")
    w()
    w(f"false positives ({len(r['false_positives'])}):")
    for f in r["false_positives"]:
        extra = f"  <- labelled negative {f['negative_label']}: {f['reason']}" if f.get("negative_label") else ""
        c = f"@{f['commit']} " if f.get("commit") else ""
        w(f"  {f['path']}:{f['line']} {c}{f['rule']} {f['value']}{extra}")
    if r["info"]:
        w()
        w(f"info, unmatched note-level results ({len(r['info'])}):")
        for f in r["info"]:
            extra = f"  <- labelled negative {f['negative_label']}: {f['reason']}" if f.get("negative_label") else ""
            c = f"@{f['commit']} " if f.get("commit") else ""
            w(f"  {f['path']}:{f['line']} {c}{f['rule']} {f['value']}{extra}")
    w()


def combine(paths):
    rows = []
    for p in paths:
        with open(p) as fh:
            rows.append(json.load(fh))
    by_where = defaultdict(list)
    for r in rows:
        by_where[r["where"]].append(r)
    for where, rs in by_where.items():
        kinds = [k for k in FACILITY_KINDS + ["generic_jwt"] if any(k in r["kinds"] for r in rs)]
        print(f"### {where}  (recall per kind: found/total; overall = facility kinds, generic_jwt excluded)")
        print()
        hdr = ["tool"] + [SHORT[k] for k in kinds] + ["recall", "precision", "TP/FP/info"]
        print("| " + " | ".join(hdr) + " |")
        print("|" + "|".join("---" for _ in hdr) + "|")
        for r in rs:
            if r.get("skipped"):
                print(f"| {r['tool']} | " + " | ".join("" for _ in hdr[1:-1]) + f" | skipped: {r['skipped']} |")
                continue
            cells = [r["tool"]]
            for k in kinds:
                v = r["kinds"].get(k, {"found": 0, "total": 0})
                cells.append(f"{v['found']}/{v['total']}")
            cells.append(f"{r['facility_found']}/{r['facility_total']} {100.0 * r['recall']:.1f}%")
            cells.append(f"{100.0 * r['precision']:.1f}%")
            cells.append(f"{r['tp_findings']}/{r['fp_findings']}/{r['info_findings']}")
            print("| " + " | ".join(cells) + " |")
        print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels")
    ap.add_argument("--tool", default="tool")
    ap.add_argument("--report")
    ap.add_argument("--kind", choices=sorted(READERS))
    ap.add_argument("--where", choices=["tree", "history"], default="tree")
    ap.add_argument("--root", action="append", default=[], help="path prefix to strip from reported paths (repeatable)")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--check", nargs=2, type=float, metavar=("MIN_RECALL", "MIN_PRECISION"),
                    help="exit 1 when overall recall or precision is below (fractions, or percentages when > 1)")
    ap.add_argument("--quiet", action="store_true", help="print only the summary lines")
    ap.add_argument("--combine", nargs="+", metavar="JSON", help="print one table from several --json outputs")
    a = ap.parse_args()
    if a.combine:
        combine(a.combine)
        return 0
    if not (a.labels and a.report and a.kind):
        ap.error("--labels, --report and --kind are required")
    with open(a.labels) as fh:
        labels = [json.loads(l) for l in fh if l.strip()]
    corpus = os.path.join(os.path.dirname(os.path.abspath(a.labels)), a.where)
    roots = a.root + [corpus, os.path.realpath(corpus)]
    findings = READERS[a.kind](a.report)
    r = score(labels, findings, a.where, roots, corpus)
    r["tool"] = a.tool
    if a.quiet:
        print(f"{a.tool} ({a.where}): recall {pct(r['facility_found'], r['facility_total'])} "
              f"({r['facility_found']}/{r['facility_total']}), precision {pct(r['tp_findings'], r['tp_findings'] + r['fp_findings'])} "
              f"(TP {r['tp_findings']}, FP {r['fp_findings']}, info {r['info_findings']}, hygiene {r['hygiene_findings']})")
    else:
        print_report(a.tool, r)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(r, fh, indent=1)
    if a.check:
        mr, mp = (x / 100.0 if x > 1 else x for x in a.check)
        if r["recall"] < mr or r["precision"] < mp:
            print(f"check failed: recall {r['recall']:.3f} < {mr} or precision {r['precision']:.3f} < {mp}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
