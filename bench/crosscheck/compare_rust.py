#!/usr/bin/env python3
"""Compares testsmith's Rust functions and methods with the syn cross-check's.

Usage: compare_rust.py TESTSMITH_JSON SYN_JSONL [--show N]

TESTSMITH_JSON is the output of `testsmith analyze ROOT --format json --lang rust`;
SYN_JSONL the output of `crosscheck-rust ROOT` (bench/crosscheck/rust). Members are compared
as a multiset of (path, kind, name, owner) over the files syn parsed; files syn skipped (it
cannot parse them) are left out on both sides. Prints recall and precision of testsmith
against syn and the first differences of each kind. Exits 1 when either is below 99.5%.
"""

import argparse
import collections
import json
import sys

THRESHOLD = 0.995


def load_testsmith(path):
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    members = collections.Counter()
    files = set()
    for file in document["files"]:
        files.add(file["path"])
        for member in file.get("members", []):
            if member["kind"] in ("function", "method"):
                key = (file["path"], member["kind"], member["name"], member.get("owner"))
                members[key] += 1
    return files, members


def load_syn(path):
    members = collections.Counter()
    parsed, skipped = set(), {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if "skipped" in record:
                skipped[record["path"]] = record["skipped"]
            elif record.get("parsed"):
                parsed.add(record["path"])
            else:
                key = (record["path"], record["kind"], record["name"], record.get("owner"))
                members[key] += 1
    return parsed, skipped, members


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("testsmith_json")
    parser.add_argument("syn_jsonl")
    parser.add_argument("--show", type=int, default=20, help="differences shown per side")
    args = parser.parse_args()

    ts_files, ts_members = load_testsmith(args.testsmith_json)
    syn_parsed, syn_skipped, syn_members = load_syn(args.syn_jsonl)

    compared = syn_parsed
    ts_members = collections.Counter(
        {key: n for key, n in ts_members.items() if key[0] not in syn_skipped}
    )
    only_testsmith_files = sorted(ts_files - compared - set(syn_skipped))
    only_syn_files = sorted(compared - ts_files)

    agreed = sum((ts_members & syn_members).values())
    missed = syn_members - ts_members
    extra = ts_members - syn_members
    ts_total, syn_total = sum(ts_members.values()), sum(syn_members.values())
    recall = agreed / syn_total if syn_total else 1.0
    precision = agreed / ts_total if ts_total else 1.0

    print(f"files compared: {len(compared)} (syn skipped {len(syn_skipped)})")
    for path, reason in sorted(syn_skipped.items())[: args.show]:
        print(f"  skipped {path}: {reason}")
    if only_testsmith_files or only_syn_files:
        print(f"walk differs: {len(only_testsmith_files)} files only in testsmith's walk, "
              f"{len(only_syn_files)} only in syn's")
        for path in (only_testsmith_files + only_syn_files)[: args.show]:
            print(f"  {path}")
    print(f"members: syn {syn_total}, testsmith {ts_total}, agreed {agreed}")
    for kind in ("function", "method"):
        syn_kind = sum(n for key, n in syn_members.items() if key[1] == kind)
        ts_kind = sum(n for key, n in ts_members.items() if key[1] == kind)
        print(f"  {kind}: syn {syn_kind}, testsmith {ts_kind}")
    print(f"recall:    {recall:.5%}  ({sum(missed.values())} missed)")
    print(f"precision: {precision:.5%}  ({sum(extra.values())} extra)")

    for title, differences in (("missed (syn only)", missed), ("extra (testsmith only)", extra)):
        if not differences:
            continue
        print(f"first {title}:")
        for (path, kind, name, owner), count in sorted(differences.items())[: args.show]:
            shown = f"{owner}::{name}" if owner else name
            times = f" x{count}" if count > 1 else ""
            print(f"  {path}  {kind} {shown}{times}")

    ok = recall >= THRESHOLD and precision >= THRESHOLD and not only_testsmith_files \
        and not only_syn_files
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
