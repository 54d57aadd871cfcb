"""Time from `make demo` in a fresh clone (no venv) to the console's first prompt.

Run: ``python3 tests/bench/demo_start.py [--runs N] [--no-cache]`` (clones this checkout's HEAD into a
temporary directory; ``--no-cache`` also hides pip's and uv's download caches). Prints each run and the
median. Needs the package registries, as `make demo` does.
"""

from __future__ import annotations

import os
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROMPT = b" #"  # the console prompts "<user> #<channel>> "
DEADLINE_S = 600.0


def one_run(no_cache: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="demo-start-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = dict(os.environ)
        if no_cache:
            env |= {"PIP_NO_CACHE_DIR": "1", "UV_NO_CACHE": "1"}
        t0 = time.monotonic()
        proc = subprocess.Popen(["make", "demo"], cwd=clone, env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        seen = b""
        try:
            while time.monotonic() - t0 < DEADLINE_S:
                if not sel.select(timeout=1.0):
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    raise RuntimeError(f"make demo ended before its prompt:\n{seen[-2000:].decode(errors='replace')}")
                seen += chunk
                last = seen.rsplit(b"\n", 1)[-1]
                if PROMPT in last and last.rstrip().endswith(b">"):
                    return time.monotonic() - t0
            raise RuntimeError("no prompt within the deadline")
        finally:
            try:
                proc.stdin.close()  # type: ignore[union-attr]  # end of input: the demo quits
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
            shutil.rmtree(clone, ignore_errors=True)


def main() -> int:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 1
    no_cache = "--no-cache" in sys.argv
    times = []
    for i in range(runs):
        t = one_run(no_cache)
        times.append(t)
        print(f"run {i + 1}: {t:.1f} s to the first prompt{' (no download cache)' if no_cache else ''}")
    print(f"median {statistics.median(times):.1f} s over {runs} run(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
