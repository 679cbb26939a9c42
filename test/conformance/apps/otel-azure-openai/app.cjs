// Capture app: the official OpenTelemetry openai instrumentation
// (@opentelemetry/instrumentation-openai) with the AzureOpenAI client of the
// openai SDK, calling Azure OpenAI deployment paths
// (/openai/deployments/<deployment>/...?api-version=2024-10-21). NodeSDK
// exports traces, logs and metrics over OTLP/HTTP protobuf. Content capture is
// on through OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true.
'use strict';
process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = 'true';

const path = require('node:path');
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-proto');
const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-proto');
const { BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');

const LIB = 'otel-azure-openai';
const OTLP_URL = process.env.OTLP_URL;

const sdk = new NodeSDK({
  serviceName: 'conformance-' + LIB,
  traceExporter: new OTLPTraceExporter({ url: OTLP_URL + '/v1/traces' }),
  logRecordProcessors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: OTLP_URL + '/v1/logs' }) })],
  metricReaders: [new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: OTLP_URL + '/v1/metrics' }),
    exportIntervalMillis: 60000,
  })],
  instrumentations: [new OpenAIInstrumentation()],
});
sdk.start();

// The provider SDK is required only after the instrumentation is registered.
const { AzureOpenAI } = require('openai');
const { trace } = require('@opentelemetry/api');

async function main() {
  const { directive, declare } = await import(path.join(__dirname, '../../harness/common.mjs'));
  const tracer = trace.getTracer('conformance');
  // The client is configured with an Azure-style resource endpoint, as a real
  // app is, so that server.address reads <resource>.openai.azure.com (the only
  // Azure hint this instrumentation gives). A custom fetch (a documented
  // client option) sends the requests to the mock provider instead.
  // No `deployment` option: the client puts the request's `model` (the
  // deployment name) into the path, /openai/deployments/<model>/...
  const mock = new URL(process.env.MOCK_URL);
  const azureEndpoint = `http://conformance-res.openai.azure.com:${mock.port}`;
  const client = new AzureOpenAI({
    endpoint: azureEndpoint,
    apiKey: 'azure-conformance-key',
    apiVersion: '2024-10-21',
    maxRetries: 0,
    fetch: (url, init) => fetch(String(url).replace(azureEndpoint, mock.origin), init),
  });

  const inCall = (n, fn) => tracer.startActiveSpan('conformance.call', { attributes: { 'conformance.call': n } }, async (span) => {
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
  const drain = async (stream) => {
    let text = '';
    for await (const chunk of stream) text += chunk.choices?.[0]?.delta?.content ?? '';
    return text;
  };
  const weatherTool = {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  };

  // Every request carries the OpenAI `user` field (user-N; the ledger records
  // it), but this instrumentation has no end-user mechanism and never reads
  // that field, so each call is declared with user: null.

  // 1. chat, non-streaming, user, PII in the prompt and in the reply.
  await inCall(1, () => client.chat.completions.create({
    model: 'prod-chat',
    user: 'user-1',
    messages: [
      { role: 'system', content: 'You are a helpful shop assistant.' },
      { role: 'user', content: 'Please email jane.doe@example.com about my order ' + directive(1, { in: 120, out: 30, cache_read: 64, pii_out: true }) },
    ],
    temperature: 0.2,
    max_tokens: 200,
  }));
  declare(1, { lib: LIB, op: 'chat', user: null, content: true });

  // 2. chat, streaming with include_usage.
  await inCall(2, async () => drain(await client.chat.completions.create({
    model: 'prod-chat',
    user: 'user-2',
    messages: [{ role: 'user', content: 'Tell me a short story ' + directive(2, { in: 90, out: 40, cache_read: 32 }) }],
    stream: true,
    stream_options: { include_usage: true },
  })));
  declare(2, { lib: LIB, op: 'chat', user: null, content: true });

  // 3. chat, streaming without include_usage: no usage is sent at all.
  await inCall(3, async () => drain(await client.chat.completions.create({
    model: 'prod-chat',
    user: 'user-3',
    messages: [{ role: 'user', content: 'Tell me another story ' + directive(3, { in: 70, out: 25 }) }],
    stream: true,
  })));
  declare(3, { lib: LIB, op: 'chat', user: null, content: true, gap: 'no_usage_on_stream' });

  // 4. reasoning model: a deployment named after the model it serves.
  await inCall(4, () => client.chat.completions.create({
    model: 'o3-mini',
    user: 'user-4',
    reasoning_effort: 'low',
    messages: [{ role: 'user', content: 'What is 17 * 23? ' + directive(4, { in: 80, out: 50, reasoning: 32 }) }],
  }));
  declare(4, { lib: LIB, op: 'chat', user: null, content: true });

  // 5. tool call response.
  await inCall(5, () => client.chat.completions.create({
    model: 'prod-chat',
    user: 'user-5',
    messages: [{ role: 'user', content: 'What is the weather in Paris? ' + directive(5, { in: 60, out: 15, tool: 'get_weather' }) }],
    tools: [weatherTool],
  }));
  declare(5, { lib: LIB, op: 'chat', user: null, content: true });

  // 6. embeddings.
  await inCall(6, () => client.embeddings.create({
    model: 'prod-embed',
    user: 'user-6',
    input: 'The quick brown fox ' + directive(6, { in: 12 }),
  }));
  declare(6, { lib: LIB, op: 'embeddings', user: null, content: true });

  // 7. error 429, no retries.
  await inCall(7, async () => {
    try {
      await client.chat.completions.create({
        model: 'prod-chat',
        user: 'user-7',
        messages: [{ role: 'user', content: 'This one fails ' + directive(7, { error: 429 }) }],
      });
      throw new Error('call 7 should have failed');
    } catch (e) {
      if (e.status !== 429) throw e;
    }
  });
  declare(7, { lib: LIB, op: 'chat', user: null, content: true, error: 429 });
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => sdk.shutdown());
