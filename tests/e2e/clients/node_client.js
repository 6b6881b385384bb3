#!/usr/bin/env node
// node fetch client (undici over node's statically linked OpenSSL), flags as in common.py.
// The CA comes from NODE_EXTRA_CA_CERTS (read at start-up). Name resolution is redirected in-process by
// patching dns.lookup, which node 20's net/tls connect path (and so fetch) calls at connect time.
'use strict';
const dns = require('dns');
const fs = require('fs');

const FAKE_HOSTS = new Set(['api.openai.com', 'static.example.test']);
const lookup = dns.lookup;
dns.lookup = function (host, options, callback) {
  return lookup.call(this, FAKE_HOSTS.has(host) ? '127.0.0.1' : host, options, callback);
};

function parseArgs(argv) {
  const a = { host: 'api.openai.com', model: 'gpt-4o-mini', usage: [], pad: 0, delay: 0 };
  const flags = { '--stream': 'stream', '--include-usage': 'includeUsage', '--gzip': 'gzip',
                  '--wait-stdin': 'waitStdin', '--quiet': 'quiet' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (flags[k]) { a[flags[k]] = true; continue; }
    const v = argv[++i];
    switch (k) {
      case '--port': a.port = Number(v); break;
      case '--ca': a.ca = v; break;  // informational: node reads NODE_EXTRA_CA_CERTS
      case '--host': a.host = v; break;
      case '--model': a.model = v; break;
      case '--usage': a.usage.push(v); break;
      case '--pad': a.pad = Number(v); break;
      case '--static': a.static = Number(v); break;
      case '--wait-file': a.waitFile = v; break;
      case '--delay': a.delay = Number(v); break;
      default: throw new Error('unknown flag ' + k);
    }
  }
  if (!a.port) throw new Error('--port is required');
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitBeforeCall(a) {
  console.log(`READY pid=${process.pid}`);
  if (a.waitStdin) await new Promise((r) => process.stdin.once('data', r));
  if (a.waitFile) while (!fs.existsSync(a.waitFile)) await sleep(50);
  if (a.delay) await sleep(a.delay * 1000);
}

async function call(a, usage) {
  const base = `https://${a.host}:${a.port}`;
  if (a.static !== undefined) {
    const r = await fetch(`${base}/static/${a.static}`);
    return { status: r.status, body_bytes: (await r.arrayBuffer()).byteLength };
  }
  const body = { model: a.model, messages: [{ role: 'user', content: 'Say hello (shadowmeter e2e).' }] };
  if (a.stream) {
    body.stream = true;
    if (a.includeUsage) body.stream_options = { include_usage: true };
  }
  const headers = { 'content-type': 'application/json', authorization: 'Bearer sk-test-fake-key-0000' };
  if (usage) headers['x-fake-usage'] = usage;
  if (a.gzip) headers['x-fake-gzip'] = '1';  // fetch already sends accept-encoding: gzip, deflate
  if (a.pad) headers['x-fake-pad'] = String(a.pad);
  const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await r.text();
  const out = { status: r.status, usage: usage || null, body_bytes: text.length };
  if (!a.quiet) out.body = text;
  return out;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.waitStdin || a.waitFile || a.delay) await waitBeforeCall(a);
  let ok = true;
  for (const u of a.usage.length ? a.usage : [null]) {
    const r = await call(a, u);
    ok = ok && r.status >= 200 && r.status < 300;
    console.log(JSON.stringify(r));
  }
  process.exit(ok ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(1); });
