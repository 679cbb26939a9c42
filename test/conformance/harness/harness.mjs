// Conformance capture harness: a mock LLM provider whose token rules are the
// ground truth, and an OTLP/HTTP sink that records every export request as it
// arrived. It runs one instrumented app and writes, into OUT_DIR:
//   requests/NNNN-<signal>.<pb|json>   each OTLP request body, in arrival order
//   ledger.jsonl                       one line per provider request served
//   calls.jsonl                        what the app declared per call (user, expectations)
//
// Usage: node harness.mjs <out-dir> -- <command> [args...]
// The app gets MOCK_URL (provider base URL), OTLP_URL (OTLP/HTTP base URL)
// and CALLS_FILE (append its declarations there).
//
// Token rules. The last user message carries a directive such as
//   [[call=7 in=120 out=30 cache_read=64 cache_write=0 reasoning=10 error=429 tool=get_weather]]
// Tokens are given in the OpenTelemetry GenAI convention: input includes
// cache reads and writes, output includes reasoning. Each provider shape is
// then rendered as that provider documents it:
//   OpenAI chat:      prompt_tokens = in (cached inside), completion_tokens = out (reasoning inside)
//   OpenAI responses: input_tokens = in, output_tokens = out, with *_details
//   Anthropic:        input_tokens = in - cache_read - cache_write, cache_* separate, output_tokens = out
//   Bedrock Converse: inputTokens = in - cache_read - cache_write, cache*InputTokens separate
// Without a directive: in = 10 + words in the request's messages, out = 8.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import zlib from 'node:zlib';

const args = process.argv.slice(2);
const sep = args.indexOf('--');
if (sep < 1) {
  console.error('usage: node harness.mjs <out-dir> -- <command> [args...]');
  process.exit(2);
}
const outDir = path.resolve(args[0]);
const command = args.slice(sep + 1);
fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(path.join(outDir, 'requests'), { recursive: true });
const ledgerPath = path.join(outDir, 'ledger.jsonl');
const callsPath = path.join(outDir, 'calls.jsonl');
fs.writeFileSync(ledgerPath, '');
fs.writeFileSync(callsPath, '');

// Response models: aliases resolve to the snapshot the provider reports.
const SNAPSHOTS = {
  'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
  'gpt-4o': 'gpt-4o-2024-08-06',
  'gpt-4.1-mini': 'gpt-4.1-mini-2025-04-14',
  'o3-mini': 'o3-mini-2025-01-31',
  'o4-mini': 'o4-mini-2025-04-16',
  'gpt-5-mini': 'gpt-5-mini-2025-08-07',
  'claude-3-5-haiku-latest': 'claude-3-5-haiku-20241022',
  'claude-3-5-sonnet-latest': 'claude-3-5-sonnet-20241022',
  'claude-3-7-sonnet-latest': 'claude-3-7-sonnet-20250219',
  'claude-sonnet-4-5': 'claude-sonnet-4-5-20250929',
  'claude-haiku-4-5': 'claude-haiku-4-5-20251001',
};
// Azure OpenAI deployments: deployment name -> the model behind it.
const AZURE_DEPLOYMENTS = {
  'prod-chat': 'gpt-4o-2024-08-06',
  'prod-mini': 'gpt-4o-mini-2024-07-18',
  'prod-embed': 'text-embedding-3-small',
};

let seq = 0;
const ledger = (entry) => fs.appendFileSync(ledgerPath, JSON.stringify({ seq: ++seq, ...entry }) + '\n');

function textOf(content) {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p === 'string' ? p : p.text ?? p.content ?? (p.type === 'text' ? '' : textOf(p.content)))).join(' ');
  if (typeof content === 'object') return content.text ?? textOf(content.content);
  return String(content);
}

// The directive rules a call; every field is optional.
function directive(text) {
  const m = /\[\[([^\]]*)\]\]/.exec(text || '');
  const d = {};
  if (!m) return d;
  for (const part of m[1].trim().split(/\s+/)) {
    const [k, v] = part.split('=');
    if (!k) continue;
    d[k] = v === undefined ? true : /^\d+$/.test(v) ? Number(v) : v;
  }
  return d;
}

