// Conformance capture app: OpenLLMetry (Traceloop) OpenAI instrumentation.
// Set up the documented way: @traceloop/node-server-sdk initialize() with its
// own OTLP/proto exporter pointed at the sink and batching on, then require the
// provider SDK so that require-in-the-middle can patch it.
const path = require('node:path');
const traceloop = require('@traceloop/node-server-sdk');

traceloop.initialize({
  appName: 'conformance-traceloop-openai',
  baseUrl: process.env.OTLP_URL, // exporter posts to <baseUrl>/v1/traces (OTLP protobuf)
  disableBatch: false, // BatchSpanProcessor
  traceContent: true, // prompts and completions on spans
  traceloopSyncEnabled: false,
  silenceInitializationMessage: true,
});

const { trace } = require('@opentelemetry/api');
const { OpenAI } = require('openai');

const LIB = 'traceloop-openai';
const tracer = trace.getTracer('conformance-app');

async function main() {
  const { directive, declare } = await import(path.resolve(__dirname, '../../harness/common.mjs'));
  const client = new OpenAI({ apiKey: 'sk-conformance', baseURL: `${process.env.MOCK_URL}/v1`, maxRetries: 0 });

  // Each call: its own root span, the user attached through Traceloop
  // association properties, then the declaration.
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

  const weatherTool = {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  };

  // 1. chat, non-streaming, PII in and out, cached prompt tokens.
  await call(1, { op: 'chat' }, async () => {
    const r = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are a helpful support agent.' },
        { role: 'user', content: `Please email jane.doe@example.com about my order ${directive(1, { in: 120, out: 30, cache_read: 64, pii_out: true })}` },
      ],
    });
    console.error('call 1:', r.choices[0].message.content);
  });

  // 2. chat, streaming with include_usage.
  // The instrumentation ignores the usage chunk and counts tokens with tiktoken
  // instead (enrichTokens), so the recorded usage is an estimate.
  await call(2, { op: 'chat', gap: 'stream_usage_estimated' }, async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `Tell me a short story ${directive(2, { in: 90, out: 40, cache_read: 32 })}` }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    console.error('call 2:', text);
  });

  // 3. chat, streaming without include_usage: the provider reports no usage.
  await call(3, { op: 'chat', gap: 'stream_usage_estimated' }, async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `Tell me another story ${directive(3, { in: 70, out: 25 })}` }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    console.error('call 3:', text);
  });

  // 4. reasoning model.
  await call(4, { op: 'chat' }, async () => {
    const r = await client.chat.completions.create({
      model: 'o3-mini',
      reasoning_effort: 'low',
      messages: [{ role: 'user', content: `Solve 12*13 step by step ${directive(4, { in: 60, out: 50, reasoning: 32 })}` }],
    });
    console.error('call 4:', r.choices[0].message.content);
  });

  // 5. tool call response.
  await call(5, { op: 'chat' }, async () => {
    const r = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `What is the weather in Paris? ${directive(5, { in: 85, out: 18, tool: 'get_weather' })}` }],
      tools: [weatherTool],
      tool_choice: 'auto',
    });
    console.error('call 5:', JSON.stringify(r.choices[0].message.tool_calls));
  });

  // 6. embeddings: the instrumentation does not patch Embeddings.create.
  await call(6, { op: 'embeddings', gap: 'no_span' }, async () => {
    const r = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: `The quick brown fox ${directive(6, { in: 12 })}`,
    });
    console.error('call 6: dims', r.data[0].embedding.length);
  });

  // 7. error 429, retries disabled on the client.
  await call(7, { op: 'chat', error: 429, gap: 'no_span_on_error' }, async () => {
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `This will be rate limited ${directive(7, { error: 429 })}` }],
    });
  });

  // 8. Responses API (non-streaming), instrumented as a chat span.
  await call(8, { op: 'chat' }, async () => {
    const r = await client.responses.create({
      model: 'gpt-4o-mini',
      instructions: 'Answer briefly.',
      input: `Summarise my last order ${directive(8, { in: 140, out: 22, cache_read: 100 })}`,
    });
    console.error('call 8:', r.output_text);
  });
}

main()
  .then(async () => {
    await traceloop.forceFlush();
    // The SDK exports no shutdown(); shut the registered provider down so the
    // batch processor drains before exit.
    const provider = trace.getTracerProvider();
    await (provider.getDelegate?.() ?? provider).shutdown?.();
  })
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
