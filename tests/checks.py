"""tests/checks.py — pass/fail counting for the Python test suites: each
check that fails prints `FAIL what`, skip() counts (and prints) a check
that cannot run here; summary() prints the suite's `NAME: N passed,
N failed[, N skipped]` line (tests/run.sh reads it) and returns the exit
code. New suites import this instead of defining their own check()."""


class Checks:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def __call__(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what}")
        return ok

    def skip(self, what, n=1):
        self.skipped += n
        print(f"SKIP {what}")

    def summary(self, name):
        tail = f", {self.skipped} skipped" if self.skipped else ""
        print(f"{name}: {self.passed} passed, {self.failed} failed{tail}")
        return 1 if self.failed else 0
