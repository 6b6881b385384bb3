"""packaging/docker/Dockerfile installs, in each runtime image, exactly the Debian packages that own
the shared libraries the built binary needs (its DT_NEEDED entries, resolved by ldd, owners by
dpkg -S). The image itself is not built here (no Docker engine on the test machines)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkgtest import BUILD_DIR, SOURCE_DIR, Checks, run  # noqa: E402

c = Checks()
docker_dir = os.path.join(SOURCE_DIR, "packaging", "docker")
with open(os.path.join(docker_dir, "Dockerfile")) as f:
    dockerfile = f.read()


def needed_packages(binary):
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run(["readelf", "-d", binary]).stdout)
    resolved = {}
    for line in run(["ldd", binary]).stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            resolved[m.group(1)] = m.group(2)
    packages = set()
    for lib in needed:
        path = resolved.get(lib)
        if not c.check(path and path != "not", "%s: ldd resolves %s" % (binary, lib)):
            continue
        real = os.path.realpath(path)
        # dpkg knows a file by the path its package ships; with merged /usr that may be /lib or /usr/lib.
        candidates = [path, real] + [p.replace("/usr/lib/", "/lib/", 1) for p in (path, real) if p.startswith("/usr/lib/")] \
            + ["/usr" + p for p in (path, real) if p.startswith("/lib/")]
        owner = None
        for cand in candidates:
            p = run(["dpkg", "-S", cand], check=False)
            if p.returncode == 0:
                owner = p.stdout.split(":")[0].strip()
                break
        if c.check(owner, "%s: a Debian package owns %s (%s)" % (binary, lib, path)):
            packages.add(owner)
    return packages


for target, arg, binary in (
        ("agent", "AGENT_LIBRARY_PACKAGES", os.path.join(BUILD_DIR, "agent", "shadowmeter-agent")),
        ("collector", "COLLECTOR_LIBRARY_PACKAGES", os.path.join(BUILD_DIR, "collectors", "shadowmeter-collector"))):
    if not c.check(os.path.exists(binary), "%s is built" % binary):
        continue
    m = re.search(r'^ARG %s="([^"]*)"' % arg, dockerfile, re.M)
    if not c.check(m, "Dockerfile declares ARG %s" % arg):
        continue
    listed = set(m.group(1).split())
    want = needed_packages(binary)
    c.check(listed == want, "Dockerfile %s: missing %s, not needed %s (the binary needs: %s)"
            % (arg, sorted(want - listed), sorted(listed - want), " ".join(sorted(want))))
    stage = re.search(r"^FROM debian:bookworm-slim AS %s\n(.*?)(?=^FROM |\Z)" % target, dockerfile, re.M | re.S)
    if c.check(stage, "Dockerfile has a slim %s stage" % target):
        body = stage.group(1)
        c.check("ARG %s\n" % arg in body and "${%s}" % arg in body, "%s stage installs ${%s}" % (target, arg))
        c.check("COPY --from=build /out/usr/bin/shadowmeter-%s " % target in body, "%s stage copies the installed binary" % target)
        user = re.search(r"^USER (\S+)", body, re.M)
        if target == "agent":
            c.check(user and user.group(1).split(":")[0] == "0", "agent image runs as uid 0 (capabilities come from the pod)")
        else:
            c.check(user and user.group(1).split(":")[0] not in ("0", "root"), "collector image runs as a non-root user")

# The builder installs to /out with the package layout (binaries in /usr/bin).
c.check("-DCMAKE_INSTALL_PREFIX=/usr" in dockerfile and "DESTDIR=/out cmake --install" in dockerfile,
        "builder installs with prefix /usr into /out")
with open(os.path.join(SOURCE_DIR, "agent", "CMakeLists.txt")) as f:
    c.check("install(TARGETS shadowmeter-agent RUNTIME DESTINATION bin)" in f.read(), "the agent installs to bin/")
ignores = [open(os.path.join(docker_dir, n)).read() for n in (".dockerignore", "Dockerfile.dockerignore")]
c.check(ignores[0] == ignores[1], ".dockerignore and Dockerfile.dockerignore are the same")
for pattern in (".git", "build*/"):
    c.check(pattern in ignores[0].split(), ".dockerignore leaves out %s" % pattern)

c.finish("test_dockerfile")
