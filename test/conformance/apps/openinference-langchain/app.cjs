// Conformance app: Arize OpenInference instrumentation of LangChain.js
// (@langchain/core callbacks) with ChatOpenAI and OpenAIEmbeddings.
// Setup as the OpenInference docs show it for LangChain: a NodeTracerProvider
// exporting OTLP/protobuf through a BatchSpanProcessor, and the
// LangChainInstrumentation applied to @langchain/core's callback manager with
// manuallyInstrument. End-user ids go through OpenInference's setUser.
'use strict';
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { context, trace } = require('@opentelemetry/api');
const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { LangChainInstrumentation } = require('@arizeai/openinference-instrumentation-langchain');
const { setUser } = require('@arizeai/openinference-core');
const CallbackManagerModule = require('@langchain/core/callbacks/manager');

const LIB = 'openinference-langchain';

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': `conformance-${LIB}` }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${process.env.OTLP_URL}/v1/traces` }))],
});
provider.register();

const lcInstrumentation = new LangChainInstrumentation({
  traceConfig: { hideInputs: false, hideOutputs: false, hideInputMessages: false, hideOutputMessages: false, hideInputText: false, hideOutputText: false },
});
lcInstrumentation.manuallyInstrument(CallbackManagerModule);

const { ChatOpenAI, OpenAIEmbeddings } = require('@langchain/openai');
const { ChatPromptTemplate } = require('@langchain/core/prompts');
const { StringOutputParser } = require('@langchain/core/output_parsers');
const { BaseRetriever } = require('@langchain/core/retrievers');
const { Document } = require('@langchain/core/documents');
const { awaitAllCallbacks } = require('@langchain/core/callbacks/promises');

const tracer = trace.getTracer('conformance');

// A small retriever over a fixed corpus: it embeds the query with
// OpenAIEmbeddings and returns the nearest documents.
class KnowledgeBaseRetriever extends BaseRetriever {
  lc_namespace = ['conformance', 'retrievers'];

  constructor(fields) {
    super(fields);
    this.embeddings = fields.embeddings;
  }

  async _getRelevantDocuments(query) {
    await this.embeddings.embedQuery(query);
    return [
      new Document({ pageContent: 'Orders ship within 2 business days.', metadata: { id: 'kb-1', source: 'faq' } }),
      new Document({ pageContent: 'Refunds are issued to the original card.', metadata: { id: 'kb-2', source: 'faq' } }),
    ];
  }
}

async function main() {
  const { directive, declare } = await import(pathToFileURL(path.join(__dirname, '../../harness/common.mjs')).href);
  const configuration = { baseURL: `${process.env.MOCK_URL}/v1` };
  const common = { apiKey: 'sk-conformance', maxRetries: 0, configuration };
  const chat = new ChatOpenAI({ ...common, model: 'gpt-4o-mini' });

  const run = (n, fn) => {
    const ctx = setUser(context.active(), { userId: `user-${n}` });
    return context.with(ctx, () => tracer.startActiveSpan('conformance.call', { attributes: { 'conformance.call': n } }, async (span) => {
      try {
        return await fn();
      } finally {
        // LangChain runs callbacks in the background (one queue for the
        // process); a callback queued while an earlier call's callbacks are
        // still draining runs in that call's async context, and the
        // OpenInference tracer then parents a root run's span (and takes
        // user.id) from the wrong trace. Draining the queue before the next
        // call, as LangChain advises for short-lived processes, keeps each
        // call in its own trace.
        await awaitAllCallbacks();
        span.end();
      }
    }));
  };
  const facts = (n, extra = {}) => ({ lib: LIB, op: 'chat', user: `user-${n}`, content: true, ...extra });

  // 1. chat through a prompt template chain, PII in and out.
  const prompt = ChatPromptTemplate.fromMessages([
    ['system', 'You are a helpful support agent.'],
    ['human', '{question}'],
  ]);
  const chain = prompt.pipe(chat).pipe(new StringOutputParser());
  await run(1, async () => {
    await chain.invoke({ question: `Please email jane.doe@example.com about my order ${directive(1, { in: 120, out: 30, cache_read: 64, pii_out: true })}` });
  });
  declare(1, facts(1));

  // 2. chat, streaming; ChatOpenAI asks for stream_options.include_usage by default.
  await run(2, async () => {
    const stream = await chat.stream(`Tell me a short story ${directive(2, { in: 80, out: 40, cache_read: 32 })}`);
    for await (const _ of stream) { /* drain */ }
  });
  declare(2, facts(2));

  // 3. chat, streaming without include_usage (streamUsage: false).
  const chatNoUsage = new ChatOpenAI({ ...common, model: 'gpt-4o-mini', streamUsage: false });
  await run(3, async () => {
    const stream = await chatNoUsage.stream(`Tell me another story ${directive(3, { in: 60, out: 20 })}`);
    for await (const _ of stream) { /* drain */ }
  });
  declare(3, facts(3, { gap: 'no_usage_on_stream' }));

  // 4. reasoning model.
  const reasoner = new ChatOpenAI({ ...common, model: 'o3-mini', reasoning: { effort: 'low' } });
  await run(4, async () => {
    await reasoner.invoke(`Solve 17*23 step by step ${directive(4, { in: 90, out: 50, reasoning: 32 })}`);
  });
  declare(4, facts(4));

  // 5. tool call response.
  const withTools = chat.bindTools([{
    type: 'function',
    function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  }]);
  await run(5, async () => {
    await withTools.invoke(`What is the weather in Paris? ${directive(5, { in: 70, out: 15, tool: 'get_weather' })}`);
  });
  declare(5, facts(5));

  // 6. embeddings, inside a retriever step.
  const embeddings = new OpenAIEmbeddings({ ...common, model: 'text-embedding-3-small' });
  const retriever = new KnowledgeBaseRetriever({ embeddings });
  await run(6, async () => {
    await retriever.invoke(`When will my order ship? ${directive(6, { in: 12 })}`);
  });
  declare(6, facts(6, { op: 'embeddings', gap: 'no_span_for_embeddings' }));

  // 7. error 429, retries off, caught.
  await run(7, async () => {
    try {
      await chat.invoke(`This will be rate limited ${directive(7, { error: 429 })}`);
    } catch (e) {
      console.error(`call 7: caught ${e.status ?? e.message} as expected`);
    }
  });
  declare(7, facts(7, { error: 429 }));

  // 8. ChatOpenAI over the Responses API.
  const responsesChat = new ChatOpenAI({ ...common, model: 'gpt-4o-mini', useResponsesApi: true });
  await run(8, async () => {
    await responsesChat.invoke(`Summarise my last order ${directive(8, { in: 150, out: 40, cache_read: 100 })}`);
  });
  declare(8, facts(8));

  await awaitAllCallbacks();
  await provider.forceFlush();
  await provider.shutdown();
}

main().catch(async (e) => {
  console.error(e);
  try { await provider.shutdown(); } catch { /* ignore */ }
  process.exit(1);
});
