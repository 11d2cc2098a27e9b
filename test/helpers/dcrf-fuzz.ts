/**
 * The DCRF frame generator shared by the in-suite fuzz test (test/e2e/fuzz-dcrf.test.ts) and the long
 * `npm run fuzz` (scripts/fuzz.ts): seeded, so a run is replayed from its printed seed. Frames are
 * mostly plausible actions of the demo's streams with hostile values in every key (SQL-like text,
 * `__proto__`/`constructor` keys, huge and odd numbers, deep nesting), mutations of them (truncation,
 * byte flips, splices, number swaps) and raw junk, text and binary.
 */

/** One frame to send: text, or bytes sent as a binary frame. */
export type FuzzFrame = { text: string } | { binary: Buffer };

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

export const FUZZ_STREAMS = ['things', 'things_with_id', 'tests', 'users', 'schools', 'classrooms', 'chat', 'notes', 'hello'] as const;

const ACTIONS = [
  'list',
  'retrieve',
  'create',
  'update',
  'patch',
  'delete',
  'subscribe_instance',
  'unsubscribe_instance',
  'subscribe_many',
  'unsubscribe_many',
  'subscribe_activity',
  'unsubscribe_activity',
  'list_cancel',
  'me',
  'send_email',
  'publish',
  'subscribe_to_classrooms_in_school',
  'subscribe_to_classroom',
  'unsubscribe_from_classrooms_in_school',
  'unsubscribe_from_classroom',
  'join_chat',
  'subscribe_joined',
  'unsubscribe_joined',
  // Names a consumer has as methods but not as actions, and near misses.
  'nope',
  'LIST',
  ' list',
  'list\u0000',
  '',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'receiveJson',
  'disconnect',
  'close',
  'reply',
  'groupAdd',
  'valueOf',
] as const;
/** How many of ACTIONS are the demo's real actions. */
const REAL_ACTIONS = 23;
const KEYS = [
  'action',
  'request_id',
  'pk',
  'data',
  'limit',
  'offset',
  'query',
  'things',
  'chat_id',
  'school_pk',
  'classroom_pk',
  'to',
  'stream',
  'payload',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'name',
  'counter',
  'school',
  'id',
  'username',
  'email',
  'text',
  'owner',
  'is_active',
  '',
] as const;
const STRINGS = [
  '',
  ' ',
  'x',
  'abc',
  '1',
  '-1',
  '0',
  '1.5',
  '1e3',
  '1e309',
  '0x10',
  ' 7 ',
  '7abc',
  'NaN',
  'null',
  'undefined',
  'true',
  '99999999999999999999999',
  '\u0000',
  '\ud800',
  '💥',
  'é'.repeat(70),
  'x'.repeat(65),
  'x'.repeat(200),
  'x'.repeat(5000),
  '"',
  '\\',
  '<script>alert(1)</script>',
  "'; DROP TABLE things; --",
  '1 OR 1=1',
  "' OR '1'='1",
  '%s%n',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: template-injection text is what the fuzzer sends
  '${7*7}',
  '{{7*7}}',
  '../../etc/passwd',
  '__proto__',
  'constructor',
  'prototype',
  'a@b.c',
  'not-an-email',
] as const;
const NUMBERS = [
  0,
  -0,
  1,
  2,
  3,
  7,
  -1,
  1.5,
  2 ** 31,
  2 ** 31 - 1,
  -(2 ** 31) - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  2 ** 63,
  1e21,
  1e308,
  -1e308,
  5e-324,
  123456789,
] as const;

/** A seeded source of DCRF fuzz frames. */
export class DcrfFuzzer {
  private readonly random: () => number;

