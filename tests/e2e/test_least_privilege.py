"""The agent with only the capabilities systemd/shadowmeter-agent.service grants it (CAP_BPF,
CAP_PERFMON, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_SYS_RESOURCE; no CAP_SYS_ADMIN, CAP_NET_ADMIN,
CAP_DAC_OVERRIDE...), set with setpriv as root's uid: it captures a curl call, `check` reports each
capability, and without tracefs (which it cannot mount without CAP_SYS_ADMIN) it refuses to start
with a message that says so.

Kernels with commit ba677dbe77af ("perf: Revert to requiring CAP_SYS_ADMIN for uprobes": Linux 6.16
and the stable kernels of mid 2025) create uprobes through perf events only for CAP_SYS_ADMIN. The
agent attaches with BPF uprobe-multi links instead where the kernel has them (Linux 6.6+), which these
capabilities allow: there the call must be captured in full. Only a kernel with neither (a stable
kernel before 6.6 with that commit) gets a connection-level event, and that case is skipped with the
reason."""
import os
import platform
import shutil
import subprocess
import sys
import unittest

import harness
from harness import E2ECase, Agent, response_ids, usage_arg

# setpriv's names and the capability bits (linux/capability.h).
CAPS = {"bpf": 39, "perfmon": 38, "sys_ptrace": 19, "dac_read_search": 2, "sys_resource": 24}
BLOCKING = ("bpf", "perfmon", "sys_ptrace", "dac_read_search")


def cap_mask(status_path, field):
    with open(status_path) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1], 16)
    raise AssertionError("no %s in %s" % (field, status_path))


def kernel_version():
    """(major, minor) of the running kernel."""
    parts = platform.release().split(".")
    return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)


