// Conformance capture app: OpenLLMetry (Traceloop) Anthropic instrumentation,
// together with the native OpenTelemetry spans of @anthropic-ai/sdk (>= 0.134),
// which the SDK emits through the global tracer provider that Traceloop's
// initialize() registers. Each provider call therefore has two spans.
const path = require('node:path');
const traceloop = require('@traceloop/node-server-sdk');

traceloop.initialize({
  appName: 'conformance-traceloop-anthropic',
  baseUrl: process.env.OTLP_URL, // exporter posts to <baseUrl>/v1/traces (OTLP protobuf)
  disableBatch: false, // BatchSpanProcessor
  traceContent: true,
  traceloopSyncEnabled: false,
  silenceInitializationMessage: true,
});

const { trace } = require('@opentelemetry/api');
const { Anthropic } = require('@anthropic-ai/sdk');

const LIB = 'traceloop-anthropic';
const MODEL = 'claude-3-5-haiku-latest';
const tracer = trace.getTracer('conformance-app');

async function main() {
  const { directive, declare } = await import(path.resolve(__dirname, '../../harness/common.mjs'));
  const client = new Anthropic({
    apiKey: 'sk-ant-conformance',
    baseURL: process.env.MOCK_URL,
    maxRetries: 0,
    // The SDK's own spans: on by default with a global tracer provider; this
    // turns on their content mode (same as ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE=content).
    openTelemetry: { traces: { enabled: true, contentMode: 'content' } },
  });

  async function call(n, facts, fn) {
    await tracer.startActiveSpan('conformance.call', { attributes: { 'conformance.call': n } }, async (span) => {
      try {
        await traceloop.withAssociationProperties({ [traceloop.AssociationProperty.USER_ID]: `user-${n}` }, fn);
      } catch (e) {
        if (!facts.error) throw e;
        console.error(`call ${n}: expected error: ${e.status ?? ''} ${e.message}`);
      } finally {
        span.end();
      }
    });
    declare(n, { lib: LIB, user: `user-${n}`, content: true, ...facts });
  }

  const system = [{ type: 'text', text: 'You are a helpful support agent.', cache_control: { type: 'ephemeral' } }];

  // 1. chat, non-streaming, PII in and out, cache read and cache write.
  await call(1, { op: 'chat' }, async () => {
    const r = await client.messages.create({
      model: MODEL,
      max_tokens: 256,
      system,
      metadata: { user_id: 'user-1' },
      messages: [{ role: 'user', content: `Please email jane.doe@example.com about my order ${directive(1, { in: 200, out: 25, cache_read: 120, cache_write: 30, pii_out: true })}` }],
    });
    console.error('call 1:', r.content[0].text);
  });

  // 2. chat, streaming (usage arrives in message_start and message_delta).
  await call(2, { op: 'chat' }, async () => {
    const stream = await client.messages.create({
      model: MODEL,
      max_tokens: 256,
      system,
      metadata: { user_id: 'user-2' },
      messages: [{ role: 'user', content: `Tell me a short story ${directive(2, { in: 180, out: 40, cache_read: 100, cache_write: 20 })}` }],
      stream: true,
    });
    let text = '';
    for await (const ev of stream) if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    console.error('call 2:', text);
  });

  // 3. (OpenAI only) and 4. reasoning: skipped, the mock reports no thinking
  // tokens for Anthropic and Traceloop records only the request's thinking config.

  // 5. tool call response.
  await call(5, { op: 'chat' }, async () => {
    const r = await client.messages.create({
      model: MODEL,
      max_tokens: 256,
      metadata: { user_id: 'user-5' },
      tools: [{ name: 'get_weather', description: 'Current weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
      messages: [{ role: 'user', content: `What is the weather in Paris? ${directive(5, { in: 95, out: 20, tool: 'get_weather' })}` }],
    });
    console.error('call 5:', JSON.stringify(r.content));
  });

  // 6. embeddings: Anthropic has no embeddings API.

  // 7. error 429, retries disabled on the client.
  await call(7, { op: 'chat', error: 429 }, async () => {
    await client.messages.create({
      model: MODEL,
      max_tokens: 64,
      metadata: { user_id: 'user-7' },
      messages: [{ role: 'user', content: `This will be rate limited ${directive(7, { error: 429 })}` }],
    });
  });

  // 8. streaming tool call.
  await call(8, { op: 'chat' }, async () => {
    const stream = await client.messages.create({
      model: MODEL,
      max_tokens: 256,
      metadata: { user_id: 'user-8' },
      tools: [{ name: 'get_weather', description: 'Current weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
      messages: [{ role: 'user', content: `Weather in Paris, streamed ${directive(8, { in: 110, out: 22, cache_read: 64, tool: 'get_weather' })}` }],
      stream: true,
    });
    let n = 0;
    for await (const ev of stream) n++;
    console.error('call 8: events', n);
  });

  // 9. streaming through the SDK's stream helper (messages.stream), which
  // calls messages.create({stream: true}) underneath.
  await call(9, { op: 'chat' }, async () => {
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 256,
      system,
      metadata: { user_id: 'user-9' },
      messages: [{ role: 'user', content: `Stream through the helper ${directive(9, { in: 160, out: 30, cache_read: 90, cache_write: 10 })}` }],
    });
    const msg = await stream.finalMessage();
    console.error('call 9:', msg.content[0].text, JSON.stringify(msg.usage));
  });
}

main()
  .then(async () => {
    await traceloop.forceFlush();
    const provider = trace.getTracerProvider();
    await (provider.getDelegate?.() ?? provider).shutdown?.();
  })
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
