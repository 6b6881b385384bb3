#!/usr/bin/env python3
"""Fake Kubernetes API server on loopback TLS: list + watch of pods and namespaces, for the pod watcher tests.

  server.py --cert-dir DIR --port-file FILE --pods PODS.json --namespaces NAMESPACES.json
            [--port 0] [--require-token TOKEN] [--start-rv 1000] [--min-rv 0] [--control-file FILE] [--verbose]

PODS.json / NAMESPACES.json hold a JSON list of objects (or a {"items": [...]} list object).
GET /api/v1/pods and /api/v1/namespaces answer a list (honouring fieldSelector=spec.nodeName=X for pods)
or, with watch=1&resourceVersion=RV, a chunked stream of {"type": ..., "object": ...} lines that stays
open until timeoutSeconds, /fake/close-watches or the end of the process. A watch from a resourceVersion
older than the minimum gets an ERROR event with code 410, as an API server whose history was compacted.

Test controls (no token needed):
  POST /fake/events         {"resource": "pods"|"namespaces", "type": "ADDED|MODIFIED|DELETED|ERROR",
                             "object": {...}, "silent": false} or a list of those. ADDED/MODIFIED/DELETED
                            change the state and get the next resourceVersion; "silent" changes the state
                            without telling the watches. ERROR goes to the open watches as it is.
  POST /fake/min-rv         {"min_rv": N} or {"min_rv": "current"}
  POST /fake/close-watches  the open watches end, as at their timeout
  GET  /fake/stats          request counters
The same controls can be appended to --control-file, one JSON object a line (read every 50 ms): an event
as above, {"control": "close-watches"} or {"control": "min-rv", "min_rv": N|"current"}.
"""
import argparse
import copy
import http.server
import json
import os
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakeprovider"))
import certs  # noqa: E402

RESOURCES = ("pods", "namespaces")
MAX_LOG = 10000


def _key(obj):
    meta = obj.get("metadata", {})
    return (meta.get("namespace", ""), meta.get("name", ""))


class State:
    def __init__(self, pods, namespaces, start_rv, min_rv):
        self.cond = threading.Condition()
        self.rv = start_rv
        self.min_rv = min_rv
        self.seq = 0
        self.log = []  # (seq, rv, resource, type, object)
        self.generation = 0
        self.objects = {r: {} for r in RESOURCES}
        self.stats = {"lists": {r: 0 for r in RESOURCES}, "watches": {r: 0 for r in RESOURCES},
                      "gone": 0, "unauthorized": 0, "open_watches": 0}
        for resource, items in (("pods", pods), ("namespaces", namespaces)):
            for obj in items:
                self._store(resource, "ADDED", obj)

    def _store(self, resource, kind, obj):
        """Applies a change (lock held); returns the object as sent to watches."""
        obj = copy.deepcopy(obj)
        self.rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
        if kind == "DELETED":
            self.objects[resource].pop(_key(obj), None)
        else:
            self.objects[resource][_key(obj)] = obj
        return obj

    def apply(self, event):
        resource, kind, obj = event.get("resource", "pods"), event["type"], event.get("object", {})
        if resource not in RESOURCES:
            raise ValueError("unknown resource " + resource)
        with self.cond:
            if kind == "ERROR":
                self._append(resource, kind, obj, self.rv)
            elif kind in ("ADDED", "MODIFIED", "DELETED"):
                stored = self._store(resource, kind, obj)
                if not event.get("silent"):
                    self._append(resource, kind, stored, self.rv)
            else:
                raise ValueError("unknown event type " + kind)
            self.cond.notify_all()

    def _append(self, resource, kind, obj, rv):
        self.seq += 1
        self.log.append((self.seq, rv, resource, kind, obj))
        del self.log[:-MAX_LOG]


def _matches(obj, node):
    return node is None or obj.get("spec", {}).get("nodeName") == node


