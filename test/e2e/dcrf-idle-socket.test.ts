/**
 * What an idle DCRF socket holds, and that holding less changed nothing a consumer sees: the scope's
 * headers, query and cookies (parsed when first read) are what Node makes of the same request; the
 * consumers of a multiplexed socket share `extra`; a consumer with nothing to do on connect is made
 * with the first frame, one with an `onConnect` or `onDisconnect` at once; and the server's heap per
 * idle socket stays near a plain `ws` server's.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { WebSocket, WebSocketServer } from 'ws';
import { action, type ActionArgs, type ActionResult, AsyncAPIConsumer, type ConsumerClass } from '../../src/index.js';
import type { ConnectionScope } from '../../src/scope.js';
import { TestSocket } from '../helpers/app.js';
import { eventually, startGateway, type TestGateway } from '../helpers/hardening.js';

/** The scopes consumers were made with, in order. */
const scopes: ConnectionScope[] = [];
let lazyMade = 0;
const disconnected: string[] = [];

/** Reads its scope only when asked. */
class ScopeConsumer extends AsyncAPIConsumer {
  constructor(...args: ConstructorParameters<typeof AsyncAPIConsumer>) {
    super(...args);
    lazyMade++;
  }

  @action()
  async read(): Promise<ActionResult> {
    const { headers, query, cookies, path, stream, remoteAddress } = this.scope;
    return [{ headers, query: [...query], cookies, path, stream, remoteAddress, extra: this.scope.extra }, 200];
  }

  @action({ args: ['key', 'value'] })
  async remember(args: ActionArgs): Promise<ActionResult> {
    this.scope.extra[String(args.key)] = args.value;
    return [null, 200];
  }
}

/** Does something on connect and on disconnect: made when its socket opens. */
class GreetingConsumer extends AsyncAPIConsumer {
  override async onConnect(): Promise<void> {
    scopes.push(this.scope);
  }

  override async onDisconnect(): Promise<void> {
    disconnected.push(String(this.scope.path));
  }
}

/** Only says goodbye: still made at connect, so its onDisconnect runs for a socket that never spoke. */
class FarewellConsumer extends AsyncAPIConsumer {
  override async onDisconnect(): Promise<void> {
    disconnected.push('farewell');
  }
}

const streams: Record<string, ConsumerClass> = {
  scope: ScopeConsumer as unknown as ConsumerClass,
  other: ScopeConsumer as unknown as ConsumerClass,
  greeting: GreetingConsumer as unknown as ConsumerClass,
  farewell: FarewellConsumer as unknown as ConsumerClass,
};

let server: TestGateway;
before(async () => {
  server = await startGateway({ streams, allowedOrigins: ['*'], maxSocketsPerIp: 0 });
});
after(async () => {
  await server?.close();
});

