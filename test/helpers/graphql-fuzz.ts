/**
 * GraphQL fuzzing, shared by the in-suite run (test/e2e/fuzz-graphql.test.ts) and the long one
 * (`npm run fuzz`): seeded generators of hostile documents (fragment chains, alias bombs, nested
 * lists with odd page arguments, deep nesting, introspection, mutations with junk input, random
 * text, mutated documents, junk variables) and a driver that sends them over HTTP,
 * graphql-transport-ws and legacy graphql-ws and reports anything a client should never see: a 5xx,
 * an INTERNAL_SERVER_ERROR, a closed socket (4500 or any other code), a missing answer, a
 * malformed message, or a /healthz slower than a bound while documents are being checked.
 */
import { getOperationAST, parse } from 'graphql';
import { WebSocket } from 'ws';

/** mulberry32: small, fast, seeded. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzPayload {
  query: unknown;
  variables?: unknown;
  operationName?: unknown;
}

const LIMITS = ['1', '2', '0', '-1', '5', '1000', '99999', '2147483647', '$n', 'null', '"x"', '1.5', '[1]'];
const IDS = ['"1"', '"2"', '"999999"', '"-1"', '"x"', '"1e3"', '""', '"\\u0000"', '1', '$id'];
const STRINGS = ['""', '"x"', `"${'x'.repeat(70)}"`, '"\\ud800"', '"\'; DROP TABLE things; --"', '"__proto__"', '1', 'null', 'true', '{}'];
const NUMBERS = ['0', '1', '-1', '2147483647', '2147483648', '1e3', '1.5', '"7"', 'null'];
const JUNK_ALPHABET = '{}()[]:.!$@#"\\\n\t ,=|&...abcdefghijklmnopqrstuvwxyz_0123456789ABCXYZ\u00e9\ud83d\ude00';

/** Seeded generators of GraphQL requests for the demo schema. */
export class GraphQLDocuments {
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = prng(seed);
  }

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  /** The next request: a document of a random kind, sometimes mutated, with odd variables now and then. */
  next(): FuzzPayload {
    const roll = this.random();
    let query: unknown;
    if (roll < 0.25) query = `{ ${this.selection('Query', 0, 4 + this.int(10))} }`;
    else if (roll < 0.38) query = this.fragmentChain();
    else if (roll < 0.46) query = this.aliases();
    else if (roll < 0.54) query = this.deepNesting();
    else if (roll < 0.58) query = this.introspection();
    else if (roll < 0.68) query = this.mutation();
    else if (roll < 0.72)
      query = this.pick(['subscription { thingActivity { action data { id } } }', 'subscription { joinedChat(chatId: "f") { username } }']);
    else if (roll < 0.8) query = this.junk();
    else query = this.mutate(`{ ${this.selection('Query', 0, 6)} }`);
    if (this.chance(0.02)) query = this.pick([null, 7, ['{ __typename }'], { query: '{ __typename }' }, '']);
    const payload: FuzzPayload = { query };
    if (this.chance(0.3)) payload.variables = this.variables();
    if (this.chance(0.05)) payload.operationName = this.pick(['A', '', 7, null, '__proto__', ['x']]);
    return payload;
  }

  private listArgs(): string {
    if (this.chance(0.4)) return '';
    const args = [];
    if (this.chance(0.8)) args.push(`limit: ${this.pick(LIMITS)}`);
    if (this.chance(0.4)) args.push(`offset: ${this.pick(LIMITS)}`);
    return args.length ? `(${args.join(', ')})` : '';
  }

  /** A selection on `type`, nesting through its object fields up to `maxDepth`. */
  private selection(type: string, depth: number, maxDepth: number): string {
    const nested = (field: string, inner: string) =>
      depth + 1 >= maxDepth ? '__typename' : `${field} { ${this.selection(inner, depth + 1, maxDepth)} }`;
    const options: Record<string, Array<() => string>> = {
      Query: [
        () => nested(`things${this.listArgs()}`, 'Thing'),
        () => nested(`schools${this.listArgs()}`, 'School'),
        () => nested(`school(id: ${this.pick(IDS)})`, 'School'),
        () => nested(`classroom(id: ${this.pick(IDS)})`, 'Classroom'),
        () => nested(`tests${this.listArgs()}`, 'TestPage'),
        () => nested(`thing(id: ${this.pick(IDS)})`, 'Thing'),
        () => nested('me', 'User'),
        () => nested(`user(id: ${this.pick(IDS)})`, 'User'),
        () => '__typename',
      ],
      Thing: [() => 'id', () => 'name', () => 'counter', () => '__typename', () => 'nope'],
      School: [() => 'id', () => 'name', () => nested(`classrooms${this.listArgs()}`, 'Classroom')],
      Classroom: [() => 'id', () => 'name', () => nested('school', 'School')],
      TestPage: [() => 'count', () => 'limit', () => 'offset', () => nested('results', 'Test')],
      Test: [() => 'id', () => 'name'],
      User: [() => 'id', () => 'username', () => 'email'],
    };
    const fields = [];
    for (let count = 1 + this.int(4); count > 0; count--) {
      const field = this.pick(options[type]!)();
      fields.push(this.chance(0.1) ? `a${this.int(50)}: ${field}` : field);
    }
    if (this.chance(0.1)) fields.push(`... on ${type} { __typename }`);
    return fields.join(' ');
  }

  /** `{ ...F0 }` with each fragment spreading the next one 1 to 3 times (2^levels leaves at 2). */
  private fragmentChain(): string {
    const levels = 1 + this.int(this.chance(0.5) ? 30 : 220);
    const spreads = 1 + this.int(3);
    const type = this.pick(['Query', 'Query', 'Query', 'Thing', 'Nope']);
    let text = '{ ...F0 }\n';
    for (let level = 0; level < levels; level++) {
      const next = this.chance(0.02) ? this.int(levels) : level + 1;
      text += `fragment F${level} on ${type} { ${Array.from({ length: spreads }, () => `...F${next}`).join(' ')} }\n`;
    }
    return `${text}fragment F${levels} on ${type} { __typename ${this.chance(0.3) ? 'things { id }' : ''} }`;
  }

  private aliases(): string {
    const count = this.int(80);
    const field = this.pick([
      '__typename',
      'things { id }',
      'schools(limit: 2) { classrooms(limit: 2) { id } }',
      'me { id }',
      'thing(id: "1") { name }',
    ]);
    return `{ ${Array.from({ length: count }, (_, index) => `a${index}: ${field}`).join(' ')} __typename }`;
  }

  private deepNesting(): string {
    const depth = 1 + this.int(40);
    let inner = 'id';
    for (let level = 0; level < depth; level++) inner = level % 2 ? `school { ${inner} }` : `classrooms${this.listArgs()} { ${inner} }`;
    return `{ classroom(id: "1") { ${inner.startsWith('school') ? inner : `school { ${inner} }`} } }`;
  }

  private introspection(): string {
    let inner = 'name';
    for (let level = this.int(8); level > 0; level--)
      inner = `${this.pick(['fields', 'type', 'ofType', 'interfaces', 'possibleTypes', 'args'])} { name ${inner} }`;
    return this.pick([
      `{ __schema { types { ${inner} } } }`,
      `{ __type(name: "Thing") { ${inner} } }`,
      '{ __schema { queryType { name } } }',
    ]);
  }

  private mutation(): string {
    return this.pick([
      () => `mutation { createThing(input: {name: ${this.pick(STRINGS)}, counter: ${this.pick(NUMBERS)}}) { id name counter } }`,
      () => `mutation { patchThing(id: ${this.pick(IDS)}, input: {counter: ${this.pick(NUMBERS)}}) { id } }`,
      () => `mutation { deleteThing(id: ${this.pick(IDS)}) }`,
      () => `mutation { createClassroom(input: {name: ${this.pick(STRINGS)}, school: ${this.pick(IDS)}}) { id school { id } } }`,
      () => `mutation { joinChat(chatId: ${this.pick(IDS)}) }`,
      () => `mutation { createSchool(input: {name: ${this.pick(STRINGS)}}) { id classrooms${this.listArgs()} { id } } }`,
    ])();
  }

  private junk(): string {
    const length = this.chance(0.05) ? 70_000 : this.int(3000);
    let text = '';
    for (let index = 0; index < length; index++) text += JUNK_ALPHABET[this.int(JUNK_ALPHABET.length)];
    return text;
  }

  private mutate(text: string): string {
    switch (this.int(5)) {
      case 0:
        return text.slice(0, this.int(text.length));
      case 1: {
        const chars = [...text];
        for (let count = 1 + this.int(4); count > 0; count--) chars[this.int(chars.length)] = this.pick([...JUNK_ALPHABET]);
        return chars.join('');
      }
      case 2: {
        const at = this.int(text.length);
        return text.slice(0, at) + text.slice(this.int(text.length)) + text.slice(at);
      }
      case 3:
        return text.replace(/\{/g, () => (this.chance(0.3) ? '{ {' : '{'));
      default:
        return `${text} ${text}`;
    }
  }

  private variables(): unknown {
    return this.pick([
      () => ({ n: this.pick([1, -1, 0, 2 ** 31, 1.5, '3', null, [], {}]), id: this.pick(['1', 1, null, '', {}]) }),
      () => this.pick(['x', 7, [1], null, true]),
      () => ({ __proto__: { polluted: 1 }, n: 1 }),
      () => JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}'),
    ])();
  }
}

