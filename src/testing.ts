/**
 * `dcrf-gateway/testing`: drives DCRF consumers in-process, without a server or a network, as
 * Channels' `WebsocketCommunicator` does. Frames go through the session the gateway runs (order,
 * limits, the multiplexer, events held behind a reply) over a socket in memory.
 *
 *   const c = await DcrfCommunicator.connect(MyConsumer);
 *   c.send({ action: 'add', a: 1, b: 2, request_id: 1 });
 *   assert.deepEqual(await c.receive(), { errors: [], data: { sum: 3 }, action: 'add', response_status: 200, request_id: 1 });
 *   await c.expectNothing();
 *   await c.close();
 */
import type { ConsumerClass } from './dcrf/consumer.js';
import { DEFAULT_DCRF_LIMITS, type DcrfLimits, type SessionObserver, type UserCheck } from './dcrf/limits.js';
import { type CloseFrame, describe, MemorySocket } from './dcrf/memory-socket.js';
import { connectRoute, type DcrfRoute } from './dcrf/routing.js';
import { DcrfSession } from './dcrf/session.js';
import { Runtime } from './runtime.js';
import type { ConnectionScope } from './scope.js';

export type { CloseFrame } from './dcrf/memory-socket.js';

/** A frame as the client reads it: a reply, an event, or `{stream, payload}` on the multiplexer. */
// biome-ignore lint/suspicious/noExplicitAny: tests read frames field by field, as JSON.parse gives them
export type ReceivedFrame = Record<string, any>;

export interface CommunicatorOptions {
  /**
   * The app's runtime (its database and change hub), for consumers that read models, subscribe or use
   * groups. Default: a runtime of the communicator's own, with no database, closed by `close()`.
   */
  runtime?: Runtime;
  /** The stream a single consumer is served as (`scope.stream`, path `/ws/<stream>`); default its class name. */
  stream?: string;
  /** The connection scope, over a guest's: no user, headers, query or cookies, from 127.0.0.1. */
  scope?: Partial<Omit<ConnectionScope, 'runtime'>>;
  /** Per-socket limits, over `DEFAULT_DCRF_LIMITS`. */
  limits?: Partial<DcrfLimits>;
  /** Counters the session reports to (throttles, limit hits, completed actions, dropped events). */
  observer?: SessionObserver;
  /** Re-checks the socket's user before each frame and event, as the gateway's `UserRecheck` does. */
  userCheck?: UserCheck;
  /** How long `receive` and `waitClosed` wait by default, in ms; default 1000. */
  timeoutMs?: number;
}

/** The consumer socket a test drives: what it sends reaches the consumer, what the consumer sends is read back. */
export class DcrfCommunicator {
  private receiving = false;

