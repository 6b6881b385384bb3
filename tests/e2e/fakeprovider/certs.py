"""Throwaway CA and server certificate for the fake provider, made with the openssl CLI.

The server certificate covers every host name the tests and the benchmark point at 127.0.0.1.
"""
import os
import subprocess

HOSTS = ("api.openai.com", "static.example.test", "api.anthropic.com", "generativelanguage.googleapis.com",
         "us-central1-aiplatform.googleapis.com", "bedrock-runtime.us-east-1.amazonaws.com", "api.cohere.com",
         "api.groq.com", "api.mistral.ai")

_EXT = """basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
subjectAltName={sans}
"""


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def ensure_certs(directory):
    """Returns (ca_pem, server_pem, server_key) in `directory`, creating them if absent."""
    os.makedirs(directory, exist_ok=True)
    ca, cert, key = (os.path.join(directory, n) for n in ("ca.pem", "server.pem", "server.key"))
    if all(os.path.exists(p) for p in (ca, cert, key)):
        return ca, cert, key
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=shadowmeter e2e test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=" + HOSTS[0], cwd=directory)
    sans = ",".join(["DNS:" + h for h in HOSTS] + ["IP:127.0.0.1"])
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write(_EXT.format(sans=sans))
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
             cwd=directory)
    return ca, cert, key


if __name__ == "__main__":
    import sys
    print("\n".join(ensure_certs(sys.argv[1] if len(sys.argv) > 1 else ".")))
