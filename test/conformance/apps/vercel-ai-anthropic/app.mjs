// Vercel AI SDK (ai) with @ai-sdk/anthropic: the SDK's own experimental_telemetry
// spans, exported through the global tracer provider.
import { trace } from '@opentelemetry/api';
import { NodeTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { generateText, streamText, tool, stepCountIs } from 'ai';
import { createAnthropic } from '@ai-sdk/anthropic';
import { z } from 'zod';
import { directive, declare } from '../../harness/common.mjs';

const LIB = 'vercel-ai-anthropic';
const MODEL = 'claude-3-5-haiku-latest';
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': LIB }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${process.env.OTLP_URL}/v1/traces` }))],
});
provider.register();
const tracer = trace.getTracer('conformance');

const anthropic = createAnthropic({ baseURL: `${process.env.MOCK_URL}/v1`, apiKey: 'sk-ant-conformance' });

const telemetry = (n) => ({ isEnabled: true, recordInputs: true, recordOutputs: true, metadata: { userId: `user-${n}` } });

async function call(n, fn) {
  await tracer.startActiveSpan('conformance.call', { attributes: { 'conformance.call': n } }, async (span) => {
    try {
      await fn();
    } finally {
      span.end();
    }
  });
}

const base = { lib: LIB, user: null, content: true };
const cached = { anthropic: { cacheControl: { type: 'ephemeral' } } };
const weatherTool = tool({
  description: 'Get the current weather for a city',
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, temperature_c: 18, sky: 'cloudy' }),
});

// 1. chat, non-streaming, PII in and out, with a cached system prompt.
await call(1, async () => {
  const r = await generateText({
    model: anthropic(MODEL),
    messages: [
      { role: 'system', content: 'You are a helpful assistant for an online shop.', providerOptions: cached },
      { role: 'user', content: `Please email jane.doe@example.com about my order ${directive(1, { in: 200, out: 25, cache_read: 120, cache_write: 30, pii_out: true })}` },
    ],
    experimental_telemetry: telemetry(1),
  });
  console.log('1:', r.text);
  declare(1, { ...base, op: 'chat', user: 'user-1' });
});

// 2. chat, streaming.
await call(2, async () => {
  const r = streamText({
    model: anthropic(MODEL),
    messages: [
      { role: 'system', content: 'You are a storyteller.', providerOptions: cached },
      { role: 'user', content: `Tell me a short story ${directive(2, { in: 180, out: 40, cache_read: 100, cache_write: 20 })}` },
    ],
    experimental_telemetry: telemetry(2),
  });
  let text = '';
  for await (const t of r.textStream) text += t;
  console.log('2:', text);
  declare(2, { ...base, op: 'chat', user: 'user-2' });
});

// 3. (OpenAI only) and 4. (reasoning: the mock sends no thinking blocks, Anthropic
// reports no separate thinking token count) are skipped.

// 5. tool call: the SDK runs the tool and makes a second provider call (two steps).
await call(5, async () => {
  const r = await generateText({
    model: anthropic(MODEL),
    prompt: `What is the weather in Paris? ${directive(5, { in: 90, out: 15, cache_write: 40, tool: 'get_weather' })}`,
    tools: { get_weather: weatherTool },
    stopWhen: stepCountIs(2),
    prepareStep: ({ stepNumber, messages }) => stepNumber === 1
      ? { messages: [...messages, { role: 'user', content: `Answer now from the tool result. ${directive(5, { in: 140, out: 22, cache_read: 40 })}` }] }
      : undefined,
    experimental_telemetry: telemetry(5),
  });
  console.log('5:', r.steps.length, 'steps', r.text);
  declare(5, { ...base, op: 'chat', user: 'user-5', provider_calls: 2 });
});

// 6. embeddings: Anthropic has none.

// 7. error, no retries.
await call(7, async () => {
  try {
    await generateText({
      model: anthropic(MODEL),
      prompt: `This will fail ${directive(7, { error: 429 })}`,
      maxRetries: 0,
      experimental_telemetry: telemetry(7),
    });
  } catch (e) {
    console.log('7: caught', e.name, e.statusCode);
  }
  declare(7, { ...base, op: 'chat', user: 'user-7', error: 429 });
});

await provider.forceFlush();
await provider.shutdown();
