// Captures the spans that real npm GenAI instrumentations emit, against a mock
// OpenAI server on 127.0.0.1, as OTLP/JSON fixtures for the aitrace tests.
//
//   npm install && node capture.cjs <official|openinference|vercel> <out.json>
//
// Each library runs in its own process so module patching does not leak.
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const which = process.argv[2];
const outFile = process.argv[3];

const api = require('@opentelemetry/api');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { JsonTraceSerializer } = require('@opentelemetry/otlp-transformer');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');

function version(pkg) {
  const file = path.join(__dirname, 'node_modules', pkg, 'package.json');
  return pkg + '@' + JSON.parse(fs.readFileSync(file, 'utf8')).version;
}

const libraries = {
  official: ['openai', '@opentelemetry/instrumentation-openai'],
  openinference: ['openai', '@arizeai/openinference-instrumentation-openai'],
  vercel: ['ai', '@ai-sdk/openai'],
}[which];
if (!libraries) throw new Error('unknown library set ' + which);

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({
    'service.name': 'fixture-' + which,
    'aiops.fixture.libraries': libraries.map(version).join(' '),
    'aiops.fixture.sdk': version('@opentelemetry/sdk-trace-node'),
  }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
provider.register();

const instrumentations = [];
if (which === 'official') {
  const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
  instrumentations.push(new OpenAIInstrumentation());
}
if (which === 'openinference') {
  const { OpenAIInstrumentation } = require('@arizeai/openinference-instrumentation-openai');
  instrumentations.push(new OpenAIInstrumentation());
}
registerInstrumentations({ instrumentations, tracerProvider: provider });

// The mock provider: fixed usage with cached and reasoning details, a tool
// call on the first agent step, SSE streaming when asked.
let calls = 0;
function chatBody(req) {
  calls++;
  const hasToolResult = (req.messages || []).some((m) => m.role === 'tool');
  const wantsTool = (req.tools || []).length > 0 && !hasToolResult;
  const message = wantsTool
    ? { role: 'assistant', content: null, tool_calls: [{ id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }
    : { role: 'assistant', content: 'The weather in Paris is sunny, 21°C. Reach me at help@example.com.' };
  return {
    id: 'chatcmpl-mock' + calls,
    object: 'chat.completion',
    created: 1767225600,
    model: 'gpt-4o-mini-2024-07-18',
    system_fingerprint: 'fp_mock01',
    service_tier: 'default',
    choices: [{ index: 0, message, logprobs: null, finish_reason: wantsTool ? 'tool_calls' : 'stop' }],
    usage: {
      prompt_tokens: 1200 + calls, completion_tokens: 40, total_tokens: 1240 + calls,
      prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    },
  };
}

const server = http.createServer((req, res) => {
  let data = '';
  req.on('data', (c) => (data += c));
  req.on('end', () => {
    const body = data ? JSON.parse(data) : {};
    if (req.url.endsWith('/embeddings')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', model: 'text-embedding-3-small', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }], usage: { prompt_tokens: 8, total_tokens: 8 } }));
      return;
    }
    const out = chatBody(body);
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const base = { id: out.id, object: 'chat.completion.chunk', created: out.created, model: out.model, system_fingerprint: out.system_fingerprint };
    const words = out.choices[0].message.content.split(' ');
    const chunks = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }];
    for (const w of words) chunks.push({ ...base, choices: [{ index: 0, delta: { content: w + ' ' }, finish_reason: null }] });
    chunks.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    chunks.push({ ...base, choices: [], usage: out.usage });
    for (const c of chunks) res.write('data: ' + JSON.stringify(c) + '\n\n');
    res.end('data: [DONE]\n\n');
  });
});

async function runOpenAI(baseURL) {
  const OpenAI = require('openai');
  const client = new OpenAI({ apiKey: 'sk-test-not-a-key', baseURL });
  await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a weather assistant.' },
      { role: 'user', content: 'What is the weather in Paris? My email is jane.doe@example.com' },
    ],
    temperature: 0.2,
    max_tokens: 200,
    user: 'u-42',
  });
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Stream me the weather.' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const _ of stream) { /* drain */ }
  await client.embeddings.create({ model: 'text-embedding-3-small', input: 'Paris weather' });
}

async function runVercel(baseURL) {
  const { generateText, tool, stepCountIs } = require('ai');
  const { createOpenAI } = require('@ai-sdk/openai');
  const { z } = require('zod');
  const openai = createOpenAI({ apiKey: 'sk-test-not-a-key', baseURL });
  await generateText({
    model: openai.chat('gpt-4o-mini'),
    system: 'You are a weather assistant.',
    prompt: 'What is the weather in Paris? Call me at +1 415 555 2671.',
    tools: {
      get_weather: tool({
        description: 'Current weather for a city',
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => ({ city, sky: 'sunny', celsius: 21 }),
      }),
    },
    stopWhen: stepCountIs(3),
    experimental_telemetry: { isEnabled: true, functionId: 'weather-agent', metadata: { userId: 'u-42', tenantId: 't-7' } },
  });
}

server.listen(0, '127.0.0.1', async () => {
  const baseURL = `http://127.0.0.1:${server.address().port}/v1`;
  try {
    if (which === 'vercel') await runVercel(baseURL);
    else await runOpenAI(baseURL);
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    const bytes = JsonTraceSerializer.serializeRequest(spans);
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    fs.writeFileSync(outFile, JSON.stringify(doc, null, 1) + '\n');
    console.log(`${which}: ${spans.length} spans -> ${outFile}`);
  } catch (e) {
    console.error(e);
    process.exitCode = 1;
  } finally {
    server.close();
    await provider.shutdown();
  }
});
