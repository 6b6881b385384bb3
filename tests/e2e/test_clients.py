"""Real clients calling the fake OpenAI: curl, python urllib, node fetch; processes started before the
agent; a process in its own mount namespace with its own copy of libssl."""
import os
import shutil
import time
import unittest

from harness import PYTHON, E2ECase, response_ids, usage_arg


def system_libssl():
    import ssl  # noqa: F401  (maps libssl into this process)
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and "/libssl" in parts[5]:
                return parts[5]
    raise unittest.SkipTest("no libssl mapped into the test process")


def need_node(case):
    if not shutil.which("node"):
        print("SKIP: node is not installed")
        case.skipTest("node is not installed")


class TestClients(E2ECase):
    def test_curl_openai(self):
        t0 = time.time_ns()
        pid, out = self.call("curl", "--usage", usage_arg(123, 45, 7, 3))
        ev, = self.events_of(pid)
        self.assert_openai_event(ev, pid=pid, exe="curl", usage=(123, 45, 7, 3),
                                 response_id=response_ids(out)[0], since_ns=t0, script="curl")

    def test_python_urllib_openai(self):
        t0 = time.time_ns()
        pid, out = self.call("python", "--usage", usage_arg(211, 52, 17, 9))
        ev, = self.events_of(pid)
        self.assert_openai_event(ev, pid=pid, exe=PYTHON, usage=(211, 52, 17, 9),
                                 response_id=response_ids(out)[0], since_ns=t0,
                                 script="python_client.py")

    def test_node_fetch_openai(self):
        need_node(self)
        t0 = time.time_ns()
        pid, out = self.call("node", "--usage", usage_arg(307, 61, 0, 12))
        ev, = self.events_of(pid)
        self.assert_openai_event(ev, pid=pid, exe="node", usage=(307, 61, 0, 12),
                                 response_id=response_ids(out)[0], since_ns=t0,
                                 script="node_client.js")

    def run_with_libssl_copy(self, usage, *args):
        """A python client in its own mount namespace with its own copy of libssl bind-mounted over
        the system one (a new inode the agent must find and attach to)."""
        syslib = system_libssl()
        copy = os.path.join(self.workdir, "libssl-%d" % usage[0], os.path.basename(syslib))
        os.makedirs(os.path.dirname(copy), exist_ok=True)
        shutil.copy2(syslib, copy)
        self.assertNotEqual(os.stat(copy).st_ino, os.stat(syslib).st_ino)
        # Same pid all the way: unshare and sh exec, they do not fork.
        wrap = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", copy, syslib]
        proc = self.start_client("python", "--usage", usage_arg(*usage), *args, wrap=wrap)
        _, _, inode, path = self.read_line(proc, "LIBSSL").split()
        out = self.finish_client(proc)
        self.assertEqual(path, syslib)
        self.assertEqual(int(inode), os.stat(copy).st_ino, "client did not map the copy")
        ev, = self.events_of(proc.pid)
        self.assert_openai_event(ev, pid=proc.pid, exe=PYTHON, usage=usage,
                                 response_id=response_ids(out)[0])

    def test_mount_namespace_libssl_copy(self):
        # --delay: the agent attaches to a newly mapped file within tens of milliseconds.
        self.run_with_libssl_copy((401, 73, 11, 5), "--delay", "1")

    def test_libssl_copy_loaded_late(self):
        """The same, but libssl is mapped half a second after exec (a program that imports ssl late
        or dlopens its TLS library on first use); the call comes one second after that."""
        self.run_with_libssl_copy((421, 79, 0, 0), "--import-delay", "0.5", "--delay", "1")


class TestStartedBeforeAgent(E2ECase):
    start_agent = False

    def test_started_before_agent(self):
        """python (shared libssl) and node (static OpenSSL) load TLS, block, then call once the
        agent is ready."""
        go = os.path.join(self.workdir, "go")
        clients = [("python", PYTHON, (503, 81, 13, 0))]
        if shutil.which("node"):
            clients.append(("node", "node", (509, 83, 0, 21)))
        procs = []
        for kind, exe, usage in clients:
            proc = self.start_client(kind, "--usage", usage_arg(*usage), "--wait-file", go)
            self.read_line(proc, "READY")
            procs.append((proc, exe, usage))
        type(self).restart_agent()
        open(go, "w").close()
        for proc, exe, usage in procs:
            out = self.finish_client(proc)
            ev, = self.events_of(proc.pid)
            self.assert_openai_event(ev, pid=proc.pid, exe=exe, usage=usage,
                                     response_id=response_ids(out)[0])
        if len(clients) == 1:
            self.skipTest("node is not installed (python part passed)")


if __name__ == "__main__":
    unittest.main(verbosity=2)
