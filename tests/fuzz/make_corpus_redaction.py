#!/usr/bin/env python3
"""Seeds for tests/fuzz/corpus/fuzz_redaction (format: see fuzz_redaction.cpp: six prefix bytes, then
NUL-separated argv). Rerun only to change them."""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_redaction")


def w(name, mode, key, before, after, at, length, *argv):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([mode, key, before, after, at, length]) + b"\0".join(a.encode() for a in argv) + b"\0")


if __name__ == "__main__":
    w("curl_headers", 1, 0, 0, 0, 200, 40, "curl", "-H", "x-api-key: sk-ant-api03-abc", "-H",
      "Authorization: Bearer tok", "-d", '{"messages":[{"role":"user","content":"hi"}]}', "https://api.openai.com/v1")
    w("python_json_args", 1, 1, 3, 3, 128, 60, "python3", "-c", "import sys; print(sys.argv)", "api.anthropic.com",
      "/v1/messages", '{"model": "claude", "max_tokens": 5}', '{"anthropic-version": "2023-06-01", "x-api-key": "k"}')
    w("claude_prompt", 1, 2, 0, 0, 90, 20, "node", "/usr/local/bin/claude", "-p", "refactor the billing module")
    w("env_style", 0, 3, 4, 0, 10, 80, "env", "OPENAI_API_KEY=abc", "AWS_SECRET_ACCESS_KEY=x", "python3", "app.py")
    w("yaml_text", 2, 4, 8, 8, 40, 10, "app", "api_key: abc\nmodel: gpt-4o\n", "https://h/v1?key=AIza&alt=sse")
    w("url_userinfo", 0, 7, 2, 9, 255, 255, "psql", "postgresql://bob:hunter2@db:5432/app", "--token", "t")
