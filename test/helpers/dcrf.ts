/**
 * DCRF test helpers on top of app.ts: the outcome of an upgrade, raw frames (binary, text), and the
 * shape checks every reply must pass.
 */
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';

/** What an upgrade attempt ended with: 101 when the socket opened, else the HTTP status of the refusal. */
export function upgradeStatus(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
    ws.on('error', () => undefined);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_request, response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('close', () => reject(new Error(`${url}: closed before the upgrade finished`)));
  });
}

const ENVELOPE_KEYS = ['action', 'data', 'errors', 'request_id', 'response_status'];

/** Asserts `frame` is a DCRF reply envelope: exactly the five keys, errors a list, an integer status. */
export function assertEnvelope(frame: unknown, where = 'frame'): asserts frame is Record<string, unknown> {
  assert.ok(frame !== null && typeof frame === 'object' && !Array.isArray(frame), `${where}: not an object: ${JSON.stringify(frame)}`);
  const record = frame as Record<string, unknown>;
  assert.deepEqual(Object.keys(record).sort(), ENVELOPE_KEYS, `${where}: keys ${JSON.stringify(Object.keys(record))}`);
  assert.ok(Array.isArray(record.errors), `${where}: errors is not a list`);
  const status = record.response_status;
  assert.ok(
    typeof status === 'number' && Number.isInteger(status) && status >= 100 && status < 600,
    `${where}: bad status ${String(status)}`,
  );
  if (status >= 400) assert.equal(record.data, null, `${where}: an error reply carries data`);
}

/** Asserts `frame` is `{"stream": S, "payload": <envelope>}`. */
export function assertMultiplexed(frame: unknown, where = 'frame'): asserts frame is { stream: unknown; payload: Record<string, unknown> } {
  assert.ok(frame !== null && typeof frame === 'object' && !Array.isArray(frame), `${where}: not an object`);
  assert.deepEqual(
    Object.keys(frame as object).sort(),
    ['payload', 'stream'],
    `${where}: keys ${JSON.stringify(Object.keys(frame as object))}`,
  );
  assertEnvelope((frame as { payload: unknown }).payload, `${where}.payload`);
}

/** A text of `depth` nested JSON values: the outer object holds `x`, nested lists down to depth. */
export function nestedFrame(depth: number, extra: Record<string, unknown> = {}): string {
  const inner = '['.repeat(depth - 1) + ']'.repeat(depth - 1);
  const head = JSON.stringify(extra).slice(0, -1);
  return `${head}${head.length > 1 ? ',' : ''}"x":${inner}}`;
}
