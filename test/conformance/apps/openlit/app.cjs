// OpenLIT: openlit.init() builds its own tracer, logger and meter providers
// (OTLP/HTTP exporters at otlpEndpoint) and patches openai and
// @anthropic-ai/sdk with require-in-the-middle, so it runs before they load.
const openlit = require('openlit').default;

// openlit fetches its price list from GitHub at init; this machine is offline,
// so the app passes the same kind of table (USD per 1K tokens, list prices).
const pricingJson = {
  chat: {
    'gpt-4o-mini': { promptPrice: 0.00015, completionPrice: 0.0006, cacheReadPrice: 0.000075 },
    'o3-mini': { promptPrice: 0.0011, completionPrice: 0.0044, cacheReadPrice: 0.00055 },
    'claude-3-5-haiku-latest': { promptPrice: 0.0008, completionPrice: 0.004, cacheReadPrice: 0.00008, cacheCreationPrice: 0.001 },
  },
  embeddings: { 'text-embedding-3-small': 0.00002 },
};

openlit.init({
  applicationName: 'openlit-conformance',
  environment: 'conformance',
  otlpEndpoint: process.env.OTLP_URL,
  captureMessageContent: true,
  pricingJson,
});

const { trace, metrics } = require('@opentelemetry/api');
const { logs } = require('@opentelemetry/api-logs');
const OpenAI = require('openai').default;
const Anthropic = require('@anthropic-ai/sdk').default;

const LIB = 'openlit';
const tracer = trace.getTracer('conformance');

// Default retries: openlit's first tiktoken estimate (call 3) blocks the event
// loop for seconds, long enough for the mock to drop the idle keep-alive socket;
// the SDK retries that connection error. The error calls disable retries.
const openai = new OpenAI({ baseURL: `${process.env.MOCK_URL}/v1`, apiKey: 'sk-conformance' });
// @anthropic-ai/sdk >= 0.134 also traces its own calls with the global tracer
// provider (on by default); its content switch is turned on like openlit's.
const anthropic = new Anthropic({
  baseURL: process.env.MOCK_URL,
  apiKey: 'sk-ant-conformance',
  openTelemetry: { traces: { contentMode: 'content' } },
});

async function call(n, fn) {
  const { directive, declare } = await import('../../harness/common.mjs');
  await tracer.startActiveSpan('conformance.call', { attributes: { 'conformance.call': n } }, async (span) => {
    try {
      // openlit's documented way to tag spans: usingAttributes({'user.id': ...}).
      await openlit.usingAttributes({ 'user.id': `user-${n}` }, () => fn(directive, declare));
    } finally {
      span.end();
    }
  });
}