/** Sends a raw upgrade request (its header lines as given, repeats included) and waits for the 101. */
async function rawUpgrade(port: number, path: string, lines: string[]): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${lines.map((line) => `${line}\r\n`).join('')}\r\n`,
  );
  const head = await new Promise<string>((resolve) => socket.once('data', (data) => resolve(String(data))));
  assert.match(head, /^HTTP\/1\.1 101 /);
  return socket;
}

/** What Node's own HTTP parser makes of the same header lines (`IncomingMessage.headers`). */
async function nodeHeaders(lines: string[]): Promise<http.IncomingHttpHeaders> {
  const parser = http.createServer((request, response) => response.end(JSON.stringify(request.headers)));
  await new Promise<void>((resolve) => parser.listen(0, '127.0.0.1', resolve));
  const port = (parser.address() as net.AddressInfo).port;
  try {
    const socket = net.connect(port, '127.0.0.1');
    socket.write(
      `GET /ws/greeting HTTP/1.1\r\nHost: 127.0.0.1:${server.wsUrl.split(':').pop()}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${lines.map((line) => `${line}\r\n`).join('')}\r\n`,
    );
    // Without an 'upgrade' listener, Node answers an upgrade request as a plain one.
    const text = await new Promise<string>((resolve) => {
      let all = '';
      socket.on('data', (data) => (all += String(data)));
      socket.on('end', () => resolve(all));
      socket.on('close', () => resolve(all));
    });
    return JSON.parse(
      text
        .slice(text.indexOf('\r\n\r\n') + 4)
        .replace(/^[0-9a-f]+\r\n/, '')
        .replace(/\r\n0\r\n\r\n$/, ''),
    );
  } finally {
    parser.close();
  }
}

describe('the scope, read when a consumer asks', () => {
  test('headers are what Node parses from the same request: repeats joined, discarded or listed as Node does', async () => {
    const port = Number(server.wsUrl.split(':').pop());
    const lines = [
      'X-Multi: one',
      'X-Multi: two',
      'User-Agent: first',
      'User-Agent: second',
      'Cookie: a=1',
      'Cookie: b="two%20words"',
      'Set-Cookie: s=1',
      'Set-Cookie: t=2',
      'X-Empty:',
    ];
    scopes.length = 0;
    const socket = await rawUpgrade(port, '/ws/greeting?x=1&x=2&y=%20z', lines);
    await eventually(() => scopes.length === 1, 'the greeting consumer connected');
    const scope = scopes[0]!;
    assert.deepEqual(scope.headers, await nodeHeaders(lines));
    assert.equal(scope.headers['x-multi'], 'one, two');
    assert.equal(scope.headers['user-agent'], 'first');
    assert.deepEqual(scope.headers['set-cookie'], ['s=1', 't=2']);
    assert.deepEqual(scope.cookies, { a: '1', b: 'two words' });
    assert.deepEqual(
      [...scope.query],
      [
        ['x', '1'],
        ['x', '2'],
        ['y', ' z'],
      ],
    );
    assert.equal(scope.path, '/ws/greeting');
    assert.equal(scope.stream, 'greeting');
    assert.equal(scope.remoteAddress, '127.0.0.1');
    // Set by a consumer, the parsed parts stay what it set.
    scope.extra.seen = true;
    assert.deepEqual(scope.extra, { seen: true });
    socket.destroy();
  });

  test("a multiplexed socket's consumers each have their stream and share headers, query, cookies and extra", async () => {
    const socket = await TestSocket.open(`${server.wsUrl}/ws?a=none&k=v`, { headers: { cookie: 'c=3', 'x-app': 'demo' } });
    const remembered = await socket.request({ stream: 'scope', payload: { action: 'remember', key: 'x', value: 1, request_id: 1 } });
    assert.equal(remembered.payload.response_status, 200);
    const read = await socket.request({ stream: 'other', payload: { action: 'read', request_id: 2 } });
    const data = read.payload.data;
    assert.equal(data.stream, 'other');
    assert.equal(data.path, '/ws');
    assert.deepEqual(data.extra, { x: 1 }, "the other stream's consumer sees what the first kept in extra");
    assert.deepEqual(data.cookies, { c: '3' });
    assert.deepEqual(data.query, [
      ['a', 'none'],
      ['k', 'v'],
    ]);
    assert.equal(data.headers['x-app'], 'demo');
    assert.equal(data.headers.upgrade, 'websocket');
    const first = await socket.request({ stream: 'scope', payload: { action: 'read', request_id: 3 } });
    assert.equal(first.payload.data.stream, 'scope');
    socket.close();
  });
});

describe('consumers made when needed', () => {
  test('a consumer with nothing to do on connect is made with the first frame; one with onConnect or onDisconnect at once', async () => {
    lazyMade = 0;
    scopes.length = 0;
    disconnected.length = 0;
    const idle = await Promise.all([1, 2, 3].map(() => TestSocket.open(`${server.wsUrl}/ws/scope`)));
    const greeted = await TestSocket.open(`${server.wsUrl}/ws/greeting`);
    const farewell = await TestSocket.open(`${server.wsUrl}/ws/farewell`);
    await eventually(() => scopes.length === 1, 'the greeting consumer was made at connect');
    assert.equal(lazyMade, 0, 'no consumer for the idle sockets');
    const answer = await idle[0]!.request({ action: 'read', request_id: 1 });
    assert.equal(answer.response_status, 200);
    assert.equal(answer.data.stream, 'scope');
    assert.equal(lazyMade, 1);
    for (const socket of [...idle, greeted, farewell]) socket.close();
    await eventually(() => disconnected.length === 2, 'onDisconnect of both consumers that have one');
    assert.deepEqual(disconnected.sort(), ['/ws/greeting', 'farewell']);
    await eventually(() => server.gateway.socketCount === 0, 'every socket closed');
  });
});

describe('memory', () => {
  test("an idle DCRF socket's server heap stays within 1 KiB of a plain ws server's", async () => {
    const gc = collector();
    const sockets = 400;
    const raw = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    // The least a server does with a socket: one message listener.
    raw.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
    await new Promise<void>((resolve) => raw.once('listening', resolve));
    const rawUrl = `ws://127.0.0.1:${(raw.address() as net.AddressInfo).port}/`;
    try {
      const perSocket = async (url: string): Promise<number> => {
        // Once without measuring, so code compiled on the way is not counted against the sockets.
        await closeAll(await openMany(url, sockets));
        gc();
        const before = process.memoryUsage().heapUsed;
        const open = await openMany(url, sockets);
        gc();
        const grown = (process.memoryUsage().heapUsed - before) / sockets;
        await closeAll(open);
        return grown;
      };
      const rawBytes = Math.min(await perSocket(rawUrl), await perSocket(rawUrl));
      const dcrfBytes = Math.min(await perSocket(`${server.wsUrl}/ws/scope`), await perSocket(`${server.wsUrl}/ws/scope`));
      console.log(`# heap per idle socket, client and server: raw ws ${rawBytes.toFixed(0)} B, DCRF ${dcrfBytes.toFixed(0)} B`);
      assert.ok(dcrfBytes - rawBytes <= 1024, `a DCRF socket holds ${(dcrfBytes - rawBytes).toFixed(0)} bytes more than a plain ws one`);
    } finally {
      for (const client of raw.clients) client.terminate();
      await new Promise((resolve) => raw.close(resolve));
    }
  });
});

async function openMany(url: string, count: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, () => new WebSocket(url, { perMessageDeflate: false }));
    await Promise.all(batch.map((ws) => new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))));
    sockets.push(...batch);
  }
  return sockets;
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  const closing = sockets.map((ws) => {
    if (ws.readyState === ws.CLOSED) return undefined;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.close();
    return closed;
  });
  await Promise.all(closing);
}

/** The garbage collector, exposed for this process (the test runner does not pass --expose-gc). */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
