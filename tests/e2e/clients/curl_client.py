#!/usr/bin/env python3
"""curl client: builds the curl command line and execs curl, so the caller's pid becomes curl's.

Waiting (--wait-*) happens before the exec, i.e. before curl loads libssl. Several --usage values
become several calls on one keep-alive connection (curl --next).
"""
import os
import sys

import common


def main():
    args = common.parser(__doc__).parse_args()
    if args.wait_stdin or args.wait_file or args.delay:
        common.wait_before_call(args)
    base = ["--silent", "--show-error", "--fail-with-body", "--http1.1", "--cacert", args.ca,
            "--resolve", "%s:%d:127.0.0.1" % (args.host, args.port)]
    if args.quiet:
        base += ["--output", "/dev/null", "--write-out", "%{http_code} %{size_download}\n"]
    cmd = ["curl"]
    for i, usage in enumerate(args.usage or [None]):
        cmd += (["--next"] if i else []) + base
        if args.static is not None:
            cmd.append(common.url(args))
            break
        for k, v in common.request_headers(args, usage).items():
            if k != "Accept-Encoding":
                cmd += ["-H", "%s: %s" % (k, v)]
        if args.gzip:
            cmd.append("--compressed")  # sends Accept-Encoding with gzip and decodes the body
        cmd += ["--data-binary", common.request_body(args).decode(), common.url(args)]
    sys.stdout.flush()
    os.execvp("curl", cmd)


if __name__ == "__main__":
    main()
