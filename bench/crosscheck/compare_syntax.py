#!/usr/bin/env python3
"""No false syntax errors: every file testsmith reports a syntax error in must be one the
compiler-grade parser rejects too.

Usage: compare_syntax.py TESTSMITH_JSON REFERENCE_JSONL

TESTSMITH_JSON is `testsmith analyze ROOT --format json`; REFERENCE_JSONL the output of the
Go (`bench/crosscheck/go`) or Rust (`bench/crosscheck/rust`) lister over the same ROOT, whose
`{"path","error"}` / `{"path","skipped"}` lines name the files go/parser or syn reject.
Prints the counts and every false error; exits 1 when there is one.
"""

import json
import sys


def main():
    testsmith_json, reference_jsonl = sys.argv[1:3]
    with open(testsmith_json, encoding="utf-8") as handle:
        files = json.load(handle)["files"]
    rejected = {}
    with open(reference_jsonl, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            reason = record.get("error") or record.get("skipped")
            if reason and reason not in ("binary", "not UTF-8"):
                rejected[record["path"]] = reason
    flagged = [f for f in files if f.get("errors")]
    false_errors = [f for f in flagged if f["path"] not in rejected]
    confirmed = len(flagged) - len(false_errors)
    seen = {f["path"] for f in files}
    missed = [path for path in rejected if path in seen and path not in {f["path"] for f in flagged}]
    print(f"files analysed:                       {len(files)}")
    print(f"rejected by the reference parser:     {len(rejected)}")
    print(f"syntax errors reported by testsmith:  {len(flagged)} ({confirmed} confirmed)")
    print(f"false syntax errors:                  {len(false_errors)}")
    print(f"rejected files testsmith accepted:    {len(missed)} (left to the compiler)")
    for f in false_errors:
        first = f["errors"][0]
        print(f"  false: {f['path']}:{first['line']}:{first['column']}: {first['message']}")
    return 1 if false_errors else 0


if __name__ == "__main__":
    sys.exit(main())
