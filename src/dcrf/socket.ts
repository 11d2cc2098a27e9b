/**
 * The socket a DCRF session runs on: the few things it needs from a WebSocket, so the session can be
 * driven by `ws` (whose WebSocket has this shape as it is: see ws-socket.ts) or in-process by a test
 * (`DcrfCommunicator`), as graphql-ws's `makeServer` runs on any transport that offers its five members.
 */

/** A frame's payload as the socket hands it over; `toString()` is its text (UTF-8 bytes, or a string). */
export interface FrameData {
  toString(): string;
}

/**
 * One WebSocket as a DCRF session sees it. Its listeners are called with the socket as `this` (as `ws`
 * and EventEmitter do): the session's listeners are shared by every socket and find their session by it.
 */
export interface DcrfSocket {
  /**
   * Sends one text frame without waiting. `onSent`, when given, runs exactly once: when the frame has
   * been handed to the network, or failed to be.
   */
  send(text: string, onSent?: () => void): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Drops the connection at once (a peer that does not answer the close). */
  terminate(): void;
  /** Bytes sent and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Stops reading frames (the peer's sends back up in the network) until `resume`. */
  pause(): void;
  resume(): void;
  readonly isPaused: boolean;
  /** A frame arrived (DCRF reads text frames only: a binary one is answered 400). */
  on(event: 'message', listener: (data: FrameData, isBinary: boolean) => void): unknown;
  /** The socket closed, by either side; told once. */
  on(event: 'close', listener: () => void): unknown;
}
