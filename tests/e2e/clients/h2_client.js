#!/usr/bin/env node
// HTTP/2 client on node's http2 module (node's statically linked OpenSSL): N requests as concurrent
// streams on ONE connection, to exercise stream multiplexing.
//
//   h2_client.js --port P --ca CA.pem [--host api.openai.com] [--path /v1/chat/completions]
//                [--body JSON] [--header k:v]... [--usage U]... [--count N] [--wait-stdin] [--print-body]
//
// Stream i gets the i-th --usage value (cycling) as its x-fake-usage header, so each stream can ask the
// fake provider for its own numbers. Prints a "READY pid=" line first (only with --wait-stdin, then
// waits for a line on stdin), then one JSON line per response, in stream order:
//   {"stream": i, "status": 200, "body_bytes": n, "usage": "..."|null}
// and with --print-body also "body" (text and JSON bodies) or "body_base64" (binary ones).
// Exits non-zero when a request fails or answers outside 2xx.
'use strict';
const dns = require('dns');
const fs = require('fs');
const http2 = require('http2');

// The host names of fakeprovider/certs.py; they resolve to the fake provider on loopback.
const FAKE_HOSTS = new Set([
  'api.openai.com', 'static.example.test', 'api.anthropic.com', 'generativelanguage.googleapis.com',
  'us-central1-aiplatform.googleapis.com', 'bedrock-runtime.us-east-1.amazonaws.com', 'api.cohere.com',
  'api.groq.com', 'api.mistral.ai',
]);
const DEFAULT_BODY = JSON.stringify({
  model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello (shadowmeter e2e).' }] });

function parseArgs(argv) {
  const a = { host: 'api.openai.com', path: '/v1/chat/completions', body: DEFAULT_BODY, method: 'POST',
              headers: [], usage: [], count: 1, timeout: 30 };
  const flags = { '--wait-stdin': 'waitStdin', '--print-body': 'printBody' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (flags[k]) { a[flags[k]] = true; continue; }
    const v = argv[++i];
    if (v === undefined) throw new Error('missing value for ' + k);
    switch (k) {
      case '--port': a.port = Number(v); break;
      case '--ca': a.ca = v; break;
      case '--host': a.host = v; break;
      case '--path': a.path = v; break;
      case '--body': JSON.parse(v); a.body = v; break;  // must be JSON
      case '--method': a.method = v; break;
      case '--header': {
        const colon = v.indexOf(':');
        if (colon <= 0) throw new Error('--header wants name:value, got ' + v);
        a.headers.push([v.slice(0, colon).trim().toLowerCase(), v.slice(colon + 1).trim()]);
        break;
      }
      case '--usage': a.usage.push(v); break;
      case '--count': a.count = Number(v); break;
      case '--timeout': a.timeout = Number(v); break;
      default: throw new Error('unknown flag ' + k);
    }
  }
  if (!a.port || !a.ca) throw new Error('--port and --ca are required');
  if (!Number.isInteger(a.count) || a.count < 1 || a.count > 100) throw new Error('--count must be 1..100');
  return a;
}

function lookup(host, options, callback) {
  return dns.lookup(FAKE_HOSTS.has(host) ? '127.0.0.1' : host, options, callback);
}

function request(session, a, i) {
  const usage = a.usage.length ? a.usage[i % a.usage.length] : null;
  const headers = { ':method': a.method, ':path': a.path, 'content-type': 'application/json',
                    authorization: 'Bearer sk-test-fake-key-0000' };
  for (const [k, v] of a.headers) headers[k] = v;
  if (usage) headers['x-fake-usage'] = usage;
  return new Promise((resolve) => {
    const out = { stream: i, status: 0, body_bytes: 0, usage };
    const parts = [];
    const req = session.request(headers);
    let type = '';
    req.on('response', (h) => { out.status = h[':status']; type = h['content-type'] || ''; });
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      out.body_bytes = body.length;
      // Binary bodies (application/vnd.amazon.eventstream) would not survive a JSON string.
      if (a.printBody && /^text\/|json/.test(type)) out.body = body.toString();
      else if (a.printBody) out.body_base64 = body.toString('base64');
      resolve(out);
    });
    req.on('error', (e) => resolve({ ...out, error: String(e) }));
    req.end(a.method === 'GET' ? undefined : a.body);
  });
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.waitStdin) {
    console.log(`READY pid=${process.pid}`);
    await new Promise((r) => process.stdin.once('data', r));
  }
  const session = http2.connect(`https://${a.host}:${a.port}`,
                                { ca: fs.readFileSync(a.ca), servername: a.host, lookup });
  session.on('error', (e) => { console.error('session error: ' + e); process.exit(1); });
  const timer = setTimeout(() => { console.error('timed out'); process.exit(1); }, a.timeout * 1000);
  // All requests go out at once, before any answer: concurrent streams of one connection.
  const results = await Promise.all(Array.from({ length: a.count }, (_, i) => request(session, a, i)));
  clearTimeout(timer);
  session.close();
  for (const r of results) console.log(JSON.stringify(r));
  process.exit(results.every((r) => !r.error && r.status >= 200 && r.status < 300) ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(1); });