class LeastPrivilege(E2ECase):
    start_agent = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls._set_up()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def _set_up(cls):
        if not shutil.which("setpriv"):
            raise RuntimeError("setpriv (util-linux) is needed: packaging/scripts/install-deps.sh installs it")
        # Only capabilities this test itself holds can be handed on (some sandboxes withhold
        # CAP_SYS_RESOURCE, which the agent does not need on kernels with memcg-accounted BPF maps).
        bounding = cap_mask("/proc/self/status", "CapBnd")
        cls.caps = [c for c, bit in CAPS.items() if bounding >> bit & 1]
        cls.withheld = [c for c in CAPS if c not in cls.caps]
        if cls.withheld:
            print("note: this machine withholds %s from root; testing without it" % ", ".join(cls.withheld),
                  file=sys.stderr)
        missing = [c for c in BLOCKING if c not in cls.caps]
        if missing:
            raise RuntimeError("this test needs %s in its own bounding set" % missing)
        cls.mask = sum(1 << CAPS[c] for c in cls.caps)
        # The host's tracefs, as systemd mounts it at boot: the agent cannot mount it with these caps.
        if not os.path.isdir("/sys/kernel/tracing/events") and not os.path.isdir("/sys/kernel/debug/tracing/events"):
            subprocess.run(["mount", "-t", "tracefs", "tracefs", "/sys/kernel/tracing"], check=True)
        caps = ",".join("+" + c for c in cls.caps)
        cls.wrapper = os.path.join(cls.workdir, "agent-least-privilege.sh")
        with open(cls.wrapper, "w") as f:
            f.write('#!/bin/sh\nexec setpriv --reuid=0 --regid=0 --clear-groups --inh-caps=-all,%s '
                    '--ambient-caps=-all,%s --bounding-set=-all,%s -- %s "$@"\n' % (caps, caps, caps, harness.AGENT))
        os.chmod(cls.wrapper, 0o755)
        out = subprocess.run([cls.wrapper, "check"], capture_output=True, text=True, timeout=60)
        cls.check_rc, cls.check_out = out.returncode, out.stdout
        print(out.stdout, file=sys.stderr)
        cls.check_lines = out.stdout.splitlines()
        cls.uprobe_multi = any(l.startswith("OK   uprobes through BPF uprobe-multi links (TLS plaintext capture): "
                                            "attached a test link") for l in cls.check_lines)
        cls.perf_uprobes = any(l.startswith("OK   uprobes through perf events (TLS plaintext capture): "
                                            "created a test uprobe") for l in cls.check_lines)
        saved, harness.AGENT = harness.AGENT, cls.wrapper
        try:
            cls.agent = Agent(cls.workdir, extra_args=["--kubernetes", "false"])
        finally:
            harness.AGENT = saved

    def test_runs_with_only_its_capabilities(self):
        status = "/proc/%d/status" % self.agent.proc.pid
        for field in ("CapEff", "CapPrm", "CapBnd"):
            self.assertEqual(cap_mask(status, field), self.mask, "%s of the agent" % field)

    def test_uprobe_multi_where_the_kernel_has_it(self):
        if kernel_version() < (6, 6):
            self.skipTest("Linux %s predates uprobe-multi links (6.6)" % platform.release())
        self.assertTrue(self.uprobe_multi, self.check_out)
        self.assertIn("TLS uprobes: attaching with BPF uprobe-multi links", self.agent.stderr())

    def test_captures_curl(self):
        usage = (311, 47, 0, 0)
        pid, out = self.call("curl", "--usage", usage_arg(*usage))
        ev, = self.events_of(pid)
        self.assertEqual(self.agent.proc.poll(), None)
        if self.uprobe_multi or self.perf_uprobes or kernel_version() >= (6, 6):
            # Tokens, shadowmeter.tls.library openssl, shadowmeter.visibility plaintext: full capture.
            self.assert_openai_event(ev, pid=pid, exe="curl", usage=usage, response_id=response_ids(out)[0])
            return
        # A kernel before 6.6 that still took ba677dbe77af: no uprobes without CAP_SYS_ADMIN. The
        # connection is still metered, and the agent said why at start.
        want = {"process.pid": pid, "process.executable.name": "curl", "gen_ai.provider.name": "openai",
                "server.address": "api.openai.com", "server.port": self.server.port,
                "shadowmeter.visibility": "connection_only"}
        self.assertEqual({k: ev.get(k) for k in want}, want, ev)
        self.assertIn("warning: uprobes through perf events (TLS plaintext capture): perf_event_open(uprobe): "
                      "Permission denied", self.agent.stderr())
        self.skipTest("Linux %s has no uprobe-multi links and creates perf uprobes only for CAP_SYS_ADMIN: "
                      "checked the connection-level event only" % platform.release())

    def test_check_names_each_capability(self):
        lines = self.check_lines
        self.assertEqual(self.check_rc, 0, self.check_out)
        for c in self.caps:
            name = "CAP_" + c.upper()
            self.assertTrue(any(l.startswith("OK   capability %s: held" % name) for l in lines), name)
        for c in self.withheld:
            name = "CAP_" + c.upper()
            self.assertTrue(any(l.startswith("FAIL capability %s: missing" % name) for l in lines), name)
        self.assertTrue(any(l.startswith("OK   BPF programs load") for l in lines), self.check_out)
        self.assertTrue(any(l.startswith("OK   tracepoints used: ") for l in lines), self.check_out)
        if self.uprobe_multi:
            self.assertTrue(any(l.startswith("OK   BPF programs load") and l.endswith("TLS uprobes through uprobe-multi links")
                                for l in lines), self.check_out)
        if not self.uprobe_multi and not self.perf_uprobes:
            self.assertIn("FAIL uprobes through perf events (TLS plaintext capture): perf_event_open(uprobe): "
                          "Permission denied\n     fix: this kernel creates perf uprobes only for CAP_SYS_ADMIN",
                          self.check_out)
        # The TLS uprobe lines fail only when neither way works (which needs a kernel before 6.6).
        uprobe_lines_may_fail = kernel_version() < (6, 6)
        self.assertFalse(any(l.startswith("FAIL") for l in lines if "CAP_SYS_RESOURCE" not in l and
                             "hostPID" not in l and "cgroup" not in l and
                             not (uprobe_lines_may_fail and "TLS plaintext capture" in l)), self.check_out)

    def test_without_tracefs_refuses_to_start_and_says_why(self):
        """In a mount namespace of its own without tracefs (and without debugfs, which would offer it)."""
        hide = ("for m in /sys/kernel/debug/tracing /sys/kernel/debug /sys/kernel/tracing; do "
                "mountpoint -q $m && umount -l $m; done; exec \"$@\"")
        base = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", hide, "sh", self.wrapper]
        out = subprocess.run([*base, "check"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"(?m)^FAIL tracefs: cannot mount tracefs at /sys/kernel/tracing: "
                                     r"Operation not permitted\n     fix: mount it on the host")
        out = subprocess.run([*base, "--catalog", harness.CATALOG, "--kubernetes", "false",
                              "--fingerprint-secret-file", os.path.join(self.workdir, "fingerprint.key")],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("this host cannot run the agent:\n  tracefs: cannot mount tracefs at /sys/kernel/tracing", out.stderr)


if __name__ == "__main__":
    unittest.main()
