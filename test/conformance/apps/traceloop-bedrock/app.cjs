// Conformance capture app: OpenLLMetry (Traceloop) Bedrock instrumentation
// with @aws-sdk/client-bedrock-runtime against the mock's Bedrock routes.
const path = require('node:path');
const traceloop = require('@traceloop/node-server-sdk');

traceloop.initialize({
  appName: 'conformance-traceloop-bedrock',
  baseUrl: process.env.OTLP_URL, // exporter posts to <baseUrl>/v1/traces (OTLP protobuf)
  disableBatch: false, // BatchSpanProcessor
  traceContent: true,
  traceloopSyncEnabled: false,
  silenceInitializationMessage: true,
});

const { trace } = require('@opentelemetry/api');
const {
  BedrockRuntimeClient,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  ConverseCommand,
  ConverseStreamCommand,
} = require('@aws-sdk/client-bedrock-runtime');
// The client defaults to an HTTP/2 handler; the mock speaks HTTP/1.1.
const { NodeHttpHandler } = require('@smithy/node-http-handler');

const LIB = 'traceloop-bedrock';
const CLAUDE = 'us.anthropic.claude-3-5-sonnet-20241022-v2:0';
const tracer = trace.getTracer('conformance-app');

async function main() {
  const { directive, declare } = await import(path.resolve(__dirname, '../../harness/common.mjs'));
  const client = new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: process.env.MOCK_URL,
    credentials: { accessKeyId: 'AKIDCONFORMANCE', secretAccessKey: 'conformance-secret' },
    maxAttempts: 1, // no retries
    requestHandler: new NodeHttpHandler(),
  });

  async function call(n, facts, fn) {
    await tracer.startActiveSpan('conformance.call', { attributes: { 'conformance.call': n } }, async (span) => {
      try {
        await traceloop.withAssociationProperties({ [traceloop.AssociationProperty.USER_ID]: `user-${n}` }, fn);
      } catch (e) {
        if (!facts.error) throw e;
        console.error(`call ${n}: expected error: ${e.$metadata?.httpStatusCode ?? ''} ${e.name}: ${e.message}`);
      } finally {
        span.end();
      }
    });
    declare(n, { lib: LIB, user: `user-${n}`, content: true, ...facts });
  }

  const invoke = async (modelId, body) => {
    const r = await client.send(new InvokeModelCommand({ modelId, contentType: 'application/json', accept: 'application/json', body: JSON.stringify(body) }));
    return JSON.parse(new TextDecoder().decode(r.body));
  };
  const claudeBody = (text, extra = {}) => ({
    anthropic_version: 'bedrock-2023-05-31',
    max_tokens: 256,
    system: 'You are a helpful support agent.',
    messages: [{ role: 'user', content: [{ type: 'text', text }] }],
    ...extra,
  });
  const weatherToolClaude = { name: 'get_weather', description: 'Current weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

  // 1. InvokeModel, Anthropic body, non-streaming, PII in and out, cache read and write.
  await call(1, { op: 'chat', gap: 'no_cache_tokens' }, async () => {
    const r = await invoke(CLAUDE, claudeBody(`Please email jane.doe@example.com about my order ${directive(1, { in: 200, out: 25, cache_read: 120, cache_write: 30, pii_out: true })}`));
    console.error('call 1:', r.content[0].text);
  });

  // 2. InvokeModelWithResponseStream, Anthropic body. The instrumentation reads
  // the whole event stream itself before send() resolves, so the app sees
  // what is left of it.
  await call(2, { op: 'chat', gap: 'no_cache_tokens' }, async () => {
    const r = await client.send(new InvokeModelWithResponseStreamCommand({
      modelId: CLAUDE, contentType: 'application/json', accept: 'application/json',
      body: JSON.stringify(claudeBody(`Tell me a short story ${directive(2, { in: 180, out: 40, cache_read: 100, cache_write: 20 })}`)),
    }));
    let text = '';
    let events = 0;
    for await (const ev of r.body) {
      events++;
      const chunk = JSON.parse(new TextDecoder().decode(ev.chunk?.bytes));
      if (chunk.type === 'content_block_delta') text += chunk.delta.text ?? '';
    }
    console.error(`call 2: ${events} events read by the app: ${JSON.stringify(text)}`);
  });

  // 3. (OpenAI only) and 4. reasoning: skipped (no thinking tokens on Bedrock Claude in the mock).

  // 5. InvokeModel, Anthropic body with tools: tool_use response.
  await call(5, { op: 'chat' }, async () => {
    const r = await invoke(CLAUDE, claudeBody(`What is the weather in Paris? ${directive(5, { in: 95, out: 20, tool: 'get_weather' })}`, { tools: [weatherToolClaude] }));
    console.error('call 5:', JSON.stringify(r.content));
  });

  // 6. InvokeModel, Titan embeddings.
  await call(6, { op: 'embeddings' }, async () => {
    const r = await invoke('amazon.titan-embed-text-v2:0', { inputText: `The quick brown fox ${directive(6, { in: 12 })}`, dimensions: 256, normalize: true });
    console.error('call 6: dims', r.embedding.length, 'tokens', r.inputTextTokenCount);
  });

  // 7. InvokeModel error 429 (ThrottlingException), maxAttempts 1.
  await call(7, { op: 'chat', error: 429 }, async () => {
    await invoke(CLAUDE, claudeBody(`This will be throttled ${directive(7, { error: 429 })}`));
  });

  // 8. Converse, non-streaming, with cache read and write. Converse and
  // ConverseStream get a bare 'bedrock.completion' span: no usage, no content.
  await call(8, { op: 'chat', gap: 'no_usage' }, async () => {
    const r = await client.send(new ConverseCommand({
      modelId: CLAUDE,
      system: [{ text: 'You are a helpful support agent.' }],
      messages: [{ role: 'user', content: [{ text: `Summarise my last order ${directive(8, { in: 150, out: 20, cache_read: 60, cache_write: 10 })}` }] }],
      inferenceConfig: { maxTokens: 256, temperature: 0.2 },
    }));
    console.error('call 8:', r.output.message.content[0].text, JSON.stringify(r.usage));
  });

  // 9. ConverseStream.
  await call(9, { op: 'chat', gap: 'no_usage' }, async () => {
    const r = await client.send(new ConverseStreamCommand({
      modelId: CLAUDE,
      messages: [{ role: 'user', content: [{ text: `Stream a story ${directive(9, { in: 130, out: 35, cache_read: 50 })}` }] }],
      inferenceConfig: { maxTokens: 256 },
    }));
    let text = '';
    for await (const ev of r.stream) if (ev.contentBlockDelta) text += ev.contentBlockDelta.delta?.text ?? '';
    console.error('call 9:', text);
  });

  // 10. Converse with a tool: toolUse response.
  await call(10, { op: 'chat', gap: 'no_usage' }, async () => {
    const r = await client.send(new ConverseCommand({
      modelId: CLAUDE,
      messages: [{ role: 'user', content: [{ text: `What is the weather in Paris? ${directive(10, { in: 90, out: 18, tool: 'get_weather' })}` }] }],
      toolConfig: { tools: [{ toolSpec: { name: 'get_weather', description: 'Current weather for a city', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } } }] },
    }));
    console.error('call 10:', JSON.stringify(r.output.message.content));
  });

  // 11. InvokeModel, Titan text (text completion).
  await call(11, { op: 'text_completion' }, async () => {
    const r = await invoke('amazon.titan-text-express-v1', {
      inputText: `Write a haiku about the sea ${directive(11, { in: 40, out: 17 })}`,
      textGenerationConfig: { maxTokenCount: 128, temperature: 0.5, topP: 0.9 },
    });
    console.error('call 11:', r.results[0].outputText);
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
