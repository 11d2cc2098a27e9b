/**
 * A request body read up to a bound: the bytes a client makes the server keep for one request. A
 * chunked body has no Content-Length to refuse early, so the bound is checked as chunks arrive.
 */
import type { IncomingMessage } from 'node:http';

/** The body passed the bound: the rest is left unread (paused, not destroyed, so a 413 can still be sent). */
export class BodyTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`Request body larger than ${maxBytes} bytes.`);
    this.name = 'BodyTooLarge';
  }
}

/** Reads `request`'s body as UTF-8 text, at most `maxBytes`; rejects with BodyTooLarge past it, or with the request's error. */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (error: Error) => {
      request.off('data', onData).off('end', onEnd).off('error', stop);
      request.pause();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) stop(new BodyTooLarge(maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks).toString('utf8'));
    request.on('data', onData).on('end', onEnd).on('error', stop);
  });
}
