/**
 * `POST /signals/<name>`: another service (a Django view, a Celery task, a cron job) sends a custom
 * signal into the gateway, as a consumer's `signal.send(runtime, payload)` would. The payload goes
 * through the runtime's hub, so the subscribers of every process on the same Redis get it.
 *
 * The contract (docs/signals-from-other-services.md):
 *
 *   POST /signals/joined_chat
 *   Authorization: Bearer <SIGNAL_TOKEN>
 *   Content-Type: application/json
 *
 *   {"data": {"username": "alice", "chat_id": 7}}
 *
 * → 202 `{"signal": "joined_chat", "status": "sent"}`. Refusals carry a JSON body: 400 (not JSON, not
 * `{"data": {...}}`, or the serializer's field errors under `data`), 401 (no or wrong token), 404 (no
 * such sendable signal), 405 (not POST), 413 (body over `maxBodyBytes`), 415 (not JSON), 429 (over the
 * rate, with Retry-After).
 *
 * Only the signals the app declares sendable can be sent, each through a serializer of its own: the
 * payload a subscriber gets is the serializer's validated data, never the caller's object as sent.
 * The token is compared in constant time; the body is never read before the token, the signal and
 * the rate have passed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FrameRateLimiter } from '../dcrf/rate-limit.js';
import type { Signal } from '../dcrf/signals.js';
import { ValidationError } from '../errors.js';
import { BodyTooLarge, readBody } from '../http-body.js';
import type { Runtime } from '../runtime.js';
import type { Serializer } from '../serializers/serializer.js';

/** A signal other services may send, and the serializer its payload must pass. */
export interface SendableSignal {
  // biome-ignore lint/suspicious/noExplicitAny: any payload type; the serializer's validated data is what is sent.
  signal: Signal<any>;
  /** Validates `data` and gives the payload (DRF's `is_valid()` + `validated_data`); its field errors are the 400's body. */
  serializer: Serializer;
}

/** Settings of the signal endpoint (the Gateway's `signals` option). */
export interface SignalEndpointOptions {
  /**
   * The bearer token callers present (SIGNAL_TOKEN), at least 32 characters. Unset or empty: the
   * endpoint is off and `/signals/...` answers 404 like any unknown path.
   */
  token: string | undefined;
  /** The signals that may be sent, each under its `signal.name`. */
  signals: readonly SendableSignal[];
  /** Largest request body in bytes (413 beyond). Default 64 KiB. */
  maxBodyBytes?: number;
  /** Sends per second the endpoint takes, all callers together (429 beyond). Default 1,000. */
  ratePerSecond?: number;
  /** Sends taken at once above the rate. Default 1,000. */
  rateBurst?: number;
}

/** The shortest SIGNAL_TOKEN taken: anything shorter could be guessed. */
export const MIN_SIGNAL_TOKEN_LENGTH = 32;
export const DEFAULT_SIGNAL_MAX_BODY_BYTES = 64 * 1024;
export const DEFAULT_SIGNAL_RATE_PER_SECOND = 1000;

/** A limit the endpoint refused a request at (for the gateway's `limit_hits_total`). */
export type SignalLimit = 'signal_body_size' | 'signal_rate';

const PATH = /^\/signals\/([^/]*)\/?$/;
const JSON_TYPE = /^application\/json\s*(;|$)/i;

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`signal refused: ${status}`);
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Answers `/signals/<name>` for one runtime; built by the gateway from its `signals` option. */
export class SignalEndpoint {
  readonly #tokenDigest: Buffer;
  readonly #signals: Map<string, SendableSignal>;
  readonly #maxBodyBytes: number;
  readonly #rate: FrameRateLimiter;

  /** Undefined when the endpoint is off (no token); throws for a token too short or two signals of one name. */
  static create(runtime: Runtime, options: SignalEndpointOptions, onLimit?: (limit: SignalLimit) => void): SignalEndpoint | undefined {
    if (!options.token) return undefined;
    if (options.token.length < MIN_SIGNAL_TOKEN_LENGTH)
      throw new Error(`SIGNAL_TOKEN must be at least ${MIN_SIGNAL_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`);
    return new SignalEndpoint(runtime, options, onLimit);
  }

