"""The Debian package: cpack builds it from the build tree; lintian finds no error; it installs with
apt (dependencies included) into a fresh debootstrap of Debian 12; there the postinst created the
shadowmeter user, the state directories and a token pair, and started nothing; `shadowmeter-agent
check` prints its OK/FAIL lines; the collector answers --help and --version; reinstalling keeps the
tokens; purging removes the state.

debootstrap (about 3 minutes) is cached as a tarball in the build tree, keyed on mirror and suite;
each run unpacks a pristine copy."""
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkgtest import BUILD_DIR, Checks, run, skip  # noqa: E402

SUITE = "bookworm"
c = Checks()
t0 = time.monotonic()

if os.geteuid() != 0:
    skip("needs root (debootstrap, chroot, mounts)")
for tool in ("debootstrap", "lintian", "dpkg-deb", "dpkg-shlibdeps"):
    if not shutil.which(tool):
        skip("%s is not installed (packaging/scripts/install-deps.sh installs it)" % tool)


def debian_mirror():
    """The Debian mirror this machine's apt uses (deb822 .sources or one-line lists)."""
    if os.environ.get("SM_DEBIAN_MIRROR"):
        return os.environ["SM_DEBIAN_MIRROR"]
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in open(path).read().split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and SUITE in suites.group(1).split() and "security" not in uris.group(1):
                return uris.group(1)
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if os.path.exists(path):
            for line in open(path):
                m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+%s\s" % SUITE, line)
                if m:
                    return m.group(1)
    return "http://deb.debian.org/debian"


def timed(label, start):
    print("time: %s %.1f s" % (label, time.monotonic() - start), flush=True)


# 1. Build the package.
work = tempfile.mkdtemp(prefix="sm-deb-", dir=BUILD_DIR)
cpack = os.environ.get("SM_CPACK") or shutil.which("cpack")
start = time.monotonic()
run([cpack, "-G", "DEB", "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake"), "-B", os.path.join(work, "cpack")])
debs = glob.glob(os.path.join(work, "cpack", "*.deb"))
timed("cpack", start)
assert len(debs) == 1, "cpack made %r" % debs
deb = debs[0]
print("package: %s (%d bytes)" % (os.path.basename(deb), os.path.getsize(deb)))

info = run(["dpkg-deb", "-f", deb]).stdout
print(info)
contents = run(["dpkg-deb", "-c", deb]).stdout
files = {line.split()[-1].lstrip(".") for line in contents.splitlines() if line.strip()}
for path in ("/usr/bin/shadowmeter-agent", "/usr/bin/shadowmeter-collector", "/usr/share/shadowmeter/catalog.yaml",
             "/usr/share/shadowmeter/default_prices.json", "/etc/shadowmeter/agent.yaml", "/etc/shadowmeter/collector.yaml",
             "/lib/systemd/system/shadowmeter-agent.service", "/lib/systemd/system/shadowmeter-collector.service",
             "/usr/share/doc/shadowmeter/copyright", "/usr/share/doc/shadowmeter/changelog.gz",
             "/usr/share/man/man1/shadowmeter-agent.1.gz", "/usr/share/man/man1/shadowmeter-collector.1.gz"):
    c.check(path in files, "the package contains %s" % path)
depends = re.search(r"^Depends: (.*)$", info, re.M)
deps = depends.group(1) if depends else ""
for pkg in ("adduser", "libc6", "libssl3", "libbpf1"):
    c.check(re.search(r"(^|, )%s( |,|$)" % re.escape(pkg), deps), "Depends names %s (shlibdeps): %s" % (pkg, deps))
control_dir = os.path.join(work, "control")
run(["dpkg-deb", "-e", deb, control_dir])
with open(os.path.join(control_dir, "conffiles")) as f:
    c.check(set(f.read().split()) == {"/etc/shadowmeter/agent.yaml", "/etc/shadowmeter/collector.yaml"},
            "conffiles are agent.yaml and collector.yaml")
# The agent finds its catalog and prices under the package's prefix.
with open(os.path.join(BUILD_DIR, "agent", "shadowmeter-agent"), "rb") as f:
    c.check(b"/usr/share/shadowmeter" in f.read(), "the agent was built with prefix /usr (configure with -DCMAKE_INSTALL_PREFIX=/usr)")