export type FuzzProtocol = 'http' | 'graphql-transport-ws' | 'graphql-ws';

/** Something a client should never see, with the request that caused it. */
export interface GraphQLFinding {
  kind: string;
  detail: string;
}

/** Whether a request would open a subscription (it then gets no answer until an event: the driver ends it). */
function isSubscription(payload: FuzzPayload): boolean {
  if (typeof payload.query !== 'string') return false;
  try {
    const name = typeof payload.operationName === 'string' ? payload.operationName : undefined;
    return getOperationAST(parse(payload.query), name)?.operation === 'subscription';
  } catch {
    return false;
  }
}

function wellFormed(payload: FuzzPayload): boolean {
  const object = (value: unknown) => value == null || (typeof value === 'object' && !Array.isArray(value));
  return (
    typeof payload.query === 'string' &&
    object(payload.variables) &&
    (payload.operationName == null || typeof payload.operationName === 'string')
  );
}

function badErrors(errors: unknown): string | undefined {
  if (errors === undefined) return undefined;
  if (!Array.isArray(errors)) return 'errors is not a list';
  for (const error of errors as Array<{ message?: unknown; extensions?: { code?: unknown; status?: unknown } }>) {
    if (typeof error?.message !== 'string') return 'an error without a message';
    if (error.extensions?.code === 'INTERNAL_SERVER_ERROR' || Number(error.extensions?.status) >= 500)
      return `internal error: ${error.message}`;
  }
  return undefined;
}

