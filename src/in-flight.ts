/**
 * Graceful shutdown: what a socket or request still has under way (a DCRF action, a GraphQL query or
 * mutation, an HTTP request), so the gateway can let it answer before closing. Each protocol
 * registers a `Drainable` for its sockets; the gateway asks every open socket to drain, bounded in
 * time. A leaf module: the protocols register here without knowing the server.
 */

/** What a socket registers: stop taking new work, resolve once the work already taken is answered. */
export interface Drainable {
  drain(): Promise<void>;
}

/** Counts work under way and tells when none is left; as a socket's `Drainable`, drains when none is. */
export class InFlight implements Drainable {
  private count = 0;
  private waiters: Array<() => void> = [];

  /** Counts one piece of work; returns its end (idempotent). */
  begin(): () => void {
    this.count++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.count === 0) this.wake();
    };
  }

  /** Pieces of work under way. */
  get size(): number {
    return this.count;
  }

  /** Resolves once nothing is under way (at once when nothing is). */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** As a socket's `Drainable`: resolves once nothing is under way. */
  drain(): Promise<void> {
    return this.idle();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

interface Closable {
  readonly readyState: number;
  once(event: 'close', listener: () => void): unknown;
  pause?(): void;
}

const drainables = new WeakMap<object, Drainable>();

/** Registers how a socket drains (one per socket; a later one replaces it). An object, not a closure: idle sockets add up. */
export function onDrain(socket: object, drainable: Drainable): void {
  drainables.set(socket, drainable);
}

/**
 * Drains one socket: stops reading from it (new messages wait in the kernel, unanswered) and resolves
 * once the work it already took is answered, or the socket closed. `drainable` is how it drains when
 * its owner keeps that itself (default: the one registered with `onDrain`).
 */
export function drainSocket(socket: Closable, drainable: Drainable | undefined = drainables.get(socket)): Promise<void> {
  socket.pause?.();
  if (!drainable || socket.readyState > 1) return Promise.resolve();
  return Promise.race([drainable.drain(), new Promise<void>((resolve) => socket.once('close', () => resolve()))]);
}
