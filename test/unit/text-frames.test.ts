/**
 * Whole text frames written into a `ws` socket's stream: a `ws` client reads them as the text messages
 * they carry, in order with what `ws.send` sends around them, at every length encoding (7-bit, 16-bit,
 * 64-bit); a socket that negotiated compression is never written to directly.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { textFrame, textFrameStream } from '../../src/text-frames.js';
import { Outbound, type OutboundHost } from '../../src/dcrf/outbound.js';
import { DEFAULT_DCRF_LIMITS } from '../../src/dcrf/limits.js';
import type { DcrfSocket } from '../../src/dcrf/socket.js';
import { SocketOutput } from '../../src/graphql/socket-output.js';
import { framesAfterClose, RawClient } from '../helpers/raw-ws-client.js';
import { eventually } from '../helpers/hardening.js';

let server: http.Server;
let url: string;
const accepted: WebSocket[] = [];

function startServer(perMessageDeflate: boolean): Promise<string> {
  server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate });
  wss.on('connection', (ws) => accepted.push(ws));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

async function connect(options?: { perMessageDeflate?: boolean }): Promise<{ client: WebSocket; serverSide: WebSocket }> {
  const count = accepted.length;
  const client = new WebSocket(url, options);
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  while (accepted.length === count) await new Promise((resolve) => setImmediate(resolve));
  return { client, serverSide: accepted[count]! };
}

before(async () => {
  url = await startServer(true);
});
after(async () => {
  for (const ws of accepted) ws.terminate();
  await new Promise((resolve) => server.close(resolve));
});

test('a client reads whole frames as text messages, in order with ws.send, at every length encoding', async () => {
  const { client, serverSide } = await connect({ perMessageDeflate: false });
  const stream = textFrameStream(serverSide);
  assert.ok(stream, 'an uncompressed socket is written directly');
  const received: Array<{ text: string; binary: boolean }> = [];
  client.on('message', (data, isBinary) => received.push({ text: String(data), binary: isBinary }));

  const prefix = Buffer.from('{"id":"é1","type":"next","payload":');
  const bodies = [1, 60, 200, 70_000].map((size) => JSON.stringify({ data: 'ü'.repeat(size) }));
  const expected: string[] = [];
  for (const [i, body] of bodies.entries()) {
    stream.write(textFrame(prefix, Buffer.from(body), Buffer.from('}')));
    expected.push(`${prefix}${body}}`);
    serverSide.send(`between ${i}`);
    expected.push(`between ${i}`);
  }
  while (received.length < expected.length) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(
    received.map((message) => message.text),
    expected,
  );
  assert.ok(
    received.every((message) => !message.binary),
    'every frame is a text frame',
  );
  client.close();
});

test('a socket that negotiated compression is left to ws.send', async () => {
  const { client, serverSide } = await connect({ perMessageDeflate: true });
  assert.equal(serverSide.extensions, 'permessage-deflate');
  assert.equal(textFrameStream(serverSide), undefined);
  client.close();
});

test('an output without a stream to write frames into sends the same events as text', async () => {
  // GraphQL: a socket that negotiated compression.
  const { client, serverSide } = await connect({ perMessageDeflate: true });
  const received: string[] = [];
  client.on('message', (data, isBinary) => received.push(`${isBinary ? 'binary' : 'text'} ${String(data)}`));
  const output = new SocketOutput(serverSide, 1024 * 1024);
  assert.equal(output.frameStream, undefined);
  output.sendEventBytes(Buffer.from('{"id":"1","payload":'), Buffer.from('{"data":"ü"}'), Buffer.from('}'));
  while (received.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(received, ['text {"id":"1","payload":{"data":"ü"}}']);
  client.close();

  // DCRF: a socket that is not a ws socket (as a test's communicator).
  const sent: string[] = [];
  const socket = { send: (text: string) => sent.push(text), bufferedAmount: 0 } as unknown as DcrfSocket;
  const host = { socket, limits: DEFAULT_DCRF_LIMITS, observer: {}, closed: false, checksUser: false } as unknown as OutboundHost;
  const outbound = new Outbound(host);
  assert.equal(outbound.frameStream, undefined);
  outbound.sendEventBytes(Buffer.from('{"stream":"s","payload":'), Buffer.from('{"data":"é","request_id":'), Buffer.from('7}}'));
  assert.deepEqual(sent, ['{"stream":"s","payload":{"data":"é","request_id":7}}']);
});

test('after the server sent its close frame, no event is written, though the peer has not answered', async () => {
  const port = Number(new URL(url).port);
  for (const kind of ['dcrf', 'graphql'] as const) {
    const count = accepted.length;
    const client = await RawClient.open(port, '/');
    await eventually(() => accepted.length > count, 'the server side');
    const serverSide = accepted[count]!;
    const host = { socket: serverSide, limits: DEFAULT_DCRF_LIMITS, observer: {}, closed: false, checksUser: false };
    const outbound = kind === 'dcrf' ? new Outbound(host as unknown as OutboundHost) : new SocketOutput(serverSide, 1024 * 1024);
    assert.ok(outbound.frameStream, 'frames are written whole');
    const send = () => outbound.sendEventBytes(Buffer.from('{"a":'), Buffer.from('1'), Buffer.from('}'));
    send();
    // The session (DCRF) is told only once the socket has closed; this close is the server's own (a shutdown's).
    serverSide.close(1001, 'going away');
    send();
    await eventually(() => client.frames.some((frame) => frame.opcode === 8), `${kind}: the close frame`);
    send();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(
      client.frames.filter((frame) => frame.opcode === 1).map((frame) => String(frame.payload)),
      ['{"a":1}'],
      `${kind}: the event before the close only`,
    );
    assert.deepEqual(framesAfterClose(client), [], kind);
    client.destroy();
  }
});
