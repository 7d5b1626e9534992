"""tests/checks.py — pass/fail counting for the Python test suites: each
check that fails prints `FAIL what`; summary() prints the suite's
`NAME: N passed, N failed` line (tests/run.sh reads it) and returns the
exit code. New suites import this instead of defining their own check()."""


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what}")
        return ok

    def summary(self, name):
        print(f"{name}: {self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0
