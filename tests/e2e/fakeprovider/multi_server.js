#!/usr/bin/env node
// Fake AI providers on loopback TLS, one port speaking HTTP/2 (ALPN h2) and HTTP/1.1, each answering in
// its provider's documented wire format (tests/e2e/test_providers.py drives it):
//
//   OpenAI    POST /v1/chat/completions              (host api.openai.com; also api.mistral.ai, and
//             POST /openai/v1/chat/completions       api.groq.com)           JSON, or SSE with "stream"
//   Anthropic POST /v1/messages                                              JSON, or named SSE events
//   Gemini    POST /v1beta/models/{m}:generateContent | :streamGenerateContent?alt=sse
//   Vertex AI POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:(stream)GenerateContent
//   Bedrock   POST /model/{id}/converse (JSON) | /model/{id}/converse-stream (vnd.amazon.eventstream)
//   Cohere    POST /v2/chat                                              JSON, or named SSE events
//
//   multi_server.js --cert-dir DIR --port-file FILE [--port 0] [--verbose]
//
// Test-only request headers steer the answer so tests can assert exact numbers:
//   x-fake-usage: input=..,output=..,cache_read=..,cache_write=..,reasoning=..
//       The NORMALISED figures the agent must report (input includes cache reads and writes, output
//       includes reasoning). Each provider's body carries them in its own terms: Anthropic and Bedrock
//       report input without the cache parts, Gemini reports candidates without thoughts, and so on.
//       A part the format has no field for is simply not sent (Groq, Mistral, Cohere carry no parts).
//   x-fake-status: 429     answer with that provider's error body and this status
//   x-fake-bad-crc: 1      corrupt the message CRC of the Bedrock stream's "metadata" message
// Certificates come from certs.py (created in --cert-dir when missing). Only node built-ins are used.
'use strict';
const crypto = require('crypto');
const childProcess = require('child_process');
const fs = require('fs');
const http2 = require('http2');
const path = require('path');
const zlib = require('zlib');

const DEFAULT_USAGE = { input: 11, output: 7, cache_read: 0, cache_write: 0, reasoning: 0 };
const MAX_REQUEST_BODY = 1 << 20;
const TEXT = ['Hello', ' from the fake', ' provider.'];
const STREAM_PACE_MS = 2;  // separate writes (TLS records, DATA frames) as a real stream has
// Request model -> model named in the answer (dated snapshots, as the real APIs answer).
const MODEL_VERSIONS = {
  'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
  'gpt-4o': 'gpt-4o-2024-08-06',
  'claude-sonnet-4-5': 'claude-sonnet-4-5-20250929',
  'claude-3-5-haiku-latest': 'claude-3-5-haiku-20241022',
  'gemini-2.0-flash': 'gemini-2.0-flash-001',
};
const responseModel = (m) => MODEL_VERSIONS[m] || m;

class BadRequest extends Error {}

function parseArgs(argv) {
  const a = { port: 0, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--verbose') { a.verbose = true; continue; }
    const v = argv[++i];
    if (v === undefined) throw new Error('missing value for ' + k);
    if (k === '--cert-dir') a.certDir = v;
    else if (k === '--port-file') a.portFile = v;
    else if (k === '--port') a.port = Number(v);
    else throw new Error('unknown flag ' + k);
  }
  if (!a.certDir) throw new Error('--cert-dir is required');
  return a;
}

function parseUsage(header) {
  const u = { ...DEFAULT_USAGE };
  for (const part of (header || '').split(',').filter(Boolean)) {
    const [k, v] = part.split('=').map((s) => s.trim());
    if (!(k in u) || !/^\d+$/.test(v || '')) throw new BadRequest('bad x-fake-usage part: ' + part);
    u[k] = Number(v);
  }
  if (u.cache_read + u.cache_write > u.input) throw new BadRequest('x-fake-usage: cache parts exceed input');
  if (u.reasoning > u.output) throw new BadRequest('x-fake-usage: reasoning exceeds output');
  return u;
}

const hex = (n) => crypto.randomBytes(n).toString('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const compact = (obj) => JSON.stringify(obj);

// ---- responses ---------------------------------------------------------------------------------

function sendJson(res, status, obj, headers = {}) {
  const body = Buffer.from(JSON.stringify(obj, null, 2));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...headers });
  res.end(body);
}

// Writes the pieces one by one, paced; HTTP/1.1 gets chunked encoding, HTTP/2 one DATA frame each.
async function sendStream(res, contentType, pieces, headers = {}) {
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', ...headers });
  for (const p of pieces) {
    if (res.destroyed) return;
    res.write(p);
    await sleep(STREAM_PACE_MS);
  }
  res.end();
}

