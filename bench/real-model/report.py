#!/usr/bin/env python3
"""One row of the real-model yield table from a `generate --llm --verify --format json` report.

usage: report.py NAME REPORT.json PROJECT_DIR WALL_SECONDS [SERVER_LOG]

Completion sizes come from the llama.cpp server's own log (`eval time = ... / N tokens`), so
they are measured the same for every binary.

kept = a test that compiled, passed and asserts something (Go: t.Error*/t.Fatal*, or a call
of a helper taking t, not only inside a loop over an empty table; Rust: an assert*! macro, `?` in a test returning Result, or
#[should_panic]) — counted here from the test's own text, so runs of binaries that do not
check this themselves are measured the same way.
"""
import json, re, statistics, sys
from pathlib import Path

name, report_path, project, wall = sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])
doc = json.loads(Path(report_path).read_text() or "{}")
summary = doc.get("summary", {})
llm = summary.get("llm", {})
verify = doc.get("verify", {})
tests = verify.get("tests", [])


def body_of(text, test):
    """The text of function `test` in `text`, from its declaration to its closing brace."""
    m = re.search(r"(#\[[^\]]*\]\s*)*(pub\s+)?fn\s+%s\b|func\s+%s\b" % (test, test), text)
    if not m:
        return None
    start = m.start()
    # attributes just above belong to it (#[should_panic])
    head = text.rfind("\n\n", 0, start)
    i = text.find("{", m.end())
    depth = 0
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[max(head, 0):j + 1]
    return text[start:]


def without_loops_over_empty_tables(body):
    """The Go test without its `for ... range tests` loops over a table with no row (a
    skeleton sent back unfilled): the checks in them never run."""
    for m in re.finditer(r"(\w+) :?= \[\]struct ?\{[^{}]*\}\{(\s*//[^\n]*)*\s*\}", body):
        loop = re.search(r"for [^{]*\brange %s\s*\{" % m.group(1), body)
        if not loop:
            continue
        depth = 0
        for j in range(loop.end() - 1, len(body)):
            depth += {"{": 1, "}": -1}.get(body[j], 0)
            if depth == 0:
                return without_loops_over_empty_tables(body[:loop.start()] + body[j + 1:])
    return body


def asserts(body, is_go):
    if body is None:
        return False
    if is_go:
        body = without_loops_over_empty_tables(body)
        return bool(re.search(r"\bt\.(Error|Errorf|Fatal|Fatalf|Fail|FailNow)\b|\(t[,)]", body))
    return bool(re.search(r"\bassert(_eq|_ne)?!|debug_assert|should_panic|panic!|\?\s*;", body))


members = summary.get("members", 0) - summary.get("already_tested", 0)
answered = summary.get("written", 0) + summary.get("regenerated", 0)
totals = verify.get("totals", {})
kept = 0
for t in tests:
    if t.get("status") != "passed":
        continue
    path = project / t["test_file"]
    text = path.read_text() if path.exists() else ""
    if asserts(body_of(text, t["test"]), t["test_file"].endswith(".go")):
        kept += 1
tokens_in, tokens_out = llm.get("tokens_in", 0), llm.get("tokens_out", 0)
sizes = llm.get("completion_sizes")
answers = llm.get("answers")
cut = llm.get("answers_cut")
print(f"{name}: members {members} → answered {answered} → compiled {totals.get('compiled', 0)} "
      f"→ passed {totals.get('passed', 0)} → kept {kept}  ({kept / max(members, 1):.0%})")
per_kept = f"{(tokens_in + tokens_out) / kept:,.0f}" if kept else "—"
print(f"  requests {llm.get('requests_sent', 0)}, tokens in/out {tokens_in:,}/{tokens_out:,}, "
      f"per kept test {per_kept}; wall {wall:.0f} s")
server_sizes = []
if len(sys.argv) > 5 and Path(sys.argv[5]).exists():
    for line in Path(sys.argv[5]).read_text(errors="replace").splitlines():
        # `... print_timing: ... | eval time = 3540.13 ms / 60 tokens` (not `prompt eval`)
        m = re.search(r"(?<!prompt )\beval time =.*?/\s*(\d+) tokens", line)
        if m:
            server_sizes.append(int(m.group(1)))
if server_sizes:
    print(f"  server: {len(server_sizes)} completions, median {statistics.median(server_sizes):.0f} "
          f"tokens, largest {max(server_sizes)}, total {sum(server_sizes):,}")
if answers:
    print(f"  answers {answers}, cut at the cap {cut} ({cut / answers:.0%}); completion tokens "
          f"median {llm.get('completion_median')}, largest {llm.get('completion_max')}")
if llm.get("salvaged") is not None:
    print(f"  answers salvaged without a re-ask: {llm.get('salvaged')}")
funnel = doc.get("funnel")
if funnel:
    # `--coverage`: the funnel's own counts, and the statements executed before → after.
    f = funnel.get("totals", {})
    before, after = funnel.get("before", {}), funnel.get("after", {})
    pct = lambda t: 100.0 * t.get("executed", 0) / max(t.get("total", 0), 1)
    print(f"  coverage funnel: generated {f.get('generated', 0)} → built {f.get('built', 0)} → "
          f"passed {f.get('passed', 0)} → reliably {f.get('passed_reliably', 0)} → raised "
          f"coverage {f.get('raised_coverage', 0)} → kept {f.get('kept', 0)}; statements "
          f"{before.get('executed', 0)}/{before.get('total', 0)} ({pct(before):.1f} %) → "
          f"{after.get('executed', 0)}/{after.get('total', 0)} ({pct(after):.1f} %)")
