/**
 * The request frames of each request/reply workload, and how a client tells a reply is complete and
 * good. The DCRF frames are sent as they are to the raw baselines too (echo returns them; the raw
 * SQLite server answers them), so every target gets the same bytes.
 */
export type Workload = 'retrieve' | 'crud-mix' | 'patch' | 'graphql-query';

/** Things seeded in every server (1..THINGS). */
export const THINGS = 20;

/** A small deterministic generator, one per socket, so runs send the same sequence. */
export function generator(seed: number): () => number {
  let state = (seed * 2654435761) >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

export const THING_QUERY = 'query Thing($id: ID!) { thing(id: $id) { id name counter } }';

/**
 * The text of request `seq` of socket number `socket`. `patch`: every socket patches its own row
 * (pk = socket + 1: the server must hold as many rows as sockets), so writes never wait on each
 * other's row, only on the database.
 */
export function requestFrame(workload: Workload, seq: number, random: () => number, socket: number): string {
  if (workload === 'patch') return JSON.stringify({ action: 'patch', pk: socket + 1, data: { counter: seq }, request_id: seq });
  const pk = 1 + Math.floor(random() * THINGS);
  if (workload === 'graphql-query') {
    return JSON.stringify({ id: String(seq), type: 'subscribe', payload: { query: THING_QUERY, variables: { id: String(pk) } } });
  }
  if (workload === 'crud-mix') {
    const roll = random();
    if (roll < 0.1) return JSON.stringify({ action: 'list', request_id: seq });
    if (roll < 0.2) return JSON.stringify({ action: 'patch', pk, data: { counter: seq }, request_id: seq });
  }
  return JSON.stringify({ action: 'retrieve', pk, request_id: seq });
}

export type ReplyVerdict = 'done' | 'error' | 'partial';

/**
 * Reads one incoming frame of a request in flight. DCRF: one reply, good when its status is 2xx
 * (`checkStatus` false for the echo server, which returns the request). GraphQL: `next` then `complete`.
 */
export function readReply(workload: Workload, text: string, checkStatus: boolean): ReplyVerdict {
  if (workload === 'graphql-query') {
    if (text.includes('"type":"complete"')) return 'done';
    if (text.includes('"type":"next"')) return text.includes('"errors"') ? 'error' : 'partial';
    return 'error';
  }
  if (!checkStatus) return 'done';
  return /"response_status":2\d\d/.test(text) ? 'done' : 'error';
}