const sse = (data, event) => (event ? `event: ${event}\n` : '') + `data: ${data}\n\n`;

// ---- OpenAI and OpenAI-compatible (Groq, Mistral) ----------------------------------------------

function openaiUsage(flavour, u) {
  const base = { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output };
  if (flavour === 'groq') {
    return { queue_time: 0.021, prompt_tokens: u.input, prompt_time: 0.004, completion_tokens: u.output,
             completion_time: 0.03, total_tokens: u.input + u.output, total_time: 0.034 };
  }
  if (flavour === 'mistral') return base;
  const prompt = { cached_tokens: u.cache_read, audio_tokens: 0 };
  if (u.cache_write) prompt.cache_write_tokens = u.cache_write;
  return { ...base, prompt_tokens_details: prompt,
           completion_tokens_details: { reasoning_tokens: u.reasoning, audio_tokens: 0,
                                        accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } };
}

function openaiError(res, flavour, status) {
  const code = status === 429 ? 'rate_limit_exceeded' : null;
  if (flavour === 'mistral') {
    return sendJson(res, status, { object: 'error', message: 'Requests rate limit exceeded', type: code,
                                   param: null, code: String(status) });
  }
  sendJson(res, status, { error: { message: 'fake error', type: status === 429 ? 'requests' : 'invalid_request_error',
                                   param: null, code } });
}

function openaiChat(ctx, flavour) {
  const { req, res, usage } = ctx;
  if (ctx.status !== 200) return openaiError(res, flavour, ctx.status);
  const id = flavour === 'mistral' ? hex(16) : 'chatcmpl-' + hex(12);
  const common = { id, object: 'chat.completion', created: Math.floor(Date.now() / 1000),
                   model: responseModel(req.model || 'gpt-4o-mini') };
  if (flavour === 'openai') common.system_fingerprint = 'fp_0123456789';
  const usageObj = openaiUsage(flavour, usage);
  const headers = { 'x-request-id': 'req_' + hex(8) };
  if (!req.stream) {
    const body = { ...common, choices: [{ index: 0, message: { role: 'assistant', content: TEXT.join('') },
                                          logprobs: null, finish_reason: 'stop' }], usage: usageObj };
    if (flavour === 'groq') body.x_groq = { id: 'req_' + hex(8) };
    return sendJson(res, 200, body, headers);
  }
  // OpenAI sends usage only with stream_options.include_usage, in an extra chunk with empty choices
  // (every other chunk then says "usage": null). Groq puts it under x_groq.usage of the finish chunk
  // (and honours include_usage too); Mistral puts it on the finish chunk, always.
  const includeUsage = Boolean(req.stream_options && req.stream_options.include_usage);
  const chunk = (choices, extra = {}) => {
    const c = { ...common, object: 'chat.completion.chunk', choices, ...extra };
    if (includeUsage && !('usage' in c)) c.usage = null;
    return c;
  };
  const delta = (d, finish = null) => [{ index: 0, delta: d, logprobs: null, finish_reason: finish }];
  const events = [chunk(delta({ role: 'assistant', content: '' }))];
  for (const t of TEXT) events.push(chunk(delta({ content: t })));
  const finishExtra = {};
  if (flavour === 'groq') finishExtra.x_groq = { id: 'req_' + hex(8), usage: usageObj };
  if (flavour === 'mistral') finishExtra.usage = usageObj;
  events.push(chunk(delta({}, 'stop'), finishExtra));
  if (includeUsage && flavour !== 'mistral') events.push(chunk([], { usage: usageObj }));
  const pieces = events.map((e) => sse(compact(e)));
  pieces.push(sse('[DONE]'));
  return sendStream(res, 'text/event-stream; charset=utf-8', pieces, headers);
}

// ---- Anthropic ---------------------------------------------------------------------------------

function anthropicUsage(u) {
  return { input_tokens: u.input - u.cache_read - u.cache_write,
           cache_creation_input_tokens: u.cache_write, cache_read_input_tokens: u.cache_read,
           cache_creation: { ephemeral_5m_input_tokens: u.cache_write, ephemeral_1h_input_tokens: 0 },
           output_tokens: u.output, service_tier: 'standard' };
}

