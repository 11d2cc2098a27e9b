/**
 * WebSocket-level liveness for GraphQL sockets: a ping every `intervalMs`; a socket that has not
 * answered the previous ping by the next one is terminated (its operations are released on close).
 * `onTick` runs on each ping too (the periodic re-check of the socket's user).
 */
import type { WebSocket } from 'ws';

export function heartbeat(ws: WebSocket, intervalMs: number, onTick?: () => void): () => void {
  if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) return () => undefined;
  let answered = true;
  const onPong = () => {
    answered = true;
  };
  ws.on('pong', onPong);
  const timer = setInterval(() => {
    if (ws.readyState !== ws.OPEN) return;
    if (!answered) {
      ws.terminate();
      return;
    }
    answered = false;
    ws.ping();
    onTick?.();
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    ws.off('pong', onPong);
  };
}
