// Vercel AI SDK (ai) with @ai-sdk/openai: the SDK's own experimental_telemetry
// spans, exported through the global tracer provider.
import { trace } from '@opentelemetry/api';
import { NodeTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { generateText, streamText, embed, tool, stepCountIs } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { z } from 'zod';
import { directive, declare } from '../../harness/common.mjs';

const LIB = 'vercel-ai-openai';
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': LIB }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${process.env.OTLP_URL}/v1/traces` }))],
});
provider.register();
const tracer = trace.getTracer('conformance');

const openai = createOpenAI({ baseURL: `${process.env.MOCK_URL}/v1`, apiKey: 'sk-conformance' });

// What the AI SDK records: inputs and outputs on (the default, made explicit).
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
const weatherTool = tool({
  description: 'Get the current weather for a city',
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, temperature_c: 18, sky: 'cloudy' }),
});

// 1. chat, non-streaming, PII in and out.
await call(1, async () => {
  const r = await generateText({
    model: openai.chat('gpt-4o-mini'),
    system: 'You are a helpful assistant.',
    prompt: `Please email jane.doe@example.com about my order ${directive(1, { in: 120, out: 30, cache_read: 64, pii_out: true })}`,
    experimental_telemetry: telemetry(1),
  });
  console.log('1:', r.text);
  declare(1, { ...base, op: 'chat', user: 'user-1' });
});

// 2. chat, streaming (the provider always sends stream_options.include_usage).
await call(2, async () => {
  const r = streamText({
    model: openai.chat('gpt-4o-mini'),
    prompt: `Tell me a short story ${directive(2, { in: 80, out: 40, cache_read: 32 })}`,
    experimental_telemetry: telemetry(2),
  });
  let text = '';
  for await (const t of r.textStream) text += t;
  console.log('2:', text);
  declare(2, { ...base, op: 'chat', user: 'user-2' });
});

// 3. streaming without include_usage: not possible, @ai-sdk/openai always asks for usage.

// 4. reasoning model.
await call(4, async () => {
  const r = await generateText({
    model: openai.chat('o3-mini'),
    prompt: `Think about 17 * 23 ${directive(4, { in: 60, out: 50, reasoning: 32 })}`,
    experimental_telemetry: telemetry(4),
  });
  console.log('4:', r.text);
  declare(4, { ...base, op: 'chat', user: 'user-4' });
});

// 5. tool call: the SDK runs the tool and makes a second provider call (two steps).
// The second step carries its own directive so its tokens differ from the first.
await call(5, async () => {
  const r = await generateText({
    model: openai.chat('gpt-4o-mini'),
    prompt: `What is the weather in Paris? ${directive(5, { in: 90, out: 15, tool: 'get_weather' })}`,
    tools: { get_weather: weatherTool },
    stopWhen: stepCountIs(2),
    prepareStep: ({ stepNumber, messages }) => stepNumber === 1
      ? { messages: [...messages, { role: 'user', content: `Answer now from the tool result. ${directive(5, { in: 140, out: 22, cache_read: 64 })}` }] }
      : undefined,
    experimental_telemetry: telemetry(5),
  });
  console.log('5:', r.steps.length, 'steps', r.text);
  declare(5, { ...base, op: 'chat', user: 'user-5', provider_calls: 2 });
});

// 6. embeddings.
await call(6, async () => {
  const r = await embed({
    model: openai.embedding('text-embedding-3-small'),
    value: `The quick brown fox ${directive(6, { in: 12 })}`,
    experimental_telemetry: telemetry(6),
  });
  console.log('6:', r.embedding.length, r.usage);
  declare(6, { ...base, op: 'embeddings', user: 'user-6' });
});

// 7. error, no retries.
await call(7, async () => {
  try {
    await generateText({
      model: openai.chat('gpt-4o-mini'),
      prompt: `This will fail ${directive(7, { error: 429 })}`,
      maxRetries: 0,
      experimental_telemetry: telemetry(7),
    });
  } catch (e) {
    console.log('7: caught', e.name, e.statusCode);
  }
  declare(7, { ...base, op: 'chat', user: 'user-7', error: 429 });
});

// 8. the provider's default model factory, openai('...'), uses the Responses API.
await call(8, async () => {
  const r = await generateText({
    model: openai('gpt-4o-mini'),
    prompt: `Summarise the news ${directive(8, { in: 70, out: 20, cache_read: 32 })}`,
    experimental_telemetry: telemetry(8),
  });
  console.log('8:', r.text);
  declare(8, { ...base, op: 'chat', user: 'user-8' });
});

await provider.forceFlush();
await provider.shutdown();
