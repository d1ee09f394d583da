#!/usr/bin/env python3
"""The watch benchmark: how long from a save to its test file being written, template mode.

Starts `testsmith watch --debounce D` on a Go package of F files with M exported functions
each, then N times appends one new exported function to one file and measures, from the
moment the save returns, until the new function's test is in the test file (polled every
millisecond). Saves are spaced out so that each is its own batch. Prints every latency, the
median and the budget, debounce + 100 ms; exits 1 when the median is over it.

    bench/watch_latency.py [--debounce MS ...] [--saves N] [--files F] [--members M] [--bin PATH]

Without --bin, builds the release binary first (cargo build --release).
"""

import argparse
import os
import pathlib
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debounce", type=int, nargs="+", default=[300, 50])
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--bin", type=pathlib.Path)
    args = parser.parse_args()

    binary = args.bin
    if binary is None:
        subprocess.run(
            ["cargo", "build", "--release", "--quiet", "--manifest-path", ROOT / "Cargo.toml"],
            check=True,
        )
        binary = ROOT / "target" / "release" / "testsmith"
    binary = binary.resolve()

    print(f"{os.cpu_count()} cores; a Go package of {args.files} files x {args.members} members")
    over_budget = False
    for debounce in args.debounce:
        latencies, passes = measure(binary, debounce, args.saves, args.files, args.members)
        median = statistics.median(latencies)
        budget = debounce + 100
        verdict = "within" if median <= budget else "OVER"
        over_budget |= median > budget
        print(
            f"debounce {debounce:4d} ms: save -> test file written, {len(latencies)} saves: "
            f"median {median:.0f} ms, min {min(latencies):.0f}, max {max(latencies):.0f} "
            f"({verdict} the budget of {budget} ms); the pass itself: median "
            f"{statistics.median(passes):.0f} ms"
        )
        print("  every save (ms): " + " ".join(f"{x:.0f}" for x in latencies))
    return 1 if over_budget else 0


def measure(binary: pathlib.Path, debounce: int, saves: int, files: int, members: int) -> list:
    with tempfile.TemporaryDirectory(prefix="testsmith-watch-bench-") as work:
        package = pathlib.Path(work) / "pkg"
        package.mkdir()
        for f in range(files):
            lines = ["package pkg", ""]
            for m in range(members):
                lines.append(f"func F{f}_{m}(x int) int {{ return x + {m} }}\n")
            (package / f"f{f}.go").write_text("\n".join(lines))

        watch = Watch(binary, work, debounce)
        try:
            watch.wait_for_stderr("note: watching")
            source = package / "f0.go"
            test_file = package / "f0_test.go"
            latencies, passes = [], []
            for save in range(saves):
                name = f"Saved{save}"
                with open(source, "a") as out:
                    out.write(f"\nfunc {name}() int {{ return {save} }}\n")
                saved = time.monotonic()
                wanted = f"func Test{name}("
                deadline = saved + 30
                while wanted not in test_file.read_text():
                    if time.monotonic() > deadline:
                        raise SystemExit(f"no test for {name} after 30 s:\n{watch.transcript()}")
                    time.sleep(0.001)
                latencies.append((time.monotonic() - saved) * 1000)
                # Let the pass finish (its status line) and the window close before the next save.
                status = watch.wait_for_stdout("pkg/f0.go: 1 test written")
                passes.append(int(re.search(r" in (\d+) ms$", status).group(1)))
                time.sleep(max(debounce, 50) / 1000 * 2)
            return latencies, passes
        finally:
            watch.stop()


class Watch:
    """`testsmith watch` in `cwd`, its output read as it comes."""

    def __init__(self, binary, cwd, debounce):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TESTSMITH_"))}
        self.process = subprocess.Popen(
            [str(binary), "watch", "--debounce", str(debounce)],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines = queue.Queue()
        self.seen = []
        for stream, name in [(self.process.stdout, "out"), (self.process.stderr, "err")]:
            threading.Thread(target=self._read, args=(stream, name), daemon=True).start()

    def _read(self, stream, name):
        for line in stream:
            self.lines.put((name, line.rstrip("\n")))

    def _wait(self, stream, prefix):
        deadline = time.monotonic() + 30
        while True:
            try:
                name, line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise SystemExit(f"waited 30 s for {prefix!r}:\n{self.transcript()}")
            self.seen.append(f"{name}: {line}")
            if name == stream and line.startswith(prefix):
                return line

    def wait_for_stdout(self, prefix):
        return self._wait("out", prefix)

    def wait_for_stderr(self, prefix):
        return self._wait("err", prefix)

    def transcript(self):
        return "\n".join(self.seen)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


if __name__ == "__main__":
    sys.exit(main())
