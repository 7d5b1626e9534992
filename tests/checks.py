"""tests/checks.py — pass/fail counting for the Python test suites: each
check that fails prints `FAIL what`, skip() counts (and prints) a check
that cannot run here; summary() prints the suite's `NAME: N passed,
N failed[, N skipped]` line (tests/run.sh reads it) and returns the exit
code. New suites import this instead of defining their own check().
Checks may be made from several threads."""

import threading


class Checks:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.lock = threading.Lock()

    def __call__(self, ok, what):
        with self.lock:
            if ok:
                self.passed += 1
            else:
                self.failed += 1
                print(f"FAIL {what}", flush=True)
        return ok

    def skip(self, what, n=1):
        with self.lock:
            self.skipped += n
            print(f"SKIP {what}", flush=True)

    def summary(self, name):
        tail = f", {self.skipped} skipped" if self.skipped else ""
        print(f"{name}: {self.passed} passed, {self.failed} failed{tail}")
        return 1 if self.failed else 0