const base = { lib: LIB, content: true };
const openaiTools = [{
  type: 'function',
  function: { name: 'get_weather', description: 'Get the current weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
}];
const anthropicTools = [{
  name: 'get_weather', description: 'Get the current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}];
const CLAUDE = 'claude-3-5-haiku-latest';

async function main() {
  // ---------- OpenAI ----------
  // 1. chat, non-streaming, PII in and out; OpenAI's own `user` field too.
  await call(1, async (directive, declare) => {
    const r = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      user: 'user-1',
      messages: [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content: `Please email jane.doe@example.com about my order ${directive(1, { in: 120, out: 30, cache_read: 64, pii_out: true })}` },
      ],
    });
    console.log('1:', r.choices[0].message.content);
    declare(1, { ...base, op: 'chat', user: 'user-1' });
  });

  // 2. chat, streaming with usage.
  await call(2, async (directive, declare) => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `Tell me a short story ${directive(2, { in: 80, out: 40, cache_read: 32 })}` }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    console.log('2:', text);
    declare(2, { ...base, op: 'chat', user: 'user-2' });
  });

  // 3. chat, streaming without usage.
  await call(3, async (directive, declare) => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `Tell me another story ${directive(3, { in: 70, out: 35 })}` }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    console.log('3:', text);
    declare(3, { ...base, op: 'chat', user: 'user-3', gap: 'stream_usage_estimated' });
  });

  // 4. reasoning model.
  await call(4, async (directive, declare) => {
    const r = await openai.chat.completions.create({
      model: 'o3-mini',
      reasoning_effort: 'low',
      messages: [{ role: 'user', content: `Think about 17 * 23 ${directive(4, { in: 60, out: 50, reasoning: 32 })}` }],
    });
    console.log('4:', r.choices[0].message.content);
    declare(4, { ...base, op: 'chat', user: 'user-4', gap: 'no_reasoning_breakdown' });
  });

  // 5. tool-call response.
  await call(5, async (directive, declare) => {
    const r = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `What is the weather in Paris? ${directive(5, { in: 90, out: 15, tool: 'get_weather' })}` }],
      tools: openaiTools,
    });
    console.log('5:', JSON.stringify(r.choices[0].message.tool_calls));
    declare(5, { ...base, op: 'chat', user: 'user-5' });
  });

  // 6. embeddings.
  await call(6, async (directive, declare) => {
    const r = await openai.embeddings.create({
      model: 'text-embedding-3-small',
      input: `The quick brown fox ${directive(6, { in: 12 })}`,
    });
    console.log('6:', r.data[0].embedding.length, r.usage);
    declare(6, { ...base, op: 'embeddings', user: 'user-6' });
  });

  // 7. error, no retries.
  await call(7, async (directive, declare) => {
    try {
      await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `This will fail ${directive(7, { error: 429 })}` }],
      }, { maxRetries: 0 });
    } catch (e) {
      console.log('7: caught', e.status, e.constructor.name);
    }
    declare(7, { ...base, op: 'chat', user: 'user-7', error: 429 });
  });

  // 8. Responses API.
  await call(8, async (directive, declare) => {
    const r = await openai.responses.create({
      model: 'gpt-4o-mini',
      input: `Summarise the news ${directive(8, { in: 70, out: 20, cache_read: 32 })}`,
    });
    console.log('8:', r.output_text);
    declare(8, { ...base, op: 'chat', user: 'user-8' });
  });

  // ---------- Anthropic ----------
  // 9. chat, non-streaming, cached system prompt, PII in and out.
  await call(9, async (directive, declare) => {
    const r = await anthropic.messages.create({
      model: CLAUDE,
      max_tokens: 256,
      metadata: { user_id: 'user-9' },
      system: [{ type: 'text', text: 'You are a helpful assistant for an online shop.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: `Please email jane.doe@example.com about my order ${directive(9, { in: 200, out: 25, cache_read: 120, cache_write: 30, pii_out: true })}` }],
    });
    console.log('9:', r.content[0].text);
    declare(9, { ...base, op: 'chat', user: 'user-9' });
  });

  // 10. chat, streaming.
  await call(10, async (directive, declare) => {
    const stream = await anthropic.messages.create({
      model: CLAUDE,
      max_tokens: 256,
      stream: true,
      system: [{ type: 'text', text: 'You are a storyteller.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: `Tell me a short story ${directive(10, { in: 180, out: 40, cache_read: 100, cache_write: 20 })}` }],
    });
    let text = '';
    for await (const ev of stream) if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    console.log('10:', text);
    declare(10, { ...base, op: 'chat', user: 'user-10', gap: 'wrong_output_tokens_on_stream' });
  });

  // 11. tool-call response.
  await call(11, async (directive, declare) => {
    const r = await anthropic.messages.create({
      model: CLAUDE,
      max_tokens: 256,
      tools: anthropicTools,
      messages: [{ role: 'user', content: `What is the weather in Paris? ${directive(11, { in: 90, out: 15, cache_write: 40, tool: 'get_weather' })}` }],
    });
    console.log('11:', JSON.stringify(r.content));
    declare(11, { ...base, op: 'chat', user: 'user-11' });
  });

  // 12. error, no retries.
  await call(12, async (directive, declare) => {
    try {
      await anthropic.messages.create({
        model: CLAUDE,
        max_tokens: 256,
        messages: [{ role: 'user', content: `This will fail ${directive(12, { error: 429 })}` }],
      }, { maxRetries: 0 });
    } catch (e) {
      console.log('12: caught', e.status, e.constructor.name);
    }
    declare(12, { ...base, op: 'chat', user: 'user-12', error: 429 });
  });

  // openlit has no shutdown of its own: flush and shut down the global providers it registered.
  const tp = trace.getTracerProvider();
  const sdkTracerProvider = typeof tp.getDelegate === 'function' ? tp.getDelegate() : tp;
  const mp = metrics.getMeterProvider();
  const lp = logs.getLoggerProvider();
  const sdkLoggerProvider = typeof lp.getDelegate === 'function' ? lp.getDelegate() : lp;
  await sdkTracerProvider.forceFlush?.();
  await sdkLoggerProvider.forceFlush?.();
  // The meter provider exports once, on shutdown (cumulative temporality).
  await sdkTracerProvider.shutdown?.();
  await sdkLoggerProvider.shutdown?.();
  await mp.shutdown?.();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
