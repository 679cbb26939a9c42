// Conformance app: a guardrail / RAG app written against OpenInference's own
// helpers. @arizeai/openinference-core's traceGuardrail, traceEvaluator,
// traceChain and traceRetriever make GUARDRAIL, EVALUATOR, CHAIN and
// RETRIEVER spans; the provider calls inside them are made with the openai
// client, instrumented by @arizeai/openinference-instrumentation-openai. User
// and session ids go on every OpenInference span through setUser/setSession.
'use strict';
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { context, trace } = require('@opentelemetry/api');
const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { OpenAIInstrumentation } = require('@arizeai/openinference-instrumentation-openai');
const {
  setUser, setSession, setMetadata,
  traceGuardrail, traceEvaluator, traceChain, traceRetriever,
  getEvaluationAttributes, getRetrieverAttributes, getOutputAttributes,
} = require('@arizeai/openinference-core');

const LIB = 'openinference-guardrail';

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': `conformance-${LIB}` }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${process.env.OTLP_URL}/v1/traces` }))],
});
provider.register();

registerInstrumentations({
  instrumentations: [
    new OpenAIInstrumentation({
      traceConfig: { hideInputs: false, hideOutputs: false, hideInputMessages: false, hideOutputMessages: false, hideInputText: false, hideOutputText: false },
    }),
  ],
});

const OpenAI = require('openai');

const tracer = trace.getTracer('conformance');
// The client keeps its default base URL, so that the instrumentation names
// the provider from the host as it does for a real app; fetch goes to the mock.
const toMock = (url, init) => fetch(String(url).replace(/^https:\/\/api\.openai\.com/, process.env.MOCK_URL), init);
const client = new OpenAI({ apiKey: 'sk-conformance', maxRetries: 0, fetch: toMock });

const PII = /[\w.+-]+@[\w-]+\.[\w.]+|\b(?:\d[ -]?){13,16}\b/;

// GUARDRAIL: an LLM judge decides whether the user's message may go on.
const inputGuardrail = traceGuardrail(async (message) => {
  const res = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a safety classifier. Reply ALLOW or BLOCK.' },
      { role: 'user', content: message },
    ],
  });
  const verdict = res.choices[0].message.content;
  return { passed: !PII.test(message), verdict };
}, { name: 'input-guardrail' });

// EVALUATOR with no provider call: checks an answer for leaked PII.
const piiEvaluator = traceEvaluator((answer) => {
  const leaked = PII.test(answer);
  trace.getActiveSpan()?.setAttributes(getEvaluationAttributes({
    evaluations: [{ name: 'pii_leak', label: leaked ? 'leaked' : 'clean', score: leaked ? 0 : 1, annotatorKind: 'CODE' }],
  }));
  return { leaked };
}, { name: 'pii-output-evaluator' });

// EVALUATOR that is itself an LLM judge.
const faithfulnessJudge = traceEvaluator(async (question, answer, rules) => {
  const res = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'Grade the answer for faithfulness from 0 to 1.' },
      { role: 'user', content: `Question: ${question}\nAnswer: ${answer}\n${rules}` },
    ],
  });
  const score = 0.9;
  trace.getActiveSpan()?.setAttributes(getEvaluationAttributes({
    evaluations: [{ name: 'faithfulness', score, label: 'faithful', explanation: res.choices[0].message.content, annotatorKind: 'LLM' }],
  }));
  return { score };
}, { name: 'faithfulness-judge' });

// RETRIEVER with no provider call: a fixed knowledge base.
const retrieve = traceRetriever((query) => {
  const documents = [
    { id: 'kb-1', content: 'Orders ship within 2 business days.', score: 0.92, metadata: { source: 'faq' } },
    { id: 'kb-2', content: 'Refunds are issued to the original card.', score: 0.71, metadata: { source: 'faq' } },
  ];
  trace.getActiveSpan()?.setAttributes(getRetrieverAttributes({ documents }));
  return documents;
}, { name: 'kb-retriever', processOutput: () => ({}) });

// CHAIN: retrieve, then answer with the documents.
const ragAnswer = traceChain(async (question, rules) => {
  const docs = retrieve(question);
  const res = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: `Answer from these documents:\n${docs.map((d) => d.content).join('\n')}` },
      { role: 'user', content: `${question} ${rules}` },
    ],
  });
  return res.choices[0].message.content;
}, { name: 'rag-answer', processOutput: (answer) => getOutputAttributes(answer) });

async function main() {
  const { directive, declare } = await import(pathToFileURL(path.join(__dirname, '../../harness/common.mjs')).href);

  const run = (n, fn) => {
    let ctx = setUser(context.active(), { userId: `user-${n}` });
    ctx = setSession(ctx, { sessionId: `session-${n}` });
    ctx = setMetadata(ctx, { app: 'conformance-guardrail', call: n });
    return context.with(ctx, () => tracer.startActiveSpan('conformance.call', { attributes: { 'conformance.call': n } }, async (span) => {
      try {
        return await fn();
      } finally {
        span.end();
      }
    }));
  };
  const facts = (n, extra = {}) => ({ lib: LIB, op: 'chat', user: `user-${n}`, content: true, ...extra });

  // 1. GUARDRAIL wrapping the judge's chat call (PII in, card number out),
  //    then an EVALUATOR (no provider call) on the judge's reply.
  await run(1, async () => {
    const g = await inputGuardrail(`Please email jane.doe@example.com about my order ${directive(1, { in: 120, out: 30, cache_read: 64, pii_out: true })}`);
    piiEvaluator(g.verdict);
  });
  declare(1, facts(1));

  // 2. CHAIN (RETRIEVER, then the answer's chat call), then an EVALUATOR
  //    (no provider call) on the answer.
  await run(2, async () => {
    const answer = await ragAnswer('When will my order ship?', directive(2, { in: 400, out: 40, cache_read: 256 }));
    piiEvaluator(answer);
  });
  declare(2, facts(2));

  // 3. EVALUATOR that is an LLM judge: its chat call nests under it.
  await run(3, async () => {
    await faithfulnessJudge('When will my order ship?', 'Within 2 business days.', directive(3, { in: 300, out: 5, cache_read: 128 }));
  });
  declare(3, facts(3));

  // 4. GUARDRAIL whose judge call fails with 429; the app goes on.
  await run(4, async () => {
    try {
      await inputGuardrail(`Is this allowed? ${directive(4, { error: 429 })}`);
    } catch (e) {
      console.error(`call 4: caught ${e.status} as expected`);
    }
  });
  declare(4, facts(4, { error: 429, gap: 'no_span_on_error' }));

  await provider.forceFlush();
  await provider.shutdown();
}

main().catch(async (e) => {
  console.error(e);
  try { await provider.shutdown(); } catch { /* ignore */ }
  process.exit(1);
});
