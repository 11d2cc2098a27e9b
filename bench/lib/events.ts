/**
 * The fan-out write and how a subscriber reads it back. A write stamps the Thing's name with its
 * number and the shared monotonic clock (`w<n>:<µs>`); every delivery carries that name, so any
 * process can compute write→delivery latency without parsing the whole frame.
 */
export type Subscription = 'none' | 'raw' | 'dcrf-instance' | 'graphql-thing';
export type WriterKind = 'dcrf' | 'raw' | 'raw-graphql' | 'graphql';

/** The Thing every fan-out subscriber watches. */
export const WATCHED_PK = 1;

export function stampedName(write: number, atUs: number): string {
  return `w${write}:${atUs}`;
}

const STAMP = /"name":"w(\d+):(\d+)"/;

/** The write number and its send time in a delivered frame, or undefined for any other frame. */
export function readStamp(text: string): { write: number; atUs: number } | undefined {
  const match = STAMP.exec(text);
  return match ? { write: Number(match[1]), atUs: Number(match[2]) } : undefined;
}

export const THING_CHANGED = 'subscription Changed($id: ID!) { thingChanged(id: $id) { action data { id name counter } } }';
export const PATCH_THING = 'mutation Patch($id: ID!, $name: String!) { patchThing(id: $id, input: { name: $name }) { id } }';

/**
 * The frame a writer sends. DCRF: a `patch` of the watched Thing. Raw: the event frame itself, the
 * size and shape of the DCRF event, which the broadcast server relays as is; raw-graphql: the same for
 * the GraphQL `next` message of the event. GraphQL: `patchThing`.
 */
export function writeFrame(kind: WriterKind, write: number, atUs: number): string {
  const name = stampedName(write, atUs);
  if (kind === 'dcrf') return JSON.stringify({ action: 'patch', pk: WATCHED_PK, data: { name }, request_id: `w${write}` });
  if (kind === 'graphql') {
    return JSON.stringify({
      id: `w${write}`,
      type: 'subscribe',
      payload: { query: PATCH_THING, variables: { id: String(WATCHED_PK), name } },
    });
  }
  if (kind === 'raw-graphql') {
    return JSON.stringify({
      id: '1',
      type: 'next',
      payload: { data: { thingChanged: { action: 'UPDATE', data: { id: String(WATCHED_PK), name, counter: 0 } } } },
    });
  }
  return JSON.stringify({ errors: [], data: { pk: WATCHED_PK, name, counter: 0 }, action: 'update', response_status: 200, request_id: 0 });
}