  constructor(readonly seed: number) {
    this.random = prng(seed);
  }

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  /** A random JSON value, nested up to about `depth` 4. */
  value(depth = 0): unknown {
    switch (this.int(depth > 4 ? 6 : 9)) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick(NUMBERS);
      case 3:
        return this.int(50);
      case 4:
      case 5:
        return this.pick(STRINGS);
      case 6:
        return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
      default: {
        const object: Record<string, unknown> = {};
        for (let i = this.int(5); i > 0; i--) object[this.pick(KEYS)] = this.value(depth + 1);
        return object;
      }
    }
  }

  /** Valid-looking data for the streams' writes, sometimes broken. */
  data(): unknown {
    if (this.chance(0.3)) return this.value(1);
    const object: Record<string, unknown> = {};
    if (this.chance(0.8)) object.name = this.chance(0.8) ? `fuzz ${this.int(1000)}` : this.value(2);
    if (this.chance(0.4)) object.counter = this.chance(0.7) ? this.int(100) : this.value(2);
    if (this.chance(0.3)) object.school = this.chance(0.7) ? this.int(10) : this.value(2);
    if (this.chance(0.2)) object.text = this.chance(0.7) ? `note ${this.int(1000)}` : this.value(2);
    if (this.chance(0.1)) object.owner = this.value(1);
    // Set as an own key (JSON.stringify writes it), as an attacker's JSON would carry it.
    if (this.chance(0.1)) Object.defineProperty(object, '__proto__', { value: { name: 'polluted' }, enumerable: true });
    return object;
  }

  /** A DCRF payload: mostly a plausible action with some keys of the wrong type. */
  payload(): Record<string, unknown> {
    const frame: Record<string, unknown> = {};
    if (this.chance(0.95)) frame.action = this.chance(0.9) ? this.pick(ACTIONS.slice(0, REAL_ACTIONS)) : this.pick(ACTIONS);
    if (this.chance(0.85)) frame.request_id = this.chance(0.8) ? this.int(1_000_000) : this.value(1);
    if (this.chance(0.6)) frame.pk = this.chance(0.7) ? this.int(30) : this.value(1);
    if (this.chance(0.4)) frame.data = this.data();
    if (this.chance(0.15)) frame.limit = this.chance(0.5) ? this.int(5) : this.value(1);
    if (this.chance(0.15)) frame.offset = this.chance(0.5) ? this.int(30) : this.value(1);
    if (this.chance(0.1)) frame.query = this.value(1);
    if (this.chance(0.1)) frame.things = this.chance(0.5) ? [this.int(10), this.int(10)] : this.value(1);
    if (this.chance(0.1)) frame.chat_id = this.value(1);
    if (this.chance(0.1)) frame.school_pk = this.value(1);
    if (this.chance(0.1)) frame.classroom_pk = this.value(1);
    for (let i = this.int(3); i > 0; i--) frame[this.pick(KEYS)] = this.value(1);
    return frame;
  }

  /** `depth` levels of nested arrays and objects around a 1. */
  nested(depth: number): string {
    const open = Array.from({ length: depth }, () => (this.chance(0.5) ? '[' : '{"a":'));
    const close = open.map((token) => (token === '[' ? ']' : '}')).reverse();
    return `${open.join('')}1${close.join('')}`;
  }

  /** The frame shape of a socket: bare, or `{stream, payload}` with the wrapper itself sometimes broken. */
  wrapper(multiplexed: boolean): (payload: unknown) => unknown {
    if (!multiplexed) return (inner) => inner;
    return (inner) => {
      if (this.chance(0.92)) return { stream: this.chance(0.95) ? this.pick(FUZZ_STREAMS) : this.value(1), payload: inner };
      return this.chance(0.5) ? inner : { stream: this.pick(FUZZ_STREAMS) };
    };
  }

  /** Text with a few characters changed, cut, spliced or its numbers swapped for odd ones. */
  mutate(text: string): string {
    const chars = [...text];
    switch (this.int(7)) {
      case 0:
        return text.slice(0, this.int(text.length));
      case 1:
        for (let i = 1 + this.int(3); i > 0; i--) {
          chars[this.int(chars.length)] = this.pick(['{', '}', '[', ']', '"', ',', ':', '\\', '0', 'a', ' ', 'n']);
        }
        return chars.join('');
      case 2: {
        const at = this.int(text.length);
        return text.slice(0, at) + text.slice(this.int(text.length)) + text.slice(at);
      }
      case 3:
        return text.replace(/"/g, () => (this.chance(0.1) ? "'" : '"'));
      case 4:
        return text.replace(/\d+/g, () => this.pick(['1e999', '-0', '00', '9'.repeat(30), '0.5', 'NaN']));
      case 5: {
        const depth = 10 + this.int(200);
        return text.replace(/:\s*/, `:${'['.repeat(depth)}1${']'.repeat(depth)}`);
      }
      default:
        return `${text}${text}`;
    }
  }

  /** One fuzz frame for a bare (`multiplexed` false) or multiplexed socket. */
  next(multiplexed: boolean): FuzzFrame {
    const wrap = this.wrapper(multiplexed);
    const kind = this.int(100);
    if (kind < 5) return { binary: Buffer.from(Array.from({ length: this.int(64) }, () => this.int(256))) };
    if (kind < 7) return { binary: Buffer.from(JSON.stringify(wrap(this.payload()))) };
    if (kind < 12) return { text: Array.from({ length: this.int(40) }, () => String.fromCharCode(this.int(0x3000))).join('') };
    if (kind < 32) return { text: this.mutate(JSON.stringify(wrap(this.payload()))) };
    if (kind < 36) return { text: JSON.stringify(this.value(0)) };
    if (kind < 39) {
      const depth = 55 + this.int(20);
      return { text: this.chance(0.5) ? this.nested(depth) : `{"action":"create","request_id":1,"data":${this.nested(depth)}}` };
    }
    if (kind < 41) {
      const pk = this.pick(['1'.repeat(400), 1e308, -1e308, 2 ** 53 + 2]);
      return { text: JSON.stringify(wrap({ ...this.payload(), pk })) };
    }
    if (kind < 42) return { text: `{"action":"list","request_id":${'9'.repeat(this.int(400) + 1)}}` };
    if (kind < 43) {
      const data = { name: 'x'.repeat(this.int(200_000)) };
      return { text: JSON.stringify(wrap({ action: this.pick(ACTIONS), request_id: 1, data })) };
    }
    if (kind < 44) return { text: `{"action":"list","request_id":1,${'"k":0,'.repeat(1 + this.int(5000))}"z":0}` };
    if (kind < 46) return { text: '{"__proto__":{"action":"list","request_id":1},"constructor":{"prototype":{"x":1}}}' };
    if (kind < 47) return { text: this.pick(['null', 'true', '[]', '"s"', '42', '{}', '{"action": null}', '{"action": {}}']) };
    return { text: JSON.stringify(wrap(this.payload())) };
  }
}