def _node_of(query):
    for selector in query.get("fieldSelector", []):
        for term in selector.split(","):
            field, _, value = term.partition("=")
            if field == "spec.nodeName":
                return value
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakek8s/1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fakek8s: " + (fmt % args) + "\n")

    def _send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code, reason, message):
        self._send_json(code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": message, "reason": reason, "code": code})

    def do_POST(self):
        state = self.server.state
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path == "/fake/events":
                for event in body if isinstance(body, list) else [body]:
                    state.apply(event)
            elif path == "/fake/min-rv":
                with state.cond:
                    state.min_rv = state.rv if body["min_rv"] == "current" else int(body["min_rv"])
            elif path == "/fake/close-watches":
                with state.cond:
                    state.generation += 1
                    state.cond.notify_all()
            else:
                return self._status(404, "NotFound", "no such control")
        except (KeyError, ValueError, TypeError) as e:
            return self._status(400, "BadRequest", str(e))
        with state.cond:
            self._send_json(200, {"resourceVersion": str(state.rv)})


    def do_GET(self):
        state = self.server.state
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/fake/stats":
            with state.cond:
                return self._send_json(200, state.stats)
        resource = {"/api/v1/pods": "pods", "/api/v1/namespaces": "namespaces"}.get(url.path)
        if resource is None:
            return self._status(404, "NotFound", "the server could not find the requested resource")
        token = self.server.require_token
        if token is not None and self.headers.get("Authorization") != "Bearer " + token:
            with state.cond:
                state.stats["unauthorized"] += 1
            return self._status(401, "Unauthorized", "Unauthorized")
        node = _node_of(query) if resource == "pods" else None
        if query.get("watch", ["0"])[0] in ("1", "true"):
            return self._watch(state, resource, node, query)
        with state.cond:
            state.stats["lists"][resource] += 1
            items = [o for o in state.objects[resource].values() if _matches(o, node)]
            body = {"kind": "PodList" if resource == "pods" else "NamespaceList", "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(state.rv)}, "items": items}
        self._send_json(200, body)

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _watch(self, state, resource, node, query):
        try:
            since = int(query.get("resourceVersion", ["0"])[0] or "0")
            timeout = float(query.get("timeoutSeconds", ["300"])[0])
        except ValueError:
            return self._status(400, "BadRequest", "bad resourceVersion or timeoutSeconds")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with state.cond:
            state.stats["watches"][resource] += 1
            state.stats["open_watches"] += 1
            if since < state.min_rv:
                state.stats["gone"] += 1
                pending = [("ERROR", {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                      "message": "too old resource version", "reason": "Expired", "code": 410})]
                cursor = None
            else:
                pending = [(k, o) for (_, rv, r, k, o) in state.log if r == resource and rv > since and k != "ERROR"]
                cursor = state.seq
            generation = state.generation
        deadline = time.monotonic() + timeout
        try:
            while True:
                for kind, obj in pending:
                    if kind == "ERROR" or _matches(obj, node):
                        self._chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
                if cursor is None:
                    break
                with state.cond:
                    while (state.seq == cursor and state.generation == generation and not self.server.closing
                           and time.monotonic() < deadline):
                        state.cond.wait(0.2)
                    pending = [(k, o) for (s, _, r, k, o) in state.log if s > cursor and r == resource]
                    cursor = state.seq
                    ended = state.generation != generation or self.server.closing or time.monotonic() >= deadline
                if ended and not pending:
                    break
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            with state.cond:
                state.stats["open_watches"] -= 1


def control(state, command):
    """One line of the control file."""
    what = command.get("control")
    with state.cond:
        if what == "close-watches":
            state.generation += 1
            state.cond.notify_all()
            return
        if what == "min-rv":
            state.min_rv = state.rv if command["min_rv"] == "current" else int(command["min_rv"])
            return
    state.apply(command)


def follow_control_file(state, path, verbose):
    offset, partial = 0, b""
    while True:
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            data = b""
        offset += len(data)
        partial += data
        *lines, partial = partial.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            try:
                control(state, json.loads(line))
            except (KeyError, ValueError, TypeError) as e:
                sys.stderr.write("fakek8s: bad control line: %s\n" % e)
            if verbose:
                sys.stderr.write("fakek8s: control %s\n" % line.decode(errors="replace")[:200])
        time.sleep(0.05)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients that drop the connection or reject the certificate are part of the tests.
        if self.verbose:
            super().handle_error(request, client_address)


def _load(path):
    if not path:
        return []
    with open(path) as f:
        data = json.load(f)
    return data.get("items", []) if isinstance(data, dict) else data


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cert-dir", required=True)
    ap.add_argument("--port-file")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--pods")
    ap.add_argument("--namespaces")
    ap.add_argument("--require-token")
    ap.add_argument("--start-rv", type=int, default=1000)
    ap.add_argument("--min-rv", type=int, default=0)
    ap.add_argument("--control-file")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    _, cert, key = certs.ensure_certs(args.cert_dir)
    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State(_load(args.pods), _load(args.namespaces), args.start_rv, args.min_rv)
    server.require_token = args.require_token
    server.verbose = args.verbose
    server.closing = False
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    # The handshake happens in the request's thread, so a silent client cannot stall accept().
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    if args.control_file:
        threading.Thread(target=follow_control_file, args=(server.state, args.control_file, args.verbose),
                         daemon=True).start()
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, args.port_file)
    if args.verbose:
        sys.stderr.write("fakek8s: listening on 127.0.0.1:%d\n" % port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.closing = True
        server.server_close()


if __name__ == "__main__":
    main()
