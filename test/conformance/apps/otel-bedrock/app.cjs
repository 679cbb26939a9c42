// Capture app: the official OpenTelemetry aws-sdk instrumentation
// (@opentelemetry/instrumentation-aws-sdk, whose Bedrock Runtime extension
// follows the GenAI semantic conventions) with @aws-sdk/client-bedrock-runtime,
// set up with NodeSDK and exporting traces and metrics over OTLP/HTTP
// protobuf. The instrumentation emits no logs and has no content-capture
// switch (its Bedrock extension records no message content at all).
'use strict';

const path = require('node:path');
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-proto');
const { PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { AwsInstrumentation } = require('@opentelemetry/instrumentation-aws-sdk');

const LIB = 'otel-bedrock';
const OTLP_URL = process.env.OTLP_URL;

const sdk = new NodeSDK({
  serviceName: 'conformance-' + LIB,
  traceExporter: new OTLPTraceExporter({ url: OTLP_URL + '/v1/traces' }),
  metricReaders: [new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: OTLP_URL + '/v1/metrics' }),
    exportIntervalMillis: 60000,
  })],
  instrumentations: [new AwsInstrumentation()],
});
sdk.start();

// The provider SDK is required only after the instrumentation is registered.
const {
  BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand, InvokeModelWithResponseStreamCommand,
} = require('@aws-sdk/client-bedrock-runtime');
const { NodeHttpHandler } = require('@smithy/node-http-handler');
const { trace } = require('@opentelemetry/api');

const CLAUDE = 'us.anthropic.claude-3-5-sonnet-20241022-v2:0';
const TITAN_EMBED = 'amazon.titan-embed-text-v2:0';

async function main() {
  const { directive, declare } = await import(path.join(__dirname, '../../harness/common.mjs'));
  const tracer = trace.getTracer('conformance');
  const client = new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: process.env.MOCK_URL,
    credentials: { accessKeyId: 'AKIDCONFORMANCE', secretAccessKey: 'conformance-secret' },
    maxAttempts: 1, // no retries (the 429 calls must fail once)
    // The Bedrock Runtime client defaults to an HTTP/2 handler; the mock
    // provider speaks HTTP/1.1 over plain http, so use the HTTP/1.1 handler.
    requestHandler: new NodeHttpHandler(),
  });

  const inCall = (n, fn) => tracer.startActiveSpan('conformance.call', { attributes: { 'conformance.call': n } }, async (span) => {
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
  const userMsg = (text) => [{ role: 'user', content: [{ text }] }];
  const expect429 = async (fn) => {
    try {
      await fn();
      throw new Error('expected a 429');
    } catch (e) {
      if (e.$metadata?.httpStatusCode !== 429) throw e;
    }
  };
  const anthropicBody = (text, extra = {}) => JSON.stringify({
    anthropic_version: 'bedrock-2023-05-31',
    max_tokens: 256,
    messages: [{ role: 'user', content: [{ type: 'text', text }] }],
    ...extra,
  });
  // Bedrock has no end-user field the instrumentation reads: user is null.
  const base = { lib: LIB, user: null, content: false };

  // 1. Converse, non-streaming, PII in the prompt and in the reply.
  await inCall(1, () => client.send(new ConverseCommand({
    modelId: CLAUDE,
    system: [{ text: 'You are a helpful shop assistant.' }],
    messages: userMsg('Please email jane.doe@example.com about my order ' + directive(1, { in: 200, out: 25, cache_read: 120, cache_write: 30, pii_out: true })),
    inferenceConfig: { maxTokens: 256, temperature: 0.2, topP: 0.9 },
  })));
  // Confirmed in the capture: gen_ai.usage.input_tokens is Bedrock's uncached
  // inputTokens and the cache read/write counts are dropped.
  declare(1, { ...base, op: 'chat', gap: 'no_cache_tokens' });

  // 2. ConverseStream.
  await inCall(2, async () => {
    const res = await client.send(new ConverseStreamCommand({
      modelId: CLAUDE,
      messages: userMsg('Tell me a short story ' + directive(2, { in: 150, out: 40, cache_read: 100 })),
      inferenceConfig: { maxTokens: 256 },
    }));
    for await (const ev of res.stream) void ev;
  });
  declare(2, { ...base, op: 'chat', gap: 'no_cache_tokens' });

  // 3. (OpenAI only: streaming without usage) skipped.
  // 4. (reasoning) skipped: the extension reads no reasoning/thinking data.

  // 5. Converse with a tool-use response.
  await inCall(5, () => client.send(new ConverseCommand({
    modelId: CLAUDE,
    messages: userMsg('What is the weather in Paris? ' + directive(5, { in: 80, out: 20, tool: 'get_weather' })),
    toolConfig: {
      tools: [{
        toolSpec: {
          name: 'get_weather',
          description: 'Current weather for a city',
          inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
        },
      }],
    },
  })));
  declare(5, { ...base, op: 'chat' });

  // 6. Titan text embeddings through InvokeModel.
  await inCall(6, () => client.send(new InvokeModelCommand({
    modelId: TITAN_EMBED,
    contentType: 'application/json',
    accept: 'application/json',
    body: JSON.stringify({ inputText: 'The quick brown fox ' + directive(6, { in: 12 }), dimensions: 256, normalize: true }),
  })));
  declare(6, { ...base, op: 'embeddings' });

  // 7. Converse error 429 (ThrottlingException), no retries.
  await inCall(7, () => expect429(() => client.send(new ConverseCommand({
    modelId: CLAUDE,
    messages: userMsg('This one fails ' + directive(7, { error: 429 })),
  }))));
  declare(7, { ...base, op: 'chat', error: 429 });

  // 8. InvokeModel with an Anthropic Messages body.
  await inCall(8, async () => {
    const res = await client.send(new InvokeModelCommand({
      modelId: CLAUDE,
      contentType: 'application/json',
      accept: 'application/json',
      body: anthropicBody('Summarise my order ' + directive(8, { in: 200, out: 25, cache_read: 120, cache_write: 30 }), { temperature: 0.5, system: 'Answer briefly.' }),
    }));
    JSON.parse(new TextDecoder().decode(res.body));
  });
  declare(8, { ...base, op: 'chat', gap: 'no_cache_tokens' });

  // 9. InvokeModelWithResponseStream with an Anthropic Messages body.
  await inCall(9, async () => {
    const res = await client.send(new InvokeModelWithResponseStreamCommand({
      modelId: CLAUDE,
      contentType: 'application/json',
      accept: 'application/json',
      body: anthropicBody('Stream my order summary ' + directive(9, { in: 180, out: 35, cache_read: 100, cache_write: 20 })),
    }));
    for await (const ev of res.body) void ev;
  });
  // Confirmed in the capture: output_tokens is the placeholder 1 of
  // message_start (message_delta's usage is never read), cache counts dropped.
  declare(9, { ...base, op: 'chat', gap: 'wrong_output_tokens_on_stream' });

  // 10. ConverseStream error 429.
  await inCall(10, () => expect429(() => client.send(new ConverseStreamCommand({
    modelId: CLAUDE,
    messages: userMsg('This stream fails ' + directive(10, { error: 429 })),
  }))));
  // Confirmed in the capture: a failed stream call's span is never ended, so
  // nothing is exported for it.
  declare(10, { ...base, op: 'chat', error: 429, gap: 'no_span_on_error' });
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => sdk.shutdown());
