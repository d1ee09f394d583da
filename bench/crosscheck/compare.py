#!/usr/bin/env python3
"""Compares `testsmith analyze --format json` with the go/parser reference in bench/crosscheck/go.

Usage:
    compare.py REFERENCE.jsonl TESTSMITH.json [--show N] [--min-percent P]

REFERENCE.jsonl is the output of `go run ./bench/crosscheck/go ROOT` (one member per line),
TESTSMITH.json that of `testsmith analyze ROOT --lang go --format json`, over the same ROOT
spelled the same way. Members are compared by (path, kind, name, owner); recall and precision
are reported for functions and methods (the issue's measure) and for types. Matched members
are also compared by first and last line, doc comment and, for functions and methods, the
signature with all white space removed (go/printer and testsmith space it differently).

Files go/parser rejects are left out of every figure (the reference is unreliable there) and
counted. Exit status 1 when the function+method recall or precision is below --min-percent
(default 99.5), so a script can gate on it.
"""

import argparse
import json
import os
import re
import sys
from collections import Counter

CALLABLE = {"function", "method"}


def read_reference(path):
    members, failed = [], set()
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            row = json.loads(line)
            if "error" in row:
                failed.add(os.path.normpath(row["path"]))
            else:
                members.append(row)
    return members, failed


def read_testsmith(path):
    with open(path, encoding="utf-8") as document:
        report = json.load(document)
    members, flagged = [], set()
    for file in report["files"]:
        if file.get("language") != "go":
            continue
        if file.get("errors"):
            flagged.add(os.path.normpath(file["path"]))
        for member in file["members"]:
            members.append(dict(member, path=file["path"], line=member["start_line"]))
    return members, flagged


def key(member):
    return (os.path.normpath(member["path"]), member["kind"], member["name"], member.get("owner"))


def show_key(k):
    path, kind, name, owner = k
    return f"{path}: {kind} {owner + '.' if owner else ''}{name}"


def score(reference, found, kinds):
    want = Counter(key(m) for m in reference if m["kind"] in kinds)
    got = Counter(key(m) for m in found if m["kind"] in kinds)
    both = sum((want & got).values())
    recall = 100.0 * both / max(sum(want.values()), 1)
    precision = 100.0 * both / max(sum(got.values()), 1)
    missed = sorted((want - got).elements())
    extra = sorted((got - want).elements())
    return recall, precision, sum(want.values()), sum(got.values()), missed, extra


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reference")
    parser.add_argument("testsmith")
    parser.add_argument("--show", type=int, default=10, help="differences listed per kind")
    parser.add_argument("--min-percent", type=float, default=99.5)
    args = parser.parse_args()

    reference, rejected = read_reference(args.reference)
    found, flagged = read_testsmith(args.testsmith)
    reference = [m for m in reference if os.path.normpath(m["path"]) not in rejected]
    found = [m for m in found if os.path.normpath(m["path"]) not in rejected]
    files = {os.path.normpath(m["path"]) for m in reference} | {
        os.path.normpath(m["path"]) for m in found
    }

    print(f"files with members compared: {len(files)}")
    print(f"files go/parser rejects (left out): {len(rejected)}")
    flagged_only = sorted(flagged - rejected)
    print(f"files testsmith flags with syntax errors that go/parser accepts: {len(flagged_only)}")
    for path in flagged_only[: args.show]:
        print(f"  {path}")

    gate_ok = True
    for label, kinds in (
        ("functions+methods", CALLABLE),
        ("types", {"struct", "interface", "type"}),
    ):
        recall, precision, want, got, missed, extra = score(reference, found, kinds)
        print(
            f"{label}: reference {want}, testsmith {got}, "
            f"recall {recall:.3f}%, precision {precision:.3f}%"
        )
        for title, items in (("missed", missed), ("extra", extra)):
            if items:
                print(f"  {title} ({len(items)}):")
                for k in items[: args.show]:
                    print(f"    {show_key(k)}")
        if kinds is CALLABLE and min(recall, precision) < args.min_percent:
            gate_ok = False

    # Matched members: do their lines, doc comment and signature agree too?
    by_key = {}
    for m in reference:
        by_key.setdefault(key(m), []).append(m)
    matched = 0
    differs = Counter()
    examples = []
    for m in found:
        candidates = by_key.get(key(m))
        if not candidates:
            continue
        ref = candidates.pop(0)
        matched += 1
        checks = [
            ("start line", m["start_line"], ref["line"]),
            ("end line", m["end_line"], ref["end_line"]),
            ("doc", m.get("doc"), ref.get("doc")),
        ]
        if ref.get("signature") is not None:
            checks.append(("signature", m["signature"], ref["signature"]))
        for what, ours, theirs in checks:
            if what == "signature":
                same = re.sub(r"\s+", "", ours) == re.sub(r"\s+", "", theirs)
            else:
                same = ours == theirs
            if not same:
                differs[what] += 1
                examples.append(f"{what} {ours!r} vs {theirs!r}: {show_key(key(m))}")
    summary = ", ".join(
        f"{what} differs: {differs[what]}" for what in ("start line", "end line", "doc", "signature")
    )
    print(f"matched members: {matched}, {summary}")
    for example in examples[: args.show]:
        print(f"  {example}")

    return 0 if gate_ok else 1


if __name__ == "__main__":
    sys.exit(main())