function anthropicMessages(ctx) {
  const { req, res, usage } = ctx;
  const headers = { 'request-id': 'req_01' + hex(11) };
  if (ctx.status !== 200) {
    const type = { 400: 'invalid_request_error', 401: 'authentication_error', 429: 'rate_limit_error',
                   529: 'overloaded_error' }[ctx.status] || 'api_error';
    return sendJson(res, ctx.status, { type: 'error', error: { type, message: 'fake error' } }, headers);
  }
  const message = { id: 'msg_01' + hex(11), type: 'message', role: 'assistant',
                    model: responseModel(req.model || 'claude-sonnet-4-5') };
  if (!req.stream) {
    return sendJson(res, 200, { ...message, content: [{ type: 'text', text: TEXT.join('') }],
                                stop_reason: 'end_turn', stop_sequence: null, usage: anthropicUsage(usage) },
                    headers);
  }
  // message_start carries input and cache counts and a placeholder output_tokens; message_delta's
  // output_tokens is cumulative (the total, not an increment).
  const ev = (name, obj) => sse(compact({ type: name, ...obj }), name);
  const pieces = [
    ev('message_start', { message: { ...message, content: [], stop_reason: null, stop_sequence: null,
                                     usage: { ...anthropicUsage(usage), output_tokens: 1 } } }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ev('ping', {}),
    ...TEXT.map((t) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: t } })),
    ev('content_block_stop', { index: 0 }),
    ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null },
                          usage: { output_tokens: usage.output } }),
    ev('message_stop', {}),
  ];
  return sendStream(res, 'text/event-stream; charset=utf-8', pieces, headers);
}

// ---- Gemini and Vertex AI ----------------------------------------------------------------------

function geminiUsage(u, vertex, final) {
  // promptTokenCount includes cached content; candidatesTokenCount excludes thoughts. Zero parts
  // are left out, as the API does. Before the last chunk candidatesTokenCount is absent.
  const m = { promptTokenCount: u.input };
  if (final) m.candidatesTokenCount = u.output - u.reasoning;
  m.totalTokenCount = u.input + (final ? u.output : u.reasoning);
  if (u.cache_read) m.cachedContentTokenCount = u.cache_read;
  if (u.reasoning) m.thoughtsTokenCount = u.reasoning;
  m.promptTokensDetails = [{ modality: 'TEXT', tokenCount: u.input }];
  if (vertex) m.trafficType = 'ON_DEMAND';
  return m;
}

function gemini(ctx, vertex, model, method, query) {
  const { res, usage } = ctx;
  if (ctx.status !== 200) {
    const status = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 429: 'RESOURCE_EXHAUSTED' }[ctx.status]
      || 'INTERNAL';
    return sendJson(res, ctx.status, { error: { code: ctx.status, message: 'fake error', status } });
  }
  const ids = { modelVersion: responseModel(model), responseId: crypto.randomBytes(17).toString('base64url') };
  if (vertex) ids.createTime = new Date().toISOString();
  const candidate = (text, final) => {
    const c = { content: { parts: [{ text }], role: 'model' } };
    if (final) c.finishReason = 'STOP';
    if (!vertex) c.index = 0;
    return c;
  };
  if (method === 'generateContent') {
    return sendJson(res, 200, { candidates: [candidate(TEXT.join(''), true)],
                                usageMetadata: geminiUsage(usage, vertex, true), ...ids });
  }
  // Every chunk repeats usageMetadata as running totals; only the last one is complete.
  const chunks = TEXT.map((t, i) => {
    const final = i === TEXT.length - 1;
    return { candidates: [candidate(t, final)], usageMetadata: geminiUsage(usage, vertex, final), ...ids };
  });
  if (new URLSearchParams(query).get('alt') === 'sse') {
    return sendStream(res, 'text/event-stream', chunks.map((c) => `data: ${compact(c)}\r\n\r\n`));
  }
  // Without alt=sse the stream is one JSON array, sent piece by piece.
  const pieces = chunks.map((c, i) => (i ? ',\r\n' : '[') + JSON.stringify(c, null, 2));
  pieces.push(']');
  return sendStream(res, 'application/json; charset=UTF-8', pieces);
}

// ---- Bedrock -----------------------------------------------------------------------------------

function bedrockUsage(u) {
  // inputTokens leaves out cache reads and writes, which come apart (when present).
  const m = { inputTokens: u.input - u.cache_read - u.cache_write, outputTokens: u.output,
              totalTokens: u.input + u.output };
  if (u.cache_read) m.cacheReadInputTokens = u.cache_read;
  if (u.cache_write) m.cacheWriteInputTokens = u.cache_write;
  return m;
}

