// Conformance capture app: OpenLLMetry (Traceloop) MCP instrumentation with an
// in-process MCP server (one tool) and client over the SDK's in-memory
// transport, plus the OpenAI instrumentation for the chat calls that request
// and then consume the tool.
//
// The MCP instrumentation's require hooks name "@modelcontextprotocol/sdk/client"
// and ".../client/index.js", but a CommonJS require resolves to
// ".../dist/cjs/client/index.js", so the hooks never fire (checked with
// @modelcontextprotocol/sdk 1.32.2). The SDK's documented fallback is
// initialize({ instrumentModules }), which patches the given modules directly;
// with it only the listed modules are instrumented, so openai is listed too.
const path = require('node:path');
const traceloop = require('@traceloop/node-server-sdk');
const { OpenAI } = require('openai');
const mcpClientModule = require('@modelcontextprotocol/sdk/client/index.js');

traceloop.initialize({
  appName: 'conformance-traceloop-mcp',
  baseUrl: process.env.OTLP_URL, // exporter posts to <baseUrl>/v1/traces (OTLP protobuf)
  disableBatch: false, // BatchSpanProcessor
  traceContent: true,
  traceloopSyncEnabled: false,
  silenceInitializationMessage: true,
  instrumentModules: { openAI: OpenAI, mcp: mcpClientModule },
});

const { trace } = require('@opentelemetry/api');
const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
const { InMemoryTransport } = require('@modelcontextprotocol/sdk/inMemory.js');
const { z } = require('zod');

const LIB = 'traceloop-mcp';
const tracer = trace.getTracer('conformance-app');

function weatherServer() {
  const server = new McpServer({ name: 'conformance-weather', version: '1.0.0' });
  server.registerTool(
    'get_weather',
    { description: 'Current weather for a city', inputSchema: { city: z.string() } },
    async ({ city }) => ({ content: [{ type: 'text', text: `Sunny, 21C in ${city}` }] }),
  );
  return server;
}

async function main() {
  const { directive, declare } = await import(path.resolve(__dirname, '../../harness/common.mjs'));
  const openai = new OpenAI({ apiKey: 'sk-conformance', baseURL: `${process.env.MOCK_URL}/v1`, maxRetries: 0 });

  async function call(n, facts, fn) {
    await tracer.startActiveSpan('conformance.call', { attributes: { 'conformance.call': n } }, async (span) => {
      try {
        await traceloop.withAssociationProperties({ [traceloop.AssociationProperty.USER_ID]: `user-${n}` }, fn);
      } finally {
        span.end();
      }
    });
    declare(n, { lib: LIB, user: `user-${n}`, content: true, ...facts });
  }

  const question = 'What is the weather in Paris?';
  let toolCall;
  let toolResult;

  // 1. The MCP session (connect, tools/list), an OpenAI chat call offered the
  // MCP tools that answers with a tool call, and the MCP tools/call.
  await call(1, { op: 'chat' }, async () => {
    const server = weatherServer();
    const client = new mcpClientModule.Client({ name: 'conformance-client', version: '1.0.0' });
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    await server.connect(serverTransport);
    await client.connect(clientTransport);
    try {
      const { tools } = await client.listTools();
      const r = await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `${question} ${directive(1, { in: 85, out: 18, tool: 'get_weather' })}` }],
        tools: tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.inputSchema } })),
      });
      toolCall = r.choices[0].message.tool_calls[0];
      const res = await client.callTool({ name: toolCall.function.name, arguments: JSON.parse(toolCall.function.arguments) });
      toolResult = res.content[0].text;
      console.error('call 1: tool', toolCall.function.name, '->', toolResult);
    } finally {
      await client.close();
      await server.close();
    }
  });

  // 2. The follow-up chat call with the tool result.
  await call(2, { op: 'chat' }, async () => {
    const r = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'user', content: question },
        { role: 'assistant', content: null, tool_calls: [toolCall] },
        { role: 'tool', tool_call_id: toolCall.id, content: toolResult },
        { role: 'user', content: `Answer briefly. ${directive(2, { in: 140, out: 12, cache_read: 64 })}` },
      ],
    });
    console.error('call 2:', r.choices[0].message.content);
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
