/**
 * A `DcrfSocket` in memory, with its client end: what the session sends is kept for the client to
 * read, what the client sends reaches the session as frames. It behaves as a network would where the
 * session can tell: a paused socket keeps the client's frames until it resumes (TCP's push-back), a
 * client that stops reading leaves the server's frames in `bufferedAmount`, and a close arrives after
 * the frames sent before it.
 */
import type { DcrfSocket, FrameData } from './socket.js';

/** How the socket closed: the code and reason of the close frame (1006 when cut off). */
export interface CloseFrame {
  code: number;
  reason: string;
}

/** The code a cut-off connection reports (no close frame). */
const ABNORMAL_CLOSURE = 1006;

interface Unsent {
  text: string;
  onSent: (() => void) | undefined;
}

export class MemorySocket implements DcrfSocket {
  isPaused = false;
  bufferedAmount = 0;
  /** Set once the socket closed, by either side. */
  closeFrame: CloseFrame | undefined;
  private messageListener: ((data: FrameData, isBinary: boolean) => void) | undefined;
  private closeListener: (() => void) | undefined;
  /** Frames the server sent that the client has not read yet, in order. */
  private readonly inbox: string[] = [];
  /** Frames the client sent while the server had paused reading. */
  private readonly unread: Array<string | null> = [];
  /** Frames the server sent while the client did not read (they count in `bufferedAmount`). */
  private readonly unsent: Unsent[] = [];
  private clientReading = true;
  /** Told when a frame or the close reaches the client. */
  private wake: (() => void) | undefined;
  /** Told once the socket closed. */
  private closeWaiters: Array<(frame: CloseFrame) => void> | undefined;

  on(event: 'message', listener: (data: FrameData, isBinary: boolean) => void): this;
  on(event: 'close', listener: () => void): this;
  on(event: 'message' | 'close', listener: ((data: FrameData, isBinary: boolean) => void) | (() => void)): this {
    if (event === 'message') this.messageListener = listener;
    else this.closeListener = listener as () => void;
    return this;
  }

  send(text: string, onSent?: () => void): void {
    if (this.closeFrame) {
      if (onSent) setImmediate(onSent);
      return;
    }
    if (!this.clientReading) {
      this.unsent.push({ text, onSent });
      this.bufferedAmount += Buffer.byteLength(text);
      return;
    }
    this.inbox.push(text);
    this.wake?.();
    if (onSent) setImmediate(onSent);
  }

  close(code = 1005, reason = ''): void {
    this.closed({ code, reason });
  }

  terminate(): void {
    this.closed({ code: ABNORMAL_CLOSURE, reason: '' });
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
    while (!this.isPaused && !this.closeFrame && this.unread.length > 0) this.deliver(this.unread.shift()!);
  }

  /** The client sends a frame (its text, or null for a binary one). */
  clientSend(text: string | null): void {
    if (this.closeFrame) throw new Error(`the socket is closed (${describe(this.closeFrame)})`);
    if (this.isPaused) this.unread.push(text);
    else this.deliver(text);
  }

  /** The client closes the socket (unless the server did already). */
  clientClose(code = 1000, reason = ''): void {
    if (this.closeFrame) return;
    this.closedWith({ code, reason });
    this.closeListener?.();
  }

  /** The client stops reading (true) or reads again (false), taking what piled up meanwhile. */
  setClientReading(reading: boolean): void {
    this.clientReading = reading;
    if (!reading) return;
    for (const { text, onSent } of this.unsent.splice(0)) {
      this.bufferedAmount -= Buffer.byteLength(text);
      this.inbox.push(text);
      if (onSent) setImmediate(onSent);
    }
    this.wake?.();
  }

  /** The next frame the client has not read, waiting up to `timeoutMs`; undefined when none came. */
  async nextFrame(timeoutMs: number): Promise<string | undefined> {
    if (this.inbox.length === 0 && !this.closeFrame) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.inbox.shift();
  }

  /** Resolves with the close once the socket closed. */
  whenClosed(): Promise<CloseFrame> {
    if (this.closeFrame) return Promise.resolve(this.closeFrame);
    return new Promise((resolve) => (this.closeWaiters ??= []).push(resolve));
  }

  /** Frames the server sent that the client has not read yet. */
  get unreadCount(): number {
    return this.inbox.length;
  }

  /** The server closed the socket (or cut it off). */
  private closed(frame: CloseFrame): void {
    if (this.closeFrame) return;
    this.closedWith(frame);
    // As `ws` does, the close event comes after the call (the session tells itself at once).
    setImmediate(() => this.closeListener?.());
  }

  private deliver(text: string | null): void {
    this.messageListener?.(text ?? '', text === null);
  }

  private closedWith(frame: CloseFrame): void {
    this.closeFrame = frame;
    // Frames never read by a client that stopped reading are gone with the connection.
    for (const { onSent } of this.unsent.splice(0)) if (onSent) setImmediate(onSent);
    this.bufferedAmount = 0;
    this.wake?.();
    for (const resolve of this.closeWaiters?.splice(0) ?? []) resolve(frame);
  }
}

/** `1008 "Rate limit exceeded"`, for messages. */
export function describe(frame: CloseFrame): string {
  return frame.reason ? `${frame.code} ${JSON.stringify(frame.reason)}` : String(frame.code);
}