  private constructor(
    private readonly runtime: Runtime,
    options: SignalEndpointOptions,
    private readonly onLimit: ((limit: SignalLimit) => void) | undefined,
  ) {
    this.#tokenDigest = digest(options.token as string);
    this.#signals = new Map();
    for (const sendable of options.signals) {
      if (this.#signals.has(sendable.signal.name)) throw new Error(`Two sendable signals are named "${sendable.signal.name}"`);
      this.#signals.set(sendable.signal.name, sendable);
    }
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_SIGNAL_MAX_BODY_BYTES;
    const rate = options.ratePerSecond ?? DEFAULT_SIGNAL_RATE_PER_SECOND;
    this.#rate = new FrameRateLimiter(rate, options.rateBurst ?? rate, Number.POSITIVE_INFINITY);
  }

  /** Answers the request when its path is `/signals/...`; false otherwise. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    const match = PATH.exec(url.pathname);
    if (!match) return false;
    try {
      const name = this.#check(request, match[1] as string);
      const sendable = this.#signals.get(name) as SendableSignal;
      const data = dataOf(await this.#readBody(request));
      let payload: unknown;
      try {
        payload = await sendable.serializer.runValidation(data);
      } catch (error) {
        if (error instanceof ValidationError) throw new Refusal(400, { data: error.fields });
        throw error;
      }
      sendable.signal.send(this.runtime, payload);
      answer(response, 202, { signal: name, status: 'sent' });
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      // A refused body is not read to its end: close the connection rather than drain it.
      if (!request.complete) response.setHeader('connection', 'close');
      answer(response, error.status, error.body, error.headers);
    }
    return true;
  }

  /** The checks that need no body, cheapest first: method, token, signal, content type, declared size, rate. */
  #check(request: IncomingMessage, segment: string): string {
    if (request.method !== 'POST') throw new Refusal(405, { detail: `Method "${request.method}" not allowed.` }, { allow: 'POST' });
    const header = request.headers.authorization;
    const token = typeof header === 'string' && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
    if (!token) throw new Refusal(401, { detail: 'Authentication credentials were not provided.' }, { 'www-authenticate': 'Bearer' });
    if (!timingSafeEqual(digest(token), this.#tokenDigest))
      throw new Refusal(401, { detail: 'Invalid token.' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    let name: string;
    try {
      name = decodeURIComponent(segment);
    } catch {
      name = '';
    }
    if (!this.#signals.has(name)) throw new Refusal(404, { detail: 'No such signal.', signals: [...this.#signals.keys()] });
    if (!JSON_TYPE.test(request.headers['content-type'] ?? ''))
      throw new Refusal(415, { detail: 'Unsupported media type: send Content-Type: application/json.' });
    const declared = Number(request.headers['content-length']);
    if (declared > this.#maxBodyBytes) throw this.#tooLarge();
    if (!this.#rate.take()) {
      this.onLimit?.('signal_rate');
      throw new Refusal(429, { detail: 'Request was throttled.' }, { 'retry-after': '1' });
    }
    return name;
  }

  #tooLarge(): Refusal {
    this.onLimit?.('signal_body_size');
    return new Refusal(413, { detail: `Request body larger than ${this.#maxBodyBytes} bytes.` });
  }

  /** The body as JSON, read up to `maxBodyBytes`. */
  async #readBody(request: IncomingMessage): Promise<unknown> {
    let text: string;
    try {
      text = await readBody(request, this.#maxBodyBytes);
    } catch (error) {
      throw error instanceof BodyTooLarge ? this.#tooLarge() : new Refusal(400, { detail: 'The body was not received in full.' });
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new Refusal(400, { detail: 'The body is not valid JSON.' });
    }
  }
}

/** The `data` object of a body shaped `{"data": {...}}`. */
function dataOf(body: unknown): Record<string, unknown> {
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isObject(body) || !isObject(body.data)) throw new Refusal(400, { detail: 'The body must be a JSON object: {"data": {...}}.' });
  const extra = Object.keys(body).filter((key) => key !== 'data');
  if (extra.length) throw new Refusal(400, { detail: `Unknown key in the body: "${extra[0]}" (the body is {"data": {...}}).` });
  return body.data;
}

function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