function esStringHeader(name, value) {
  const n = Buffer.from(name);
  const v = Buffer.from(value);
  const b = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
  b.writeUInt8(n.length, 0);
  n.copy(b, 1);
  b.writeUInt8(7, 1 + n.length);  // type 7: string, u16 BE length
  b.writeUInt16BE(v.length, 2 + n.length);
  v.copy(b, 4 + n.length);
  return b;
}

// One application/vnd.amazon.eventstream message: total length, headers length, prelude CRC32,
// headers, payload, message CRC32 (over everything before it).
function esMessage(eventType, payload, badCrc = false) {
  const headers = Buffer.concat([esStringHeader(':event-type', eventType),
                                 esStringHeader(':content-type', 'application/json'),
                                 esStringHeader(':message-type', 'event')]);
  const body = Buffer.from(compact(payload));
  const total = 12 + headers.length + body.length + 4;
  const msg = Buffer.alloc(total);
  msg.writeUInt32BE(total, 0);
  msg.writeUInt32BE(headers.length, 4);
  msg.writeUInt32BE(zlib.crc32(msg.subarray(0, 8)), 8);
  headers.copy(msg, 12);
  body.copy(msg, 12 + headers.length);
  const crc = zlib.crc32(msg.subarray(0, total - 4));
  msg.writeUInt32BE(badCrc ? (crc ^ 0xffffffff) >>> 0 : crc, total - 4);
  return msg;
}

function bedrock(ctx, action) {
  const { res, usage } = ctx;
  const headers = { 'x-amzn-requestid': crypto.randomUUID() };
  if (ctx.status !== 200) {
    const type = ctx.status === 429 ? 'ThrottlingException' : 'ValidationException';
    return sendJson(res, ctx.status, { message: 'Too many requests, please wait before trying again.' },
                    { ...headers, 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });
  }
  const metrics = { latencyMs: 321 };
  if (action === 'converse') {
    return sendJson(res, 200, { metrics, output: { message: { role: 'assistant', content: [{ text: TEXT.join('') }] } },
                                stopReason: 'end_turn', usage: bedrockUsage(usage) }, headers);
  }
  // Real payloads carry a "p" field of filler so event sizes do not reveal the text length.
  const p = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0'.slice(0, 20);
  const messages = [
    esMessage('messageStart', { p, role: 'assistant' }),
    ...TEXT.map((t) => esMessage('contentBlockDelta', { contentBlockIndex: 0, delta: { text: t }, p })),
    esMessage('contentBlockStop', { contentBlockIndex: 0, p }),
    esMessage('messageStop', { p, stopReason: 'end_turn' }),
    esMessage('metadata', { metrics, p, usage: bedrockUsage(usage) }, ctx.headers['x-fake-bad-crc'] === '1'),
  ];
  return sendStream(res, 'application/vnd.amazon.eventstream', messages, headers);
}

// ---- Cohere v2 ---------------------------------------------------------------------------------

function cohereUsage(u) {
  // Billed units are what is charged; "tokens" also counts the prompt template the API adds.
  return { billed_units: { input_tokens: u.input, output_tokens: u.output },
           tokens: { input_tokens: u.input + 215, output_tokens: u.output + 2 } };
}

function cohereChat(ctx) {
  const { req, res, usage } = ctx;
  if (ctx.status !== 200) {
    return sendJson(res, ctx.status, { message: ctx.status === 429 ? 'too many requests' : 'fake error' });
  }
  const id = crypto.randomUUID();
  if (!req.stream) {
    return sendJson(res, 200, { id, message: { role: 'assistant', content: [{ type: 'text', text: TEXT.join('') }] },
                                finish_reason: 'COMPLETE', usage: cohereUsage(usage) });
  }
  const ev = (type, obj) => sse(compact({ type, ...obj }), type);
  const pieces = [
    ev('message-start', { id, delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [],
                                                   citations: [] } } }),
    ev('content-start', { index: 0, delta: { message: { content: { type: 'text', text: '' } } } }),
    ...TEXT.map((t) => ev('content-delta', { index: 0, delta: { message: { content: { text: t } } } })),
    ev('content-end', { index: 0 }),
    ev('message-end', { delta: { finish_reason: 'COMPLETE', usage: cohereUsage(usage) } }),
  ];
  return sendStream(res, 'text/event-stream', pieces);
}

// ---- routing -----------------------------------------------------------------------------------

