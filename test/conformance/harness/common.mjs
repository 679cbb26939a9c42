// Helpers shared by the capture apps. No dependencies.
import fs from 'node:fs';

export const MOCK_URL = process.env.MOCK_URL;
export const OTLP_URL = process.env.OTLP_URL;

// directive builds the marker the mock provider reads its token rules from.
export function directive(call, rules = {}) {
  const parts = [`call=${call}`];
  for (const [k, v] of Object.entries(rules)) parts.push(v === true ? k : `${k}=${v}`);
  return `[[${parts.join(' ')}]]`;
}

// declare records what the app did for one call, for the replay test:
//   call     the id in the directive
//   op       chat | embeddings | text_completion
//   user     the end user the app attached through the library, or null
//   content  true when the app asked the library to capture message content
//   gap      a library limitation that makes the call unmeasurable
//            (e.g. "no_usage_on_stream", "no_span_on_error"), or undefined
export function declare(call, facts) {
  fs.appendFileSync(process.env.CALLS_FILE, JSON.stringify({ call, ...facts }) + '\n');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