/**
 * One GraphQL socket that takes requests one at a time and waits for each to end: `complete` or
 * `error` for its id (a subscription is ended by the client, then a `{ __typename }` behind it shows
 * that everything before was handled).
 */
class FuzzGraphQLSocket {
  private ws!: WebSocket;
  private waiting: { id: string; done: () => void } | undefined;
  private closedWith: number | undefined;
  private closing = false;
  private count = 0;

  constructor(
    private readonly url: string,
    private readonly protocol: Exclude<FuzzProtocol, 'http'>,
    private readonly report: (finding: GraphQLFinding) => void,
  ) {}

  async open(): Promise<void> {
    this.ws = new WebSocket(this.url, [this.protocol]);
    this.ws.on('error', () => undefined);
    this.ws.on('close', (code) => {
      this.closedWith = code;
      if (!this.closing) this.report({ kind: `${this.protocol} socket closed`, detail: `code ${code}` });
      this.waiting?.done();
    });
    await new Promise((resolve, reject) => this.ws.once('open', resolve).once('error', reject));
    const acked = new Promise<void>((resolve) => this.ws.once('message', () => resolve()));
    this.ws.on('message', (data) => this.onMessage(data.toString()));
    this.ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await acked;
  }

  private onMessage(raw: string): void {
    let message: { type?: unknown; id?: unknown; payload?: any };
    try {
      message = JSON.parse(raw);
    } catch {
      this.report({ kind: `${this.protocol}: not JSON`, detail: raw.slice(0, 200) });
      return;
    }
    if (['connection_ack', 'ka', 'ping', 'pong'].includes(message.type as string)) return;
    const errors =
      message.type === 'error' ? (Array.isArray(message.payload) ? message.payload : [message.payload]) : message.payload?.errors;
    const bad = badErrors(errors);
    if (bad) this.report({ kind: `${this.protocol}: ${bad}`, detail: raw.slice(0, 300) });
    if (this.waiting && message.id === this.waiting.id && (message.type === 'complete' || message.type === 'error')) this.waiting.done();
  }

