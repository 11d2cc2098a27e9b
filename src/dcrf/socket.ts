/**
 * The socket a DCRF session runs on: the few things it needs from a WebSocket, so the session can be
 * driven by `ws` (`WsSocket`) or in-process by a test (`DcrfCommunicator`), as graphql-ws's
 * `makeServer` runs on any transport that offers its five members.
 */

/** What the session is told about its socket; given once to `DcrfSocket.listen`. */
export interface SocketListener {
  /** A frame arrived: its text, or null for a binary frame (DCRF speaks text only). */
  onFrame(text: string | null): void;
  /** The socket closed (by either side); told once. Resolves when the session's cleanup is done. */
  onClose(): void | Promise<void>;
}

/** One WebSocket as a DCRF session sees it. */
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
  /** Delivers the socket's frames and its close to `listener`; called once, by the session. */
  listen(listener: SocketListener): void;
}
