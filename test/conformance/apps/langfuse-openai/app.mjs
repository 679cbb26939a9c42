// Langfuse JS SDK v5: LangfuseSpanProcessor (its own OTLP/HTTP exporter to
// <baseUrl>/api/public/otel/v1/traces) + observeOpenAI wrapper + one manual
// generation observation.
import { trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LangfuseSpanProcessor, isDefaultExportSpan } from '@langfuse/otel';
import { startObservation, propagateAttributes } from '@langfuse/tracing';
import { observeOpenAI } from '@langfuse/openai';
import OpenAI from 'openai';
import { directive, declare } from '../../harness/common.mjs';

const LIB = 'langfuse-openai';
const langfuse = new LangfuseSpanProcessor({
  baseUrl: process.env.OTLP_URL,
  publicKey: 'pk-lf-conformance',
  secretKey: 'sk-lf-conformance',
  environment: 'conformance',
  // The default filter keeps only Langfuse, gen_ai.* and known LLM-instrumentation
  // spans; keep our conformance.call roots too so the trees stay whole.
  shouldExportSpan: ({ otelSpan }) => otelSpan.instrumentationScope.name === 'conformance' || isDefaultExportSpan(otelSpan),
});
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': LIB }),
  spanProcessors: [langfuse],
});
provider.register();
const tracer = trace.getTracer('conformance');

const client = new OpenAI({ baseURL: `${process.env.MOCK_URL}/v1`, apiKey: 'sk-conformance', maxRetries: 0 });
// Langfuse's documented pattern: wrap the client per request with the trace attributes.
const observed = (n, extra = {}) => observeOpenAI(client, { userId: `user-${n}`, sessionId: 'conformance-session', ...extra });

async function call(n, fn) {
  await tracer.startActiveSpan('conformance.call', { attributes: { 'conformance.call': n } }, async (span) => {
    try {
      await fn();
    } finally {
      span.end();
    }
  });
}

const base = { lib: LIB, content: true };
const tools = [{
  type: 'function',
  function: { name: 'get_weather', description: 'Get the current weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
}];

// 1. chat, non-streaming, PII in and out.
await call(1, async () => {
  const r = await observed(1).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: `Please email jane.doe@example.com about my order ${directive(1, { in: 120, out: 30, cache_read: 64, pii_out: true })}` },
    ],
  });
  console.log('1:', r.choices[0].message.content);
  declare(1, { ...base, op: 'chat', user: 'user-1' });
});

// 2. chat, streaming with usage; user set with propagateAttributes around an
// observeOpenAI client that carries no user of its own.
await call(2, async () => {
  await propagateAttributes({ userId: 'user-2' }, async () => {
    const stream = await observeOpenAI(client).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `Tell me a short story ${directive(2, { in: 80, out: 40, cache_read: 32 })}` }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    console.log('2:', text);
  });
  declare(2, { ...base, op: 'chat', user: 'user-2' });
});

// 3. chat, streaming without usage.
await call(3, async () => {
  const stream = await observed(3).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: `Tell me another story ${directive(3, { in: 70, out: 35 })}` }],
    stream: true,
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  console.log('3:', text);
  declare(3, { ...base, op: 'chat', user: 'user-3', gap: 'no_usage_on_stream' });
});

// 4. reasoning model.
await call(4, async () => {
  const r = await observed(4).chat.completions.create({
    model: 'o3-mini',
    reasoning_effort: 'low',
    messages: [{ role: 'user', content: `Think about 17 * 23 ${directive(4, { in: 60, out: 50, reasoning: 32 })}` }],
  });
  console.log('4:', r.choices[0].message.content);
  declare(4, { ...base, op: 'chat', user: 'user-4' });
});

// 5. tool-call response.
await call(5, async () => {
  const r = await observed(5).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: `What is the weather in Paris? ${directive(5, { in: 90, out: 15, tool: 'get_weather' })}` }],
    tools,
  });
  console.log('5:', JSON.stringify(r.choices[0].message.tool_calls));
  declare(5, { ...base, op: 'chat', user: 'user-5' });
});

// 6. embeddings.
await call(6, async () => {
  const r = await observed(6).embeddings.create({
    model: 'text-embedding-3-small',
    input: `The quick brown fox ${directive(6, { in: 12 })}`,
  });
  console.log('6:', r.data[0].embedding.length, r.usage);
  declare(6, { ...base, op: 'embeddings', user: 'user-6', gap: 'no_usage_on_embeddings' });
});

// 7. error, no retries.
await call(7, async () => {
  try {
    await observed(7).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `This will fail ${directive(7, { error: 429 })}` }],
    });
  } catch (e) {
    console.log('7: caught', e.status, e.constructor.name);
  }
  declare(7, { ...base, op: 'chat', user: 'user-7', error: 429 });
});

// 8. the Responses API through the same wrapper.
await call(8, async () => {
  const r = await observed(8).responses.create({
    model: 'gpt-4o-mini',
    input: `Summarise the news ${directive(8, { in: 70, out: 20, cache_read: 32 })}`,
  });
  console.log('8:', r.output_text);
  declare(8, { ...base, op: 'chat', user: 'user-8' });
});

// 9. a generation instrumented by hand, as in the @langfuse/tracing docs:
// startObservation(..., {asType: 'generation'}) around an unwrapped client call,
// usage given as promptTokens/completionTokens/totalTokens.
await call(9, async () => {
  await propagateAttributes({ userId: 'user-9' }, async () => {
    const messages = [{ role: 'user', content: `Plan my week ${directive(9, { in: 100, out: 40, cache_read: 48 })}` }];
    const generation = startObservation('manual-chat', {
      model: 'gpt-4o-mini',
      input: messages,
      modelParameters: { temperature: 0.2 },
    }, { asType: 'generation' });
    try {
      const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, temperature: 0.2 });
      generation.update({
        model: r.model,
        output: r.choices[0].message,
        usageDetails: {
          promptTokens: r.usage.prompt_tokens,
          completionTokens: r.usage.completion_tokens,
          totalTokens: r.usage.total_tokens,
        },
      });
      console.log('9:', r.choices[0].message.content);
    } catch (e) {
      generation.update({ level: 'ERROR', statusMessage: String(e) });
    } finally {
      generation.end();
    }
  });
  declare(9, { ...base, op: 'chat', user: 'user-9', gap: 'no_cache_breakdown' });
});

await provider.forceFlush();
await provider.shutdown();
