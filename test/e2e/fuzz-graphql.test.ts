/**
 * Fuzzing the GraphQL side over real sockets: generated and mutated documents (fragment chains,
 * alias bombs, nested lists with odd page arguments, deep nesting, introspection, mutations with
 * junk input, random text, junk variables) over HTTP, graphql-transport-ws and legacy graphql-ws at
 * once. Never a 5xx or INTERNAL_SERVER_ERROR, never a closed socket, always an answer, no error
 * logged, and /healthz keeps answering quickly throughout.
 *
 * FUZZ_GRAPHQL_DOCS sets the requests per protocol (default 300); FUZZ_SEED replays a run (printed).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { fuzzGraphQL, type GraphQLFinding } from '../helpers/graphql-fuzz.js';
import { captureLogs } from '../helpers/hardening.js';

const DOCUMENTS = Number(process.env.FUZZ_GRAPHQL_DOCS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app.close();
});

test(`random GraphQL documents over every protocol (seed ${SEED})`, async () => {
  const logs = captureLogs('error');
  const findings: GraphQLFinding[] = [];
  let result: Awaited<ReturnType<typeof fuzzGraphQL>>;
  try {
    result = await fuzzGraphQL({
      baseUrl: app.url,
      wsUrl: app.wsUrl,
      seed: SEED,
      documents: DOCUMENTS,
      report: (finding) => findings.push(finding),
    });
  } finally {
    logs.stop();
  }
  console.log(`# seed ${SEED}: ${result.sent} requests, slowest /healthz ${result.slowestHealthMs.toFixed(1)} ms`);
  assert.deepEqual(findings.slice(0, 10), [], `seed ${SEED}`);
  assert.equal(result.sent, DOCUMENTS * 3);
  assert.deepEqual(logs.raw, []);
  assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  const after = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"query":"{ __typename }"}',
  });
  assert.deepEqual(await after.json(), { data: { __typename: 'Query' } });
});