// The provider handler for a path (host only tells the OpenAI-compatible flavours apart), or null.
function route(pathname, query, host) {
  if (pathname === '/v1/chat/completions') {
    return (ctx) => openaiChat(ctx, host === 'api.mistral.ai' ? 'mistral' : 'openai');
  }
  if (pathname === '/openai/v1/chat/completions') return (ctx) => openaiChat(ctx, 'groq');
  if (pathname === '/v1/messages') return anthropicMessages;
  if (pathname === '/v2/chat') return cohereChat;
  const method = '(generateContent|streamGenerateContent)$';
  let m = pathname.match(new RegExp('^/v1beta/models/([^/:]+):' + method));
  if (m) return (ctx) => gemini(ctx, false, decodeURIComponent(m[1]), m[2], query);
  m = pathname.match(new RegExp('^/v1/projects/[^/]+/locations/[^/]+/publishers/google/models/([^/:]+):' + method));
  if (m) return (ctx) => gemini(ctx, true, decodeURIComponent(m[1]), m[2], query);
  m = pathname.match(/^\/model\/([^/]+)\/(converse|converse-stream)$/);
  if (m) return (ctx) => bedrock(ctx, m[2]);
  return null;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let size = 0;
    req.on('data', (d) => {
      size += d.length;
      if (size > MAX_REQUEST_BODY) {
        reject(new BadRequest('request body over ' + MAX_REQUEST_BODY + ' bytes'));
        req.destroy();
        return;
      }
      parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

// Connection numbers for the log, so a test can see which requests shared a connection.
const connections = new WeakMap();
let lastConnection = 0;
function connectionOf(req) {
  const key = req.stream ? req.stream.session : req.socket;  // HTTP/2 session or HTTP/1.1 socket
  if (!key) return 0;
  if (!connections.has(key)) connections.set(key, ++lastConnection);
  return connections.get(key);
}

async function handle(req, res, verbose) {
  const authority = req.headers[':authority'] || req.headers.host || '';
  const host = authority.replace(/:\d+$/, '').toLowerCase();
  const [pathname, query = ''] = req.url.split('?', 2);
  if (verbose) {
    const conn = connectionOf(req);
    res.on('finish', () => process.stderr.write(
      `multi_server: conn=${conn} ${req.method} ${host}${req.url} HTTP/${req.httpVersion} -> ${res.statusCode}\n`));
  }
  try {
    const handler = req.method === 'POST' ? route(pathname, query, host) : null;
    if (!handler) return sendJson(res, 404, { error: { message: `no fake provider for ${req.method} ${pathname}` } });
    const raw = await readBody(req);
    const body = raw.length ? JSON.parse(raw.toString()) : {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequest('body is not an object');
    }
    const ctx = { req: body, res, headers: req.headers,
                  usage: parseUsage(req.headers['x-fake-usage']),
                  status: Number(req.headers['x-fake-status'] || 200) };
    if (!Number.isInteger(ctx.status) || ctx.status < 200 || ctx.status > 599) {
      throw new BadRequest('bad x-fake-status');
    }
    await handler(ctx);
  } catch (e) {
    if (!(e instanceof BadRequest || e instanceof SyntaxError)) throw e;
    if (!res.headersSent && !res.destroyed) sendJson(res, 400, { error: { message: 'fake provider: ' + e.message } });
  }
}

function ensureCerts(dir) {
  const files = ['ca.pem', 'server.pem', 'server.key'].map((n) => path.join(dir, n));
  if (!files.every((f) => fs.existsSync(f))) {
    childProcess.execFileSync('python3', [path.join(__dirname, 'certs.py'), dir],
                              { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return { cert: fs.readFileSync(files[1]), key: fs.readFileSync(files[2]) };
}

function main() {
  const a = parseArgs(process.argv.slice(2));
  const server = http2.createSecureServer({ ...ensureCerts(a.certDir), allowHTTP1: true }, (req, res) => {
    handle(req, res, a.verbose).catch((e) => {
      process.stderr.write('multi_server: handler failed: ' + (e && e.stack) + '\n');
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: { message: 'fake provider failed' } });
      else res.destroy();
    });
  });
  // Clients that close abruptly (curl resets an HTTP/2 connection it is done with) are no news.
  const quiet = (what) => (e) => {
    if (a.verbose && e.code !== 'ECONNRESET') process.stderr.write(`multi_server: ${what}: ${e.message}\n`);
  };
  server.on('tlsClientError', quiet('TLS error'));
  server.on('sessionError', quiet('session error'));
  server.listen(a.port, '127.0.0.1', () => {
    const port = server.address().port;
    if (a.portFile) {
      fs.writeFileSync(a.portFile + '.tmp', String(port));
      fs.renameSync(a.portFile + '.tmp', a.portFile);
    }
    console.log('PORT ' + port);
  });
  process.on('SIGTERM', () => process.exit(0));
}

main();
