// Conformance app: Arize OpenInference instrumentation of @anthropic-ai/sdk.
// The SDK (1.x) also makes OpenTelemetry spans of its own (instrumentation
// scope com.anthropic.sdk.typescript) through the global tracer provider; they
// are left on, with content mode on, so each call has both spans.
'use strict';
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { context, trace } = require('@opentelemetry/api');
const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { AnthropicInstrumentation } = require('@arizeai/openinference-instrumentation-anthropic');
const { setUser } = require('@arizeai/openinference-core');

const LIB = 'openinference-anthropic';

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': `conformance-${LIB}` }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${process.env.OTLP_URL}/v1/traces` }))],
});
provider.register();

registerInstrumentations({
  instrumentations: [
    new AnthropicInstrumentation({
      traceConfig: { hideInputs: false, hideOutputs: false, hideInputMessages: false, hideOutputMessages: false, hideInputText: false, hideOutputText: false },
    }),
  ],
});

// Required only now, so that require-in-the-middle patches it.
const Anthropic = require('@anthropic-ai/sdk');

const tracer = trace.getTracer('conformance');

async function main() {
  const { directive, declare } = await import(pathToFileURL(path.join(__dirname, '../../harness/common.mjs')).href);
  const client = new Anthropic({
    apiKey: 'sk-ant-conformance',
    baseURL: process.env.MOCK_URL,
    maxRetries: 0,
    // The SDK's own spans: on by default; content mode asked for explicitly.
    openTelemetry: { traces: { enabled: true, contentMode: 'content' } },
  });

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
  const model = 'claude-3-5-haiku-latest';

  // 1. chat, non-streaming, PII, cache read and write.
  await run(1, async () => {
    await client.messages.create({
      model,
      max_tokens: 256,
      metadata: { user_id: 'user-1' },
      system: [{ type: 'text', text: 'You are a helpful support agent.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: `Please email jane.doe@example.com about my order ${directive(1, { in: 200, out: 25, cache_read: 120, cache_write: 30, pii_out: true })}` }],
    });
  });
  declare(1, facts(1));

  // 2. chat, streaming (create with stream: true), cache read and write.
  await run(2, async () => {
    const stream = await client.messages.create({
      model,
      max_tokens: 256,
      metadata: { user_id: 'user-2' },
      stream: true,
      messages: [{ role: 'user', content: `Tell me a short story ${directive(2, { in: 150, out: 40, cache_read: 100, cache_write: 20 })}` }],
    });
    for await (const _ of stream) { /* drain */ }
  });
  declare(2, facts(2));

  // 3 (OpenAI only) and 4 (reasoning: the mock renders no thinking for
  // Anthropic) are skipped.

  // 5. tool call response.
  await run(5, async () => {
    await client.messages.create({
      model,
      max_tokens: 256,
      metadata: { user_id: 'user-5' },
      tools: [{ name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
      messages: [{ role: 'user', content: `What is the weather in Paris? ${directive(5, { in: 70, out: 15, tool: 'get_weather' })}` }],
    });
  });
  declare(5, facts(5));

  // 6. embeddings: Anthropic has none.

  // 7. error 429, retries off, caught.
  await run(7, async () => {
    try {
      await client.messages.create({
        model,
        max_tokens: 256,
        metadata: { user_id: 'user-7' },
        messages: [{ role: 'user', content: `This will be rate limited ${directive(7, { error: 429 })}` }],
      });
    } catch (e) {
      console.error(`call 7: caught ${e.status} as expected`);
    }
  });
  declare(7, facts(7, { error: 429 }));

  // 8. the messages.stream() helper, as many apps use it.
  await run(8, async () => {
    const stream = client.messages.stream({
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      metadata: { user_id: 'user-8' },
      messages: [{ role: 'user', content: `Describe Lisbon ${directive(8, { in: 300, out: 45, cache_read: 200, cache_write: 0 })}` }],
    });
    await stream.finalMessage();
  });
  declare(8, facts(8));

  await provider.forceFlush();
  await provider.shutdown();
}

main().catch(async (e) => {
  console.error(e);
  try { await provider.shutdown(); } catch { /* ignore */ }
  process.exit(1);
});
