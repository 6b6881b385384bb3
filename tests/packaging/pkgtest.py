"""Shared helpers of the packaging tests: where the source and build trees are, running commands
with their output shown on failure, and the skip convention (exit 77, as the e2e harness)."""
import os
import subprocess
import sys

SOURCE_DIR = os.environ.get("SM_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("SM_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))


def skip(reason):
    print("SKIP: " + reason, flush=True)
    sys.exit(77)


def run(cmd, check=True, **kw):
    """Runs cmd (a list), returns the CompletedProcess with text stdout/stderr; raises with both
    shown when check is set and it fails."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    p = subprocess.run(cmd, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


class Checks:
    """Collects failed assertions so one run reports all of them."""

    def __init__(self):
        self.failures = []
        self.passed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failures.append(what)
            print("FAIL: " + what, flush=True)
        return cond

    def finish(self, name):
        if self.failures:
            print("%s: %d checks failed, %d passed" % (name, len(self.failures), self.passed))
            sys.exit(1)
        print("%s: all %d checks passed" % (name, self.passed))
        sys.exit(0)