# 2. lintian: no errors.
start = time.monotonic()
lint = run(["lintian", "--tag-display-limit", "0", "--info", "--display-experimental", deb], check=False)
timed("lintian", start)
print("lintian:\n" + (lint.stdout + lint.stderr).strip())
errors = [line for line in lint.stdout.splitlines() if line.startswith("E:")]
c.check(not errors, "lintian errors: %s" % errors)

# 3. A fresh Debian 12, from the cache when there is one.
mirror = debian_mirror()
key = hashlib.sha256(("%s %s minbase" % (mirror, SUITE)).encode()).hexdigest()[:16]
cache_dir = os.path.join(BUILD_DIR, "packaging-cache")
os.makedirs(cache_dir, exist_ok=True)
tarball = os.path.join(cache_dir, "debootstrap-%s-%s.tar" % (SUITE, key))
root = os.path.join(work, "root")
start = time.monotonic()
if not os.path.exists(tarball):
    fresh = os.path.join(cache_dir, "debootstrap-tmp")
    shutil.rmtree(fresh, ignore_errors=True)
    p = run(["debootstrap", "--variant=minbase", SUITE, fresh, mirror], check=False)
    if p.returncode != 0:
        print(p.stdout[-3000:], p.stderr[-3000:])
        raise AssertionError("debootstrap from %s failed" % mirror)
    run(["tar", "-C", fresh, "-cf", tarball + ".tmp", "."])
    os.rename(tarball + ".tmp", tarball)
    shutil.rmtree(fresh)
    timed("debootstrap (now cached in %s)" % tarball, start)
os.makedirs(root)
run(["tar", "-C", root, "-xf", tarball])
timed("chroot ready", start)

mounts = []


def mount(src, dst, *opts):
    target = root + dst
    os.makedirs(target, exist_ok=True)
    run(["mount"] + list(opts) + [src, target])
    mounts.append(target)


def chroot(*cmd, check=True):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}
    return run(["chroot", root] + list(cmd), check=check, env=env)


