/**
 * `graphql`: placeholder until the GraphQL endpoint is wired into the demo app.
 */
import { startServer, stopAll, TARGETS, type Settings } from '../lib/harness.js';
import type { CaseResult } from '../lib/results.js';

export async function graphqlCase(settings: Settings): Promise<CaseResult> {
  const probe = await startServer(TARGETS.system, settings);
  const wired = Boolean(probe.graphql);
  await stopAll([probe]);
  if (!wired) return { name: 'graphql', available: false, note: 'the demo app (startDemo) serves no GraphQL endpoint yet', rows: [] };
  return { name: 'graphql', available: false, note: 'not measured yet', rows: [] };
}
