#!/usr/bin/env python3
"""systemd/shadowmeter-{agent,collector}.service: `systemd-analyze verify` passes without a warning,
the hardening keeps its exposure score, and the layout the package relies on holds (binaries in
/usr/bin, state directories, user, capabilities, Type=notify with a watchdog).

verify wants ExecStart to name an existing executable: the units are copied into a temporary
directory with only the ExecStart binary path replaced by the built one.
Usage: test_units.py UNIT_DIR AGENT_BINARY COLLECTOR_BINARY. Exit 77 (skip) without systemd-analyze.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

AGENT_CAPS = {"CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH", "CAP_SYS_RESOURCE"}
# Exposure scores of `systemd-analyze security` (0 = locked down, 10 = unprotected) the units must not
# exceed: the agent needs its capabilities and every process visible, the collector needs nothing.
MAX_EXPOSURE = {"shadowmeter-agent": 4.5, "shadowmeter-collector": 2.0}

WANT = {
    "shadowmeter-agent": {
        "Type": "notify", "Restart": "on-failure", "StateDirectory": "shadowmeter",
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
        "ProtectControlGroups": "yes", "ProtectKernelTunables": "yes", "SystemCallArchitectures": "native",
        "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
    },
    "shadowmeter-collector": {
        "Type": "notify", "Restart": "on-failure", "StateDirectory": "shadowmeter-collector",
        "User": "shadowmeter", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
        "PrivateTmp": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
        "SystemCallArchitectures": "native", "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
    },
}
CONFIG = {"shadowmeter-agent": "/etc/shadowmeter/agent.yaml", "shadowmeter-collector": "/etc/shadowmeter/collector.yaml"}

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def settings(text):
    """[Service] key -> last value (systemd: a later assignment of a single-valued key wins)."""
    out, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]" and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def check_layout(name, text):
    s = settings(text)
    for k, v in WANT[name].items():
        if s.get(k) != v:
            fail("%s: %s=%r, want %r" % (name, k, s.get(k), v))
    want_exec = "/usr/bin/%s --config %s" % (name, CONFIG[name])
    if s.get("ExecStart") != want_exec:
        fail("%s: ExecStart=%r, want %r" % (name, s.get("ExecStart"), want_exec))
    wd = re.fullmatch(r"(\d+)s", s.get("WatchdogSec", ""))
    if not wd or int(wd.group(1)) < 4:
        fail("%s: WatchdogSec=%r, want seconds >= 4" % (name, s.get("WatchdogSec")))
    if name == "shadowmeter-agent":
        for key in ("CapabilityBoundingSet", "AmbientCapabilities"):
            got = set(s.get(key, "").split())
            if got != AGENT_CAPS:
                fail("%s: %s=%s, want exactly %s" % (name, key, sorted(got), sorted(AGENT_CAPS)))
        if "User" in s and s["User"] not in ("root", "0"):
            fail("%s: runs as User=%s, the layout wants root's uid" % (name, s["User"]))
        for key in ("ProtectProc", "ProcSubset"):  # the agent must see every process
            if s.get(key, "default") not in ("default", "all"):
                fail("%s: %s=%s hides processes from the agent" % (name, key, s[key]))


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    unit_dir, agent, collector = sys.argv[1:]
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("SKIP: systemd-analyze not installed (apt-get install systemd)")
        return 77
    binaries = {"shadowmeter-agent": agent, "shadowmeter-collector": collector}
    with tempfile.TemporaryDirectory(prefix="sm-units-") as tmp:
        copies = []
        for name, binary in binaries.items():
            with open(os.path.join(unit_dir, name + ".service")) as f:
                text = f.read()
            check_layout(name, text)
            prefix = "ExecStart=/usr/bin/%s " % name
            if text.count(prefix) != 1:
                fail("%s: no single line starting with %r" % (name, prefix))
                continue
            copy = os.path.join(tmp, name + ".service")
            with open(copy, "w") as f:
                f.write(text.replace(prefix, "ExecStart=%s " % os.path.abspath(binary)))
            copies.append((name, copy))
            # ExecStart's flags must exist: --help lists --config.
            out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
            if out.returncode != 0 or "--config" not in out.stdout:
                fail("%s --help: rc %d, no --config in:\n%s" % (binary, out.returncode, out.stdout + out.stderr))

        # The man pages of Documentation= come with the package, not this tree.
        out = subprocess.run([analyze, "verify", "--man=no", *[c for _, c in copies]],
                             capture_output=True, text=True, timeout=120)
        print("systemd-analyze verify: rc %d\n%s%s" % (out.returncode, out.stdout, out.stderr))
        if out.returncode != 0:
            fail("systemd-analyze verify failed (rc %d)" % out.returncode)
        # Unknown keys and bad values are only warnings to verify: any line about our units fails.
        noise = [l for l in (out.stdout + out.stderr).splitlines() if "shadowmeter" in l]
        if noise:
            fail("systemd-analyze verify warned:\n  " + "\n  ".join(noise))

        for name, copy in copies:
            out = subprocess.run([analyze, "security", "--offline=yes", "--no-pager", copy],
                                 capture_output=True, text=True, timeout=120)
            m = re.search(r"Overall exposure level for %s\.service: ([0-9.]+)" % name, out.stdout)
            if not m:
                fail("%s: no exposure level in systemd-analyze security output:\n%s%s"
                     % (name, out.stdout[-2000:], out.stderr))
                continue
            score = float(m.group(1))
            print("%s: exposure %.1f (at most %.1f)" % (name, score, MAX_EXPOSURE[name]))
            if score > MAX_EXPOSURE[name]:
                fail("%s: exposure %.1f > %.1f" % (name, score, MAX_EXPOSURE[name]))
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("OK: both units verify, keep their hardening and the package layout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