function usageFor(d, allText) {
  const words = allText.split(/\s+/).filter(Boolean).length;
  const u = {
    input: d.in ?? 10 + words,
    output: d.out ?? 8,
    cache_read: d.cache_read ?? 0,
    cache_write: d.cache_write ?? 0,
    reasoning: d.reasoning ?? 0,
  };
  if (u.cache_read + u.cache_write > u.input) throw new Error('directive: cache tokens exceed input');
  if (u.reasoning > u.output) throw new Error('directive: reasoning exceeds output');
  return u;
}

const readBody = (req) => new Promise((resolve, reject) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let buf = Buffer.concat(chunks);
    const enc = (req.headers['content-encoding'] || '').toLowerCase();
    if (enc === 'gzip') buf = zlib.gunzipSync(buf);
    else if (enc === 'deflate') buf = zlib.inflateSync(buf);
    else if (enc === 'br') buf = zlib.brotliDecompressSync(buf);
    resolve(buf);
  });
  req.on('error', reject);
});

const json = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

function reply(d) {
  if (d.reply) return String(d.reply).replace(/_/g, ' ');
  return `Answer to call ${d.call ?? '?'}.` + (d.pii_out ? ' Card 4111 1111 1111 1111, mail ops@example.com.' : '');
}

// ---------- OpenAI (and Azure OpenAI, same shapes) ----------
function openaiError(res, status, provider) {
  const type = status === 429 ? 'rate_limit_exceeded' : status === 400 ? 'invalid_request_error' : 'server_error';
  json(res, status, { error: { message: `mock ${provider} error ${status}`, type, param: null, code: type } },
    status === 429 ? { 'retry-after': '0' } : {});
}

function openaiChat(req, res, body, provider, model, responseModel) {
  const msgs = body.messages || [];
  const lastUser = [...msgs].reverse().find((m) => m.role === 'user');
  const d = directive(textOf(lastUser?.content));
  const u = usageFor(d, msgs.map((m) => textOf(m.content)).join(' '));
  const stream = !!body.stream;
  const includeUsage = stream ? !!body.stream_options?.include_usage : true;
  const id = `chatcmpl-conf${d.call ?? 'x'}-${seq + 1}`;
  ledger({ call: d.call ?? null, provider, api: 'chat', path: req.url, request_model: model, response_model: d.error ? null : responseModel,
    stream, usage_reported: d.error ? false : includeUsage, status: d.error || 200, user: body.user ?? null, response_id: d.error ? null : id, tokens: d.error ? null : u });
  if (d.error) return openaiError(res, d.error, provider);
  const usage = {
    prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cache_read, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
  const created = 1764892800;
  const toolCall = d.tool ? [{ id: `call_conf${d.call}`, type: 'function', function: { name: d.tool, arguments: '{"city":"Paris"}' } }] : undefined;
  const finish = d.tool ? 'tool_calls' : 'stop';
  const text = d.tool ? null : reply(d);
  if (!stream) {
    return json(res, 200, {
      id, object: 'chat.completion', created, model: responseModel, system_fingerprint: 'fp_conf01', service_tier: 'default',
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null, ...(toolCall ? { tool_calls: toolCall } : {}) }, logprobs: null, finish_reason: finish }],
      usage,
    });
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const base = { id, object: 'chat.completion.chunk', created, model: responseModel, system_fingerprint: 'fp_conf01' };
  const send = (o) => res.write(`data: ${JSON.stringify(o)}\n\n`);
  send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], ...(includeUsage ? { usage: null } : {}) });
  if (toolCall) {
    send({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...toolCall[0] }] }, logprobs: null, finish_reason: null }], ...(includeUsage ? { usage: null } : {}) });
  } else {
    for (const piece of text.match(/.{1,12}/g)) {
      send({ ...base, choices: [{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }], ...(includeUsage ? { usage: null } : {}) });
    }
  }
  send({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finish }], ...(includeUsage ? { usage: null } : {}) });
  if (includeUsage) send({ ...base, choices: [], usage });
  res.end('data: [DONE]\n\n');
}