try:
    mount("proc", "/proc", "-t", "proc")
    mount("/sys", "/sys", "--rbind")
    run(["mount", "--make-rslave", root + "/sys"])
    shutil.copy("/etc/resolv.conf", root + "/etc/resolv.conf")
    shutil.copy(deb, root + "/tmp/shadowmeter.deb")

    # 4. Install with its dependencies.
    start = time.monotonic()
    chroot("apt-get", "update", "-qq")
    p = chroot("apt-get", "install", "-y", "-q", "--no-install-recommends", "/tmp/shadowmeter.deb", check=False)
    print(p.stdout[-4000:], p.stderr[-2000:])
    timed("apt-get install", start)
    if not c.check(p.returncode == 0, "apt-get install of the package succeeds"):
        c.finish("test_deb")

    # 5. The postinst: user, directories, tokens; nothing started.
    pw = chroot("getent", "passwd", "shadowmeter", check=False).stdout.strip().split(":")
    c.check(len(pw) == 7 and int(pw[2]) < 1000 and pw[5] == "/var/lib/shadowmeter-collector" and pw[6] == "/usr/sbin/nologin",
            "system user shadowmeter (home /var/lib/shadowmeter-collector, nologin): %r" % pw)
    group = chroot("getent", "group", "shadowmeter", check=False).stdout
    c.check(group.startswith("shadowmeter:"), "group shadowmeter exists")

    def stat(path):
        return chroot("stat", "-c", "%a %U %G", path, check=False).stdout.strip()

    c.check(stat("/var/lib/shadowmeter") == "700 root root", "/var/lib/shadowmeter 0700 root: %s" % stat("/var/lib/shadowmeter"))
    c.check(stat("/var/lib/shadowmeter-collector") == "750 shadowmeter shadowmeter",
            "/var/lib/shadowmeter-collector 0750 shadowmeter: %s" % stat("/var/lib/shadowmeter-collector"))
    c.check(stat("/etc/shadowmeter/collector.tokens") == "640 root shadowmeter",
            "collector.tokens 0640 root:shadowmeter: %s" % stat("/etc/shadowmeter/collector.tokens"))
    c.check(stat("/etc/shadowmeter/agent.token") == "600 root root", "agent.token 0600 root: %s" % stat("/etc/shadowmeter/agent.token"))
    tokens = open(root + "/etc/shadowmeter/collector.tokens").read()
    c.check(re.fullmatch(r"[0-9a-f]{64}\n", tokens) and open(root + "/etc/shadowmeter/agent.token").read() == tokens,
            "one random 256-bit token, the same for agent and collector")
    started = []
    for exe in glob.glob("/proc/[0-9]*/exe"):
        try:
            if os.readlink(exe).startswith(root):
                started.append(exe)
        except OSError:
            pass
    c.check(not started, "the postinst started nothing: %r" % started)
    c.check(not os.path.exists(root + "/run/systemd/system"), "the chroot is not booted with systemd (the case the postinst must not start in)")
    for unit in ("shadowmeter-agent.service", "shadowmeter-collector.service"):
        c.check(os.path.lexists(root + "/etc/systemd/system/multi-user.target.wants/" + unit) and
                os.path.exists(root + "/var/lib/systemd/deb-systemd-helper-enabled/%s.dsh-also" % unit),
                "%s is enabled for the next boot through deb-systemd-helper" % unit)

    # 6. The binaries run there.
    check = chroot("shadowmeter-agent", "check", check=False)
    lines = check.stdout.splitlines()
    verdicts = [line for line in lines if re.match(r"^(OK|FAIL)\s+\S", line)]
    print("shadowmeter-agent check (exit %d):\n%s\n%s" % (check.returncode, check.stdout, check.stderr))
    c.check(len(verdicts) >= 3, "shadowmeter-agent check prints OK/FAIL lines")
    c.check(any("btf" in line.lower() for line in verdicts), "the check covers BTF")
    version = chroot("shadowmeter-collector", "--version", check=False)
    c.check(version.returncode == 0 and re.match(r"shadowmeter-collector \d+\.\d+\.\d+", version.stdout),
            "shadowmeter-collector --version: %r" % version.stdout)
    helptext = chroot("shadowmeter-collector", "--help", check=False)
    c.check(helptext.returncode == 0 and "--listen" in helptext.stdout, "shadowmeter-collector --help lists --listen")
    agent_version = chroot("shadowmeter-agent", "--version", check=False)
    c.check(agent_version.returncode == 0 and agent_version.stdout.startswith("shadowmeter-agent "), "shadowmeter-agent --version")
    # The shipped configs load (a bad flag applied after the file is then the only complaint).
    p = chroot("shadowmeter-agent", "--config", "/etc/shadowmeter/agent.yaml", "--ringbuf-bytes=3", check=False)
    c.check("ringbuf" in p.stderr and "agent.yaml" not in p.stderr, "the shipped agent.yaml loads: %s" % p.stderr.strip())
    p = chroot("shadowmeter-collector", "--config", "/etc/shadowmeter/collector.yaml", "--max-body-bytes=1", check=False)
    c.check("max-body-bytes" in p.stderr and "collector.yaml" not in p.stderr, "the shipped collector.yaml loads: %s" % p.stderr.strip())

    # 7. Reinstall: the postinst runs again and keeps the tokens and the user.
    p = chroot("apt-get", "install", "-y", "-q", "--reinstall", "/tmp/shadowmeter.deb", check=False)
    c.check(p.returncode == 0, "reinstall succeeds: %s" % p.stderr[-500:])
    c.check(open(root + "/etc/shadowmeter/collector.tokens").read() == tokens, "reinstall keeps the token")

    # 8. Purge: state and tokens go.
    p = chroot("apt-get", "purge", "-y", "-q", "shadowmeter", check=False)
    c.check(p.returncode == 0, "purge succeeds: %s" % p.stderr[-500:])
    for path in ("/var/lib/shadowmeter", "/var/lib/shadowmeter-collector", "/etc/shadowmeter",
                 "/etc/systemd/system/multi-user.target.wants/shadowmeter-agent.service",
                 "/var/lib/systemd/deb-systemd-helper-enabled/shadowmeter-agent.service.dsh-also"):
        c.check(not os.path.exists(root + path), "purge removed %s" % path)
finally:
    for target in reversed(mounts):
        subprocess.run(["umount", "-R", "-l", target])
    still = [m for m in open("/proc/mounts").read().split("\n") if root in m]
    if not still:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("left %s in place: still mounted %r" % (work, still))

timed("test_deb total", t0)
c.finish("test_deb")
