// Conformance app: Arize OpenInference instrumentation of the openai client.
// Setup as the OpenInference docs show it: a NodeTracerProvider exporting
// OTLP/protobuf through a BatchSpanProcessor, the OpenAIInstrumentation
// registered before `openai` is required, and end-user ids attached with
// OpenInference's context helper setUser.
'use strict';
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { context, trace } = require('@opentelemetry/api');
const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { OpenAIInstrumentation } = require('@arizeai/openinference-instrumentation-openai');
const { setUser } = require('@arizeai/openinference-core');

const LIB = 'openinference-openai';

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': `conformance-${LIB}` }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${process.env.OTLP_URL}/v1/traces` }))],
});
provider.register();

// Content capture: OpenInference records inputs/outputs unless told to hide
// them; say so explicitly.
registerInstrumentations({
  instrumentations: [
    new OpenAIInstrumentation({
      traceConfig: { hideInputs: false, hideOutputs: false, hideInputMessages: false, hideOutputMessages: false, hideInputText: false, hideOutputText: false },
    }),
  ],
});

// Required only now, so that require-in-the-middle patches it.
const OpenAI = require('openai');

const tracer = trace.getTracer('conformance');

const toMock = (url, init) => fetch(String(url).replace(/^https:\/\/api\.openai\.com/, process.env.MOCK_URL), init);

async function main() {
  const { directive, declare } = await import(pathToFileURL(path.join(__dirname, '../../harness/common.mjs')).href);
  // The client keeps its default base URL (https://api.openai.com/v1), as a
  // real app's does: the instrumentation names the provider (llm.provider)
  // from that host. A custom fetch, an ordinary client option, sends the
  // requests to the mock instead.
  const client = new OpenAI({ apiKey: 'sk-conformance', maxRetries: 0, fetch: toMock });

  // Each call: its own root span, with the OpenInference user in context.
  const run = (n, fn) => {
    const ctx = setUser(context.active(), { userId: `user-${n}` });
    return context.with(ctx, () => tracer.startActiveSpan('conformance.call', { attributes: { 'conformance.call': n } }, async (span) => {
      try {
        return await fn();
      } finally {
        span.end();
      }
    }));
  };
  const facts = (n, extra = {}) => ({ lib: LIB, op: 'chat', user: `user-${n}`, content: true, ...extra });
  const tools = [{
    type: 'function',
    function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  }];

  // 1. chat, non-streaming, PII in and out.
  await run(1, async () => {
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      user: 'user-1',
      messages: [
        { role: 'system', content: 'You are a helpful support agent.' },
        { role: 'user', content: `Please email jane.doe@example.com about my order ${directive(1, { in: 120, out: 30, cache_read: 64, pii_out: true })}` },
      ],
    });
  });
  declare(1, facts(1));

  // 2. chat, streaming, with include_usage.
  await run(2, async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      user: 'user-2',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: `Tell me a short story ${directive(2, { in: 80, out: 40, cache_read: 32 })}` }],
    });
    for await (const _ of stream) { /* drain */ }
  });
  declare(2, facts(2, { gap: 'no_usage_on_stream' }));

  // 3. chat, streaming, without include_usage.
  await run(3, async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      user: 'user-3',
      stream: true,
      messages: [{ role: 'user', content: `Tell me another story ${directive(3, { in: 60, out: 20 })}` }],
    });
    for await (const _ of stream) { /* drain */ }
  });
  declare(3, facts(3, { gap: 'no_usage_on_stream' }));

  // 4. reasoning model.
  await run(4, async () => {
    await client.chat.completions.create({
      model: 'o3-mini',
      user: 'user-4',
      reasoning_effort: 'low',
      messages: [{ role: 'user', content: `Solve 17*23 step by step ${directive(4, { in: 90, out: 50, reasoning: 32 })}` }],
    });
  });
  declare(4, facts(4));

  // 5. tool call response.
  await run(5, async () => {
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      user: 'user-5',
      tools,
      messages: [{ role: 'user', content: `What is the weather in Paris? ${directive(5, { in: 70, out: 15, tool: 'get_weather' })}` }],
    });
  });
  declare(5, facts(5));

  // 6. embeddings.
  await run(6, async () => {
    await client.embeddings.create({
      model: 'text-embedding-3-small',
      user: 'user-6',
      input: `The quick brown fox ${directive(6, { in: 12 })}`,
    });
  });
  declare(6, facts(6, { op: 'embeddings', gap: 'no_usage_on_embeddings' }));

  // 7. error 429, retries off, caught.
  await run(7, async () => {
    try {
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        user: 'user-7',
        messages: [{ role: 'user', content: `This will be rate limited ${directive(7, { error: 429 })}` }],
      });
    } catch (e) {
      console.error(`call 7: caught ${e.status} as expected`);
    }
  });
  declare(7, facts(7, { error: 429, gap: 'no_span_on_error' }));

  // 8. Responses API, non-streaming.
  await run(8, async () => {
    await client.responses.create({
      model: 'gpt-4o-mini',
      user: 'user-8',
      instructions: 'Answer briefly.',
      input: `Summarise my last order ${directive(8, { in: 150, out: 40, cache_read: 100 })}`,
    });
  });
  declare(8, facts(8));

  // 9. Responses API, streaming, reasoning model.
  await run(9, async () => {
    const stream = await client.responses.create({
      model: 'o4-mini',
      user: 'user-9',
      stream: true,
      input: [{ role: 'user', content: `Plan a trip to Rome ${directive(9, { in: 110, out: 60, cache_read: 64, reasoning: 24 })}` }],
    });
    for await (const _ of stream) { /* drain */ }
  });
  declare(9, facts(9));

  await provider.forceFlush();
  await provider.shutdown();
}

main().catch(async (e) => {
  console.error(e);
  try { await provider.shutdown(); } catch { /* ignore */ }
  process.exit(1);
});
