// Conformance capture app: OpenLLMetry (Traceloop) LangChain instrumentation
// together with its OpenAI instrumentation, under a LangChain app using
// @langchain/openai ChatOpenAI and OpenAIEmbeddings. initialize() enables both
// (the LangChain one patches CallbackManager; the OpenAI one patches the openai
// package that @langchain/openai requires).
const path = require('node:path');
const traceloop = require('@traceloop/node-server-sdk');

traceloop.initialize({
  appName: 'conformance-traceloop-langchain',
  baseUrl: process.env.OTLP_URL, // exporter posts to <baseUrl>/v1/traces (OTLP protobuf)
  disableBatch: false, // BatchSpanProcessor
  traceContent: true,
  traceloopSyncEnabled: false,
  silenceInitializationMessage: true,
});

const { trace } = require('@opentelemetry/api');
const { ChatOpenAI, OpenAIEmbeddings } = require('@langchain/openai');
const { HumanMessage, SystemMessage } = require('@langchain/core/messages');
const { tool } = require('@langchain/core/tools');
const { z } = require('zod');

const LIB = 'traceloop-langchain';
const tracer = trace.getTracer('conformance-app');

async function main() {
  const { directive, declare } = await import(path.resolve(__dirname, '../../harness/common.mjs'));
  const common = { apiKey: 'sk-conformance', maxRetries: 0, configuration: { baseURL: `${process.env.MOCK_URL}/v1` } };
  const chat = new ChatOpenAI({ model: 'gpt-4o-mini', ...common });

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

  // 1. chat, non-streaming, PII in and out, cached prompt tokens.
  await call(1, { op: 'chat' }, async () => {
    const r = await chat.invoke([
      new SystemMessage('You are a helpful support agent.'),
      new HumanMessage(`Please email jane.doe@example.com about my order ${directive(1, { in: 120, out: 30, cache_read: 64, pii_out: true })}`),
    ]);
    console.error('call 1:', r.content, JSON.stringify(r.usage_metadata));
  });

  // 2. chat, streaming; ChatOpenAI sends stream_options.include_usage (streamUsage defaults to true).
  await call(2, { op: 'chat' }, async () => {
    let text = '';
    let usage;
    for await (const chunk of await chat.stream([new HumanMessage(`Tell me a short story ${directive(2, { in: 90, out: 40, cache_read: 32 })}`)])) {
      text += chunk.content;
      if (chunk.usage_metadata) usage = chunk.usage_metadata;
    }
    console.error('call 2:', text, JSON.stringify(usage));
  });

  // 3. chat, streaming without include_usage (streamUsage: false).
  await call(3, { op: 'chat', gap: 'stream_usage_estimated' }, async () => {
    const noUsage = new ChatOpenAI({ model: 'gpt-4o-mini', streamUsage: false, ...common });
    let text = '';
    for await (const chunk of await noUsage.stream([new HumanMessage(`Tell me another story ${directive(3, { in: 70, out: 25 })}`)])) text += chunk.content;
    console.error('call 3:', text);
  });

  // 4. reasoning model.
  await call(4, { op: 'chat' }, async () => {
    const reasoner = new ChatOpenAI({ model: 'o3-mini', reasoning: { effort: 'low' }, ...common });
    const r = await reasoner.invoke([new HumanMessage(`Solve 12*13 step by step ${directive(4, { in: 60, out: 50, reasoning: 32 })}`)]);
    console.error('call 4:', r.content, JSON.stringify(r.usage_metadata));
  });

  // 5. tool call response.
  await call(5, { op: 'chat' }, async () => {
    const getWeather = tool(async ({ city }) => `Sunny in ${city}`, {
      name: 'get_weather',
      description: 'Current weather for a city',
      schema: z.object({ city: z.string() }),
    });
    const r = await chat.bindTools([getWeather]).invoke([new HumanMessage(`What is the weather in Paris? ${directive(5, { in: 85, out: 18, tool: 'get_weather' })}`)]);
    console.error('call 5:', JSON.stringify(r.tool_calls));
  });

  // 6. embeddings.
  await call(6, { op: 'embeddings', gap: 'no_span' }, async () => {
    const emb = new OpenAIEmbeddings({ model: 'text-embedding-3-small', ...common });
    const v = await emb.embedQuery(`The quick brown fox ${directive(6, { in: 12 })}`);
    console.error('call 6: dims', v.length);
  });

  // 7. error 429, retries disabled.
  await call(7, { op: 'chat', error: 429 }, async () => {
    await chat.invoke([new HumanMessage(`This will be rate limited ${directive(7, { error: 429 })}`)]);
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
