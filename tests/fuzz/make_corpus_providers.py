#!/usr/bin/env python3
"""Seeds for tests/fuzz/corpus/fuzz_providers (format: see fuzz_providers.cpp). Rerun only to change them."""
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_providers")


def w(name, ep, piece, flags, req, resp):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([ep, piece, flags]) + req + b"\0" + resp)


def es(event, payload):
    h = b""
    for k, v in ((b":event-type", event), (b":content-type", b"application/json"), (b":message-type", b"event")):
        h += bytes([len(k)]) + k + b"\x07" + struct.pack(">H", len(v)) + v
    pre = struct.pack(">II", 16 + len(h) + len(payload), len(h))
    m = pre + struct.pack(">I", zlib.crc32(pre)) + h + payload
    return m + struct.pack(">I", zlib.crc32(m))


def main():
    chat_req = b'{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}'
    w("openai_json", 0, 7, 0, chat_req, b'{"id":"c1","model":"gpt-4o-2024-08-06","choices":[{"message":{"content":"Hello"}}],"usage":{"prompt_tokens":5,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1}}}')
    w("openai_sse", 0, 3, 1, chat_req, b'data: {"id":"c1","choices":[{"delta":{"content":"Hi"},"finish_reason":"stop"}]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}\n\ndata: [DONE]\n\n')
    w("responses_sse", 1, 5, 1, b'{"model":"gpt-5","input":"x"}', b'event: response.completed\ndata: {"type":"response.completed","response":{"id":"r","usage":{"input_tokens":3,"output_tokens":4,"output_tokens_details":{"reasoning_tokens":2}}}}\n\n')
    w("anthropic_sse", 4, 9, 1, b'{"model":"claude","stream":true}', b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"claude-x","usage":{"input_tokens":5,"cache_read_input_tokens":3,"output_tokens":1}}}\n\nevent: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":9}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n')
    w("anthropic_json", 4, 11, 0, b'{"model":"claude"}', b'{"id":"m","model":"claude-x","usage":{"input_tokens":5,"cache_creation_input_tokens":7,"output_tokens":2}}')
    w("gemini_array", 7, 13, 0, b'{"contents":[]}', b'[{"candidates":[{"content":{"parts":[{"text":"a"}]}}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":1}}\n,{"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":3,"thoughtsTokenCount":2},"modelVersion":"gemini-2.5-pro"}]')
    w("vertex_sse", 8, 2, 1, b"{}", b'data: {"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":3,"cachedContentTokenCount":1},"modelVersion":"m"}\r\n\r\n')
    w("bedrock_stream", 11, 17, 3, b'{"messages":[]}', es(b"messageStart", b'{"role":"assistant"}') + es(b"contentBlockDelta", b'{"delta":{"text":"hi"}}') + es(b"metadata", b'{"usage":{"inputTokens":3,"outputTokens":2,"cacheReadInputTokens":1}}'))
    w("bedrock_converse", 10, 40, 0, b"{}", b'{"output":{},"usage":{"inputTokens":3,"outputTokens":2,"cacheWriteInputTokens":4},"metrics":{"latencyMs":5}}')
    w("cohere_sse", 14, 6, 1, b'{"model":"command-r","stream":true}', b'event: message-end\ndata: {"type":"message-end","delta":{"usage":{"billed_units":{"input_tokens":4,"output_tokens":2}}}}\n\n')
    w("ollama_ndjson", 16, 4, 2, b'{"model":"llama3"}', b'{"model":"llama3","message":{"content":"a"},"done":false}\n{"model":"llama3","done":true,"prompt_eval_count":6,"eval_count":2}\n')


if __name__ == "__main__":
    main()