function openaiEmbeddings(req, res, body, provider, model, responseModel) {
  const input = Array.isArray(body.input) ? body.input : [body.input];
  const d = directive(input.map(String).join(' '));
  const words = input.map(String).join(' ').split(/\s+/).filter(Boolean).length;
  const n = d.in ?? words + 2;
  ledger({ call: d.call ?? null, provider, api: 'embeddings', path: req.url, request_model: model, response_model: d.error ? null : responseModel,
    stream: false, usage_reported: !d.error, status: d.error || 200, user: body.user ?? null, response_id: null,
    tokens: d.error ? null : { input: n, output: 0, cache_read: 0, cache_write: 0, reasoning: 0 } });
  if (d.error) return openaiError(res, d.error, provider);
  const vec = body.encoding_format === 'base64'
    ? Buffer.from(new Float32Array([0.1, 0.2, 0.3, 0.4]).buffer).toString('base64')
    : [0.1, 0.2, 0.3, 0.4];
  json(res, 200, { object: 'list', model: responseModel, data: input.map((_, i) => ({ object: 'embedding', index: i, embedding: vec })), usage: { prompt_tokens: n, total_tokens: n } });
}

function openaiResponses(req, res, body, provider, model, responseModel) {
  const input = typeof body.input === 'string' ? body.input : (body.input || []).map((m) => textOf(m.content)).join(' ');
  const d = directive(input);
  const u = usageFor(d, input + ' ' + (body.instructions || ''));
  const id = `resp_conf${d.call ?? 'x'}_${seq + 1}`;
  const stream = !!body.stream;
  ledger({ call: d.call ?? null, provider, api: 'responses', path: req.url, request_model: model, response_model: d.error ? null : responseModel,
    stream, usage_reported: !d.error, status: d.error || 200, user: body.user ?? null, response_id: d.error ? null : id, tokens: d.error ? null : u });
  if (d.error) return openaiError(res, d.error, provider);
  const text = reply(d);
  const response = {
    id, object: 'response', created_at: 1764892800, status: 'completed', model: responseModel, error: null, incomplete_details: null,
    output: [{ type: 'message', id: `msg_conf${d.call}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }],
    output_text: text, parallel_tool_calls: true, tool_choice: 'auto', tools: [], temperature: 1, top_p: 1,
    usage: { input_tokens: u.input, input_tokens_details: { cached_tokens: u.cache_read }, output_tokens: u.output,
      output_tokens_details: { reasoning_tokens: u.reasoning }, total_tokens: u.input + u.output },
  };
  if (!stream) return json(res, 200, response);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const ev = (type, o) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`);
  ev('response.created', { response: { ...response, status: 'in_progress', output: [], usage: null } });
  ev('response.output_text.delta', { item_id: `msg_conf${d.call}`, output_index: 0, content_index: 0, delta: text });
  ev('response.completed', { response });
  res.end();
}

// ---------- Anthropic ----------
function anthropicUsage(u) {
  return { input_tokens: u.input - u.cache_read - u.cache_write, cache_creation_input_tokens: u.cache_write, cache_read_input_tokens: u.cache_read, output_tokens: u.output };
}

function anthropicMessages(req, res, body, provider = 'anthropic', path_ = req.url, bedrockModel = null) {
  const msgs = body.messages || [];
  const lastUser = [...msgs].reverse().find((m) => m.role === 'user');
  const d = directive(textOf(lastUser?.content));
  const u = usageFor(d, msgs.map((m) => textOf(m.content)).join(' ') + ' ' + textOf(body.system));
  const model = bedrockModel ?? body.model;
  const responseModel = bedrockModel ?? (SNAPSHOTS[model] || model);
  const id = `msg_conf${d.call ?? 'x'}_${seq + 1}`;
  const stream = !!body.stream;
  ledger({ call: d.call ?? null, provider, api: bedrockModel ? 'invoke' : 'messages', path: path_, request_model: model, response_model: d.error ? null : responseModel,
    stream, usage_reported: !d.error, status: d.error || 200, user: body.metadata?.user_id ?? null, response_id: d.error ? null : id, tokens: d.error ? null : u });
  if (d.error) {
    const type = d.error === 429 ? 'rate_limit_error' : d.error === 400 ? 'invalid_request_error' : d.error === 529 ? 'overloaded_error' : 'api_error';
    return { error: d.error, body: { type: 'error', error: { type, message: `mock anthropic error ${d.error}` } } };
  }
  const text = reply(d);
  const content = d.tool
    ? [{ type: 'tool_use', id: `toolu_conf${d.call}`, name: d.tool, input: { city: 'Paris' } }]
    : [{ type: 'text', text }];
  const message = { id, type: 'message', role: 'assistant', model: responseModel, content, stop_reason: d.tool ? 'tool_use' : 'end_turn', stop_sequence: null, usage: anthropicUsage(u) };
  return { message, stream, text, d, u };
}

function anthropicHTTP(req, res, body) {
  const r = anthropicMessages(req, res, body);
  if (r.error) return json(res, r.error, r.body, r.error === 429 ? { 'retry-after': '0' } : {});
  if (!r.stream) return json(res, 200, r.message);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const [type, o] of anthropicEvents(r)) res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`);
  res.end();
}

function anthropicEvents(r) {
  const m = r.message;
  const usage = anthropicUsage(r.u);
  const evs = [['message_start', { message: { ...m, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } }]];
  if (r.d.tool) {
    evs.push(['content_block_start', { index: 0, content_block: { type: 'tool_use', id: m.content[0].id, name: m.content[0].name, input: {} } }]);
    evs.push(['content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"city":"Paris"}' } }]);
  } else {
    evs.push(['content_block_start', { index: 0, content_block: { type: 'text', text: '' } }]);
    for (const piece of r.text.match(/.{1,12}/g)) evs.push(['content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } }]);
  }
  evs.push(['content_block_stop', { index: 0 }]);
  evs.push(['message_delta', { delta: { stop_reason: m.stop_reason, stop_sequence: null }, usage: { output_tokens: r.u.output } }]);
  evs.push(['message_stop', {}]);
  return evs;
}

// ---------- Bedrock runtime ----------
// AWS event stream framing (application/vnd.amazon.eventstream).
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function eventMessage(headers, payload) {
  const hb = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name), v = Buffer.from(value);
    const h = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
    h.writeUInt8(n.length, 0); n.copy(h, 1); h.writeUInt8(7, 1 + n.length); h.writeUInt16BE(v.length, 2 + n.length); v.copy(h, 4 + n.length);
    hb.push(h);
  }
  const hbuf = Buffer.concat(hb);
  const total = 12 + hbuf.length + payload.length + 4;
  const prelude = Buffer.alloc(8);
  prelude.writeUInt32BE(total, 0); prelude.writeUInt32BE(hbuf.length, 4);
  const pcrc = Buffer.alloc(4); pcrc.writeUInt32BE(crc32(prelude), 0);
  const body = Buffer.concat([prelude, pcrc, hbuf, payload]);
  const mcrc = Buffer.alloc(4); mcrc.writeUInt32BE(crc32(body), 0);
  return Buffer.concat([body, mcrc]);
}
const bedrockEvent = (type, obj) => eventMessage({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }, Buffer.from(JSON.stringify(obj)));

function bedrockError(res, status) {
  const type = status === 429 ? 'ThrottlingException' : status === 400 ? 'ValidationException' : 'InternalServerException';
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });
  res.end(JSON.stringify({ message: `mock bedrock ${type}` }));
}

function bedrockConverse(req, res, body, modelId, stream) {
  const msgs = body.messages || [];
  const lastUser = [...msgs].reverse().find((m) => m.role === 'user');
  const d = directive(textOf(lastUser?.content));
  const u = usageFor(d, msgs.map((m) => textOf(m.content)).join(' '));
  ledger({ call: d.call ?? null, provider: 'aws.bedrock', api: stream ? 'converse-stream' : 'converse', path: req.url, request_model: modelId, response_model: null,
    stream, usage_reported: !d.error, status: d.error || 200, user: null, response_id: null, tokens: d.error ? null : u });
  if (d.error) return bedrockError(res, d.error);
  const usage = { inputTokens: u.input - u.cache_read - u.cache_write, outputTokens: u.output, totalTokens: u.input + u.output,
    ...(u.cache_read ? { cacheReadInputTokens: u.cache_read } : {}), ...(u.cache_write ? { cacheWriteInputTokens: u.cache_write } : {}) };
  const text = reply(d);
  const stop = d.tool ? 'tool_use' : 'end_turn';
  if (!stream) {
    const content = d.tool ? [{ toolUse: { toolUseId: `tooluse_conf${d.call}`, name: d.tool, input: { city: 'Paris' } } }] : [{ text }];
    return json(res, 200, { output: { message: { role: 'assistant', content } }, stopReason: stop, usage, metrics: { latencyMs: 12 } });
  }
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
  res.write(bedrockEvent('messageStart', { role: 'assistant' }));
  for (const piece of text.match(/.{1,12}/g)) res.write(bedrockEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: piece } }));
  res.write(bedrockEvent('contentBlockStop', { contentBlockIndex: 0 }));
  res.write(bedrockEvent('messageStop', { stopReason: stop }));
  res.write(bedrockEvent('metadata', { usage, metrics: { latencyMs: 12 } }));
  res.end();
}

function bedrockInvoke(req, res, body, modelId, stream) {
  const base = modelId.replace(/^(us|eu|apac|global|us-gov|jp|au)\./, '');
  const tokenHeaders = (u) => ({ 'x-amzn-bedrock-input-token-count': String(u.input - u.cache_read - u.cache_write), 'x-amzn-bedrock-output-token-count': String(u.output), 'x-amzn-bedrock-invocation-latency': '12' });
  if (base.startsWith('anthropic.')) {
    const r = anthropicMessages(req, res, { ...body, stream }, 'aws.bedrock', req.url, modelId);
    if (r.error) return bedrockError(res, r.error);
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json', ...tokenHeaders(r.u) });
      return res.end(JSON.stringify(r.message));
    }
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
    const evs = anthropicEvents(r);
    evs[evs.length - 1][1]['amazon-bedrock-invocationMetrics'] = { inputTokenCount: r.u.input - r.u.cache_read - r.u.cache_write, outputTokenCount: r.u.output, invocationLatency: 12, firstByteLatency: 5 };
    for (const [type, o] of evs) {
      res.write(eventMessage({ ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' },
        Buffer.from(JSON.stringify({ bytes: Buffer.from(JSON.stringify({ type, ...o })).toString('base64') }))));
    }
    return res.end();
  }
  if (base.startsWith('amazon.titan-embed')) {
    const d = directive(body.inputText);
    const n = d.in ?? String(body.inputText || '').split(/\s+/).filter(Boolean).length + 2;
    ledger({ call: d.call ?? null, provider: 'aws.bedrock', api: 'invoke', path: req.url, request_model: modelId, response_model: null, stream: false,
      usage_reported: !d.error, status: d.error || 200, user: null, response_id: null, tokens: d.error ? null : { input: n, output: 0, cache_read: 0, cache_write: 0, reasoning: 0 } });
    if (d.error) return bedrockError(res, d.error);
    res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-bedrock-input-token-count': String(n) });
    return res.end(JSON.stringify({ embedding: [0.1, 0.2, 0.3, 0.4], inputTextTokenCount: n }));
  }
  // Prompt-style bodies: Titan text (inputText), Meta Llama and Mistral (prompt), Cohere (message/prompt).
  const promptText = body.inputText ?? body.prompt ?? body.message ?? textOf(body.messages?.at(-1)?.content);
  const d = directive(promptText);
  const u = usageFor(d, String(promptText || ''));
  ledger({ call: d.call ?? null, provider: 'aws.bedrock', api: 'invoke', path: req.url, request_model: modelId, response_model: null, stream: false,
    usage_reported: !d.error, status: d.error || 200, user: null, response_id: null, tokens: d.error ? null : u });
  if (d.error) return bedrockError(res, d.error);
  const text = reply(d);
  let out;
  if (base.startsWith('amazon.titan')) out = { inputTextTokenCount: u.input, results: [{ tokenCount: u.output, outputText: text, completionReason: 'FINISH' }] };
  else if (base.startsWith('meta.')) out = { generation: text, prompt_token_count: u.input, generation_token_count: u.output, stop_reason: 'stop' };
  else if (base.startsWith('cohere.')) out = { response_id: `conf${d.call}`, text, generation_id: 'g1', finish_reason: 'COMPLETE', generations: [{ text, finish_reason: 'COMPLETE' }] };
  else if (base.startsWith('mistral.')) out = { outputs: [{ text, stop_reason: 'stop' }] };
  else out = { output: text };
  res.writeHead(200, { 'content-type': 'application/json', ...tokenHeaders(u) });
  res.end(JSON.stringify(out));
}

const provider = http.createServer(async (req, res) => {
  try {
    const raw = await readBody(req);
    const body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
    const url = new URL(req.url, 'http://mock');
    const p = url.pathname;
    let m;
    if ((m = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(p))) {
      const dep = decodeURIComponent(m[1]);
      const real = AZURE_DEPLOYMENTS[dep] || dep;
      return m[2] === 'embeddings' ? openaiEmbeddings(req, res, body, 'azure.ai.openai', dep, real) : openaiChat(req, res, body, 'azure.ai.openai', dep, real);
    }
    if (/^\/openai\/v1\/chat\/completions$/.test(p)) {
      const real = AZURE_DEPLOYMENTS[body.model] || body.model;
      return openaiChat(req, res, body, 'azure.ai.openai', body.model, real);
    }
    if (/(^|\/)v1\/chat\/completions$/.test(p) || p === '/chat/completions') return openaiChat(req, res, body, 'openai', body.model, SNAPSHOTS[body.model] || body.model);
    if (/(^|\/)v1\/embeddings$/.test(p) || p === '/embeddings') return openaiEmbeddings(req, res, body, 'openai', body.model, body.model);
    if (/(^|\/)v1\/responses$/.test(p) || p === '/responses') return openaiResponses(req, res, body, 'openai', body.model, SNAPSHOTS[body.model] || body.model);
    if (/(^|\/)v1\/messages$/.test(p)) return anthropicHTTP(req, res, body);
    if ((m = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|converse|converse-stream)$/.exec(p))) {
      const modelId = decodeURIComponent(m[1]);
      if (m[2].startsWith('converse')) return bedrockConverse(req, res, body, modelId, m[2] === 'converse-stream');
      return bedrockInvoke(req, res, body, modelId, m[2] === 'invoke-with-response-stream');
    }
    if (p === '/v1/models' || p === '/models') return json(res, 200, { object: 'list', data: Object.keys(SNAPSHOTS).map((id) => ({ id, object: 'model' })) });
    json(res, 404, { error: { message: `mock provider: no route for ${req.method} ${p}` } });
  } catch (e) {
    console.error('mock provider:', e);
    json(res, 500, { error: { message: String(e) } });
  }
});

// ---------- OTLP/HTTP sink ----------
let nreq = 0;
const sink = http.createServer(async (req, res) => {
  const body = await readBody(req);
  // Any path ending in /v1/<signal>: some SDKs (Langfuse) post under a prefix.
  const m = /\/v1\/(traces|logs|metrics)$/.exec(new URL(req.url, 'http://sink').pathname);
  const signal = m?.[1];
  if (!signal || req.method !== 'POST') {
    res.writeHead(404); return res.end();
  }
  const isJSON = (req.headers['content-type'] || '').includes('json');
  const name = `${String(++nreq).padStart(4, '0')}-${signal}.${isJSON ? 'json' : 'pb'}`;
  fs.writeFileSync(path.join(outDir, 'requests', name), body);
  res.writeHead(200, { 'content-type': isJSON ? 'application/json' : 'application/x-protobuf' });
  res.end(isJSON ? '{}' : Buffer.alloc(0));
});

const listen = (srv) => new Promise((r) => srv.listen(0, '127.0.0.1', () => r(srv.address().port)));
const mockPort = await listen(provider);
const sinkPort = await listen(sink);
const env = {
  ...process.env,
  MOCK_URL: `http://127.0.0.1:${mockPort}`,
  OTLP_URL: `http://127.0.0.1:${sinkPort}`,
  OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`,
  CALLS_FILE: callsPath,
};
const child = spawn(command[0], command.slice(1), { stdio: 'inherit', env });
const code = await new Promise((r) => child.on('exit', (c, s) => r(c ?? (s ? 1 : 0))));
// Late exports (an exporter flushing on exit) have landed by now.
await new Promise((r) => setTimeout(r, 500));
provider.close();
sink.close();
if (code !== 0) {
  console.error(`app exited with ${code}`);
  process.exit(code);
}
console.error(`captured ${nreq} requests, ${seq} provider calls into ${outDir}`);
