/**
 * A WebSocket client made by hand over TCP: it reads every frame the server sends as it is and never
 * answers a close nor closes its TCP side by itself (what a test of the server's closing needs).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { eventually } from './hardening.js';

/** A close frame's payload: code 1000. */
export const CLOSE_1000 = Buffer.from([0x03, 0xe8]);

export interface Frame {
  opcode: number;
  payload: Buffer;
}

/** A WebSocket client that reads raw frames and never closes its TCP side by itself. */
export class RawClient {
  readonly frames: Frame[] = [];
  private pending = Buffer.alloc(0);
  private upgraded = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => this.onData(chunk));
  }

  static async open(port: number, path: string, protocol?: string): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawClient(socket);
    const key = crypto.randomBytes(16).toString('base64');
    socket.write(
      [
        `GET ${path} HTTP/1.1`,
        'Host: 127.0.0.1',
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${key}`,
        'Sec-WebSocket-Version: 13',
        ...(protocol ? [`Sec-WebSocket-Protocol: ${protocol}`] : []),
        '',
        '',
      ].join('\r\n'),
    );
    await eventually(() => client.upgraded, 'the 101 response');
    return client;
  }

  /** Sends one masked frame (a client's frames must be masked; a zero key leaves the payload as it is). */
  send(opcode: number, payload: Buffer | string): void {
    const data = Buffer.from(payload);
    assert.ok(data.length < 0x10000);
    const length = data.length < 126 ? [0x80 | data.length] : [0x80 | 126, data.length >> 8, data.length & 0xff];
    this.socket.write(Buffer.concat([Buffer.from([0x80 | opcode, ...length, 0, 0, 0, 0]), data]));
  }

  texts(): unknown[] {
    return this.frames.filter((frame) => frame.opcode === 1).map((frame) => JSON.parse(String(frame.payload)));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    if (!this.upgraded) {
      const end = this.pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      assert.match(String(this.pending.subarray(0, end)), /^HTTP\/1\.1 101/);
      this.pending = this.pending.subarray(end + 4);
      this.upgraded = true;
    }
    for (;;) {
      if (this.pending.length < 2) return;
      let length = this.pending[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.pending.length < 4) return;
        length = this.pending.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.pending.length < 10) return;
        length = Number(this.pending.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.pending.length < offset + length) return;
      this.frames.push({ opcode: this.pending[0]! & 0x0f, payload: this.pending.subarray(offset, offset + length) });
      this.pending = this.pending.subarray(offset + length);
    }
  }
}

/** Every frame after the server's close frame (which must have come). */
export function framesAfterClose(client: RawClient): Frame[] {
  const at = client.frames.findIndex((frame) => frame.opcode === 8);
  assert.ok(at >= 0, 'the server sent a close frame');
  return client.frames.slice(at + 1);
}