  private constructor(
    private readonly socket: MemorySocket,
    private readonly session: DcrfSession,
    /** The runtime the communicator made, closed with it; undefined when the test gave one. */
    private readonly ownRuntime: Runtime | undefined,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Opens a socket to one consumer (as `/ws/<stream>`: bare frames) or to a map of streams (as `/ws`:
   * frames wrapped in `{stream, payload}`). Each consumer's `canConnect` is asked as at the upgrade:
   * rejects when the gateway would answer 403. Resolves once a single consumer's `onConnect` ran.
   */
  static async connect(
    consumers: ConsumerClass | Readonly<Record<string, ConsumerClass>>,
    options: CommunicatorOptions = {},
  ): Promise<DcrfCommunicator> {
    const single = typeof consumers === 'function' ? consumers : undefined;
    const stream = single ? (options.stream ?? single.name) : undefined;
    const ownRuntime = options.runtime ? undefined : await Runtime.create();
    const scope: ConnectionScope = {
      user: null,
      path: stream === undefined ? '/ws' : `/ws/${encodeURIComponent(stream)}`,
      headers: {},
      query: new URLSearchParams(),
      cookies: {},
      remoteAddress: '127.0.0.1',
      protocol: 'dcrf',
      extra: {},
      ...options.scope,
      runtime: (options.runtime ?? ownRuntime)!,
    };
    const route: DcrfRoute = single
      ? { kind: 'single', stream: stream!, consumer: single }
      : { kind: 'multiplex', streams: new Map(Object.entries(consumers)), refused: new Set() };
    const accepted = await connectRoute(route, scope).catch(async (error: unknown) => {
      await ownRuntime?.close();
      throw error;
    });
    if (!accepted) {
      await ownRuntime?.close();
      throw new Error('connection refused: canConnect said no (the gateway answers such an upgrade 403)');
    }
    const socket = new MemorySocket();
    const limits = { ...DEFAULT_DCRF_LIMITS, ...options.limits };
    const session = new DcrfSession(socket, scope, accepted, limits, options.observer, options.userCheck);
    const communicator = new DcrfCommunicator(socket, session, ownRuntime, options.timeoutMs ?? 1000);
    try {
      await session.start();
    } catch (error) {
      await communicator.close();
      throw error;
    }
    return communicator;
  }

  /** Sends a frame: a string as the frame's text, anything else as its JSON. */
  send(frame: unknown): void {
    this.socket.clientSend(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a binary frame (DCRF answers it 400). */
  sendBinary(): void {
    this.socket.clientSend(null);
  }

  /** The next frame the consumer sent, parsed; rejects when none comes within `timeoutMs` or the socket closed. */
  async receive(timeoutMs = this.timeoutMs): Promise<ReceivedFrame> {
    return JSON.parse(await this.receiveText(timeoutMs)) as ReceivedFrame;
  }

  /** The next frame the consumer sent, as its text. */
  async receiveText(timeoutMs = this.timeoutMs): Promise<string> {
    const text = await this.nextFrame(timeoutMs);
    if (text !== undefined) return text;
    const closed = this.socket.closeFrame;
    throw new Error(closed ? `the socket closed (${describe(closed)}) with no frame left` : `no frame within ${timeoutMs} ms`);
  }

  /** Resolves when nothing is or gets sent within `timeoutMs`; rejects with the frame otherwise. */
  async expectNothing(timeoutMs = 50): Promise<void> {
    const text = await this.nextFrame(timeoutMs);
    if (text !== undefined) throw new Error(`expected no frame, got ${text.length > 200 ? `${text.slice(0, 200)}...` : text}`);
  }

  private async nextFrame(timeoutMs: number): Promise<string | undefined> {
    if (this.receiving) throw new Error('one receive at a time: await the previous one first');
    this.receiving = true;
    try {
      return await this.socket.nextFrame(timeoutMs);
    } finally {
      this.receiving = false;
    }
  }

  /** Frames the consumer sent that were not received yet. */
  get pending(): number {
    return this.socket.unreadCount;
  }

  /**
   * The client stops reading: what the consumer sends piles up in the socket's `bufferedAmount` (and
   * counts against `maxBufferedBytes`) until `resumeReading()`.
   */
  stopReading(): void {
    this.socket.setClientReading(false);
  }

  resumeReading(): void {
    this.socket.setClientReading(true);
  }

  /** True while the server does not read this socket (its queue of unanswered frames is full, or it drains). */
  get serverPaused(): boolean {
    return this.socket.isPaused;
  }

  /** How the socket closed, once it did (by the server or by `close()`). */
  get closeFrame(): CloseFrame | undefined {
    return this.socket.closeFrame;
  }

  /** Resolves with the close once the server closed the socket; rejects after `timeoutMs`. */
  async waitClosed(timeoutMs = this.timeoutMs): Promise<CloseFrame> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the socket did not close within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.socket.whenClosed(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** As the gateway's graceful close: stops reading; resolves once the frames read were answered and no detached action runs. */
  drain(): Promise<void> {
    return this.session.drain();
  }

  /**
   * Closes the socket from the client (if the server has not) and resolves once every consumer was
   * told: subscriptions dropped, detached actions cancelled, `onDisconnect` run. Closes the
   * communicator's own runtime.
   */
  async close(code = 1000, reason = ''): Promise<void> {
    try {
      this.socket.clientClose(code, reason);
      await this.session.onClose();
    } finally {
      await this.ownRuntime?.close();
    }
  }
}