  /** Sends one request and resolves once the server has finished with it; false when it did not answer. */
  async send(payload: FuzzPayload): Promise<boolean> {
    if (this.closedWith !== undefined) return false;
    const id = `op${this.count++}`;
    const legacy = this.protocol === 'graphql-ws';
    // graphql-transport-ws closes 4400 for a payload of the wrong shape, as its protocol says: send only
    // well-formed ones there (the legacy protocol and HTTP get the malformed ones too).
    if (!legacy && !wellFormed(payload)) return true;
    this.ws.send(JSON.stringify({ id, type: legacy ? 'start' : 'subscribe', payload }));
    let awaited = id;
    if (isSubscription(payload)) {
      this.ws.send(JSON.stringify({ id, type: legacy ? 'stop' : 'complete' }));
      awaited = `${id}-after`;
      this.ws.send(JSON.stringify({ id: awaited, type: legacy ? 'start' : 'subscribe', payload: { query: '{ __typename }' } }));
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve(false);
      }, 30_000);
      this.waiting = {
        id: awaited,
        done: () => {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve(this.closedWith === undefined);
        },
      };
    });
  }

  close(): void {
    this.closing = true;
    this.ws.close();
  }
}

async function sendOverHttp(baseUrl: string, payload: FuzzPayload, report: (finding: GraphQLFinding) => void): Promise<void> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(payload),
  });
  const text = await response.text();
  if (response.status >= 500)
    return report({ kind: `http ${response.status}`, detail: `${JSON.stringify(payload).slice(0, 200)} -> ${text.slice(0, 200)}` });
  let body: { errors?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    return report({ kind: 'http: not JSON', detail: text.slice(0, 200) });
  }
  const bad = badErrors(body.errors);
  if (bad) report({ kind: `http: ${bad}`, detail: JSON.stringify(payload).slice(0, 300) });
}

export interface GraphQLFuzzRun {
  baseUrl: string;
  wsUrl: string;
  seed: number;
  /** Requests per protocol. */
  documents: number;
  /** Stop early at this time (ms since the epoch). */
  deadline?: number;
  /** /healthz answered slower than this while fuzzing is a finding. Default 1000 ms. */
  healthBoundMs?: number;
  report: (finding: GraphQLFinding) => void;
  progress?: (sent: number) => void;
}

/**
 * Sends `documents` generated requests over each protocol (the three in parallel, each in order)
 * and probes /healthz every 50 requests. Resolves with the requests sent and the slowest /healthz.
 */
export async function fuzzGraphQL(run: GraphQLFuzzRun): Promise<{ sent: number; slowestHealthMs: number }> {
  let sent = 0;
  let slowestHealthMs = 0;
  const healthBound = run.healthBoundMs ?? 1000;
  const probeHealth = async () => {
    const start = performance.now();
    const status = await fetch(`${run.baseUrl}/healthz`).then(
      (response) => response.status,
      () => 0,
    );
    const ms = performance.now() - start;
    slowestHealthMs = Math.max(slowestHealthMs, ms);
    if (status !== 200) run.report({ kind: 'healthz', detail: `status ${status}` });
    if (ms > healthBound) run.report({ kind: 'healthz slow', detail: `${ms.toFixed(0)} ms` });
  };
  const drive = async (protocol: FuzzProtocol, index: number) => {
    const documents = new GraphQLDocuments(run.seed + index);
    const socket = protocol === 'http' ? undefined : new FuzzGraphQLSocket(`${run.wsUrl}/graphql`, protocol, run.report);
    await socket?.open();
    try {
      for (let count = 0; count < run.documents && Date.now() < (run.deadline ?? Infinity); count++) {
        const payload = documents.next();
        if (socket) {
          if (!(await socket.send(payload))) {
            run.report({ kind: `${protocol}: no answer`, detail: JSON.stringify(payload).slice(0, 300) });
            return;
          }
        } else {
          await sendOverHttp(run.baseUrl, payload, run.report);
        }
        sent++;
        run.progress?.(sent);
        if (count % 50 === 0) await probeHealth();
      }
    } finally {
      socket?.close();
    }
  };
  await Promise.all((['http', 'graphql-transport-ws', 'graphql-ws'] as const).map((protocol, index) => drive(protocol, index)));
  return { sent, slowestHealthMs };
}
