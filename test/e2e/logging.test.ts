/**
 * Logging (issue 17): the app plugs in a logger of its own in pino's shape (`setLogger`), and the
 * gateway writes `debug` records of what an operator looks for: refused upgrades (why, and who asked,
 * never a token), closes with their codes, limit hits (frame size, rate) and slow consumers. With the
 * default logger, `LOG_LEVEL=debug` on the CLI prints the refused upgrade.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { action, AsyncAPIConsumer, setLogger, type ActionArgs, type ActionResult, type Logger, type LogLevel } from '../../src/index.js';
import { TestSocket, reply } from '../helpers/app.js';
import { eventually, startGateway, upgradeStatus, type TestGateway } from '../helpers/hardening.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface LogRecord extends Record<string, unknown> {
  level: LogLevel;
  msg?: string;
}

/** A logger in pino's shape (`(fields, message)`, `child`, `isLevelEnabled`) that keeps its records. */
class RecordingLogger implements Logger {
  constructor(
    readonly records: LogRecord[] = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}
  private record(level: LogLevel) {
    return (first: object | string, message?: string) => {
      const [fields, msg] = typeof first === 'string' ? [{}, first] : [first, message];
      this.records.push({ ...this.bindings, ...fields, level, msg });
    };
  }
  trace = this.record('trace');
  debug = this.record('debug');
  info = this.record('info');
  warn = this.record('warn');
  error = this.record('error');
  fatal = this.record('fatal');
  child(bindings: Record<string, unknown>): RecordingLogger {
    return new RecordingLogger(this.records, { ...this.bindings, ...bindings });
  }
  isLevelEnabled(): boolean {
    return true;
  }
  /** The debug records with this message. */
  find(msg: string): LogRecord[] {
    return this.records.filter((record) => record.level === 'debug' && record.msg === msg);
  }
}

class EchoConsumer extends AsyncAPIConsumer {
  @action({ args: ['data'] })
  echo(args: ActionArgs): ActionResult {
    return [args.data ?? null, 200];
  }

  /** Events held behind this action's reply: past the output bound the socket is a slow consumer. */
  @action()
  flood(): ActionResult {
    for (let i = 0; i < 16; i++) this.sendJson({ pad: 'x'.repeat(64 * 1024) });
    return [null, 200];
  }
}

describe('an injected logger gets the gateway’s debug records', () => {
  const root = new RecordingLogger();
  let gw: TestGateway;

  before(async () => {
    setLogger(root.child({ app: 'logging-test' }));
    gw = await startGateway({
      streams: { echo: EchoConsumer },
      maxFrameBytes: 4096,
      limits: { maxBufferedBytes: 256 * 1024, ratePerSecond: 1, rateBurst: 3 },
    });
  });
  after(async () => {
    await gw.close();
    setLogger(undefined);
  });

  test('a refused upgrade: status, reason, the limit, origin, host and path (without its query and token)', async () => {
    const headers = { Origin: 'http://evil.example' };
    assert.equal(await upgradeStatus(`${gw.wsUrl}/ws/echo/?token=not-for-logs`, headers), 403);
    await eventually(() => root.find('upgrade refused').length > 0, 'the refusal logged');
    const [refused] = root.find('upgrade refused');
    assert.deepEqual(
      { ...refused, ip: undefined },
      {
        app: 'logging-test',
        level: 'debug',
        msg: 'upgrade refused',
        status: 403,
        reason: 'Forbidden',
        limit: 'origin',
        path: '/ws/echo/',
        ip: undefined,
        host: new URL(gw.url).host,
        origin: 'http://evil.example',
        subprotocols: undefined,
      },
    );
    assert.equal(refused!.ip, '127.0.0.1');
    assert.doesNotMatch(JSON.stringify(root.records), /not-for-logs/);

    assert.equal(await upgradeStatus(`${gw.wsUrl}/ws/nowhere/`), 404);
    await eventually(() => root.find('upgrade refused').some((record) => record.status === 404), 'the 404 logged');
  });

  test('closes with their codes: the client’s, and the server’s for a frame over maxFrameBytes (a limit hit)', async () => {
    const socket = await TestSocket.open(`${gw.wsUrl}/ws/echo/`);
    assert.deepEqual(await socket.request({ action: 'echo', data: 1, request_id: 1 }), reply('echo', 1, 200, 1));
    socket.ws.close(4001, 'bye');
    await eventually(() => root.find('socket closed').some((record) => record.code === 4001), 'the client close logged');
    assert.deepEqual(
      root.find('socket closed').find((record) => record.code === 4001),
      { app: 'logging-test', level: 'debug', msg: 'socket closed', protocol: 'dcrf', code: 4001, reason: 'bye', ip: '127.0.0.1' },
    );

    const big = await TestSocket.open(`${gw.wsUrl}/ws/echo/`);
    big.send({ action: 'echo', data: 'x'.repeat(8192), request_id: 2 });
    assert.equal(await big.closed, 1009);
    await eventually(() => root.find('socket closed').some((record) => record.code === 1009), 'the 1009 logged');
    assert.ok(root.find('limit hit').some((record) => record.limit === 'frame_size'));
  });

  test('a rate limit hit and a slow consumer are logged', async () => {
    const fast = await TestSocket.open(`${gw.wsUrl}/ws/echo/`);
    for (let i = 0; i < 6; i++) fast.send({ action: 'echo', data: i, request_id: i });
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push((await fast.next()).response_status);
    assert.ok(answers.includes(429), `answers: ${answers}`);
    assert.ok(root.find('limit hit').some((record) => record.limit === 'rate'));
    fast.close();

    const slow = await TestSocket.open(`${gw.wsUrl}/ws/echo/`);
    slow.send({ action: 'flood', request_id: 'f' });
    assert.equal(await slow.closed, 1013);
    await eventually(() => root.find('socket closed').some((record) => record.code === 1013), 'the 1013 logged');
    assert.deepEqual(root.find('slow consumer closed')[0], {
      app: 'logging-test',
      level: 'debug',
      msg: 'slow consumer closed',
      limit: 'slow_consumer',
    });
  });
});

test('LOG_LEVEL=debug on the CLI prints a refused upgrade as a JSON line on stderr', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logging-cli-'));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'serve', '--port', '0'], {
    env: { ...process.env, LOG_LEVEL: 'debug', DATABASE_URL: `sqlite:${path.join(dir, 'cli.sqlite3')}`, TOKEN_SECRET: 'x'.repeat(40) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  try {
    await eventually(() => /dcrf-gateway listening/.test(stderr), 'the CLI listening', 60_000);
    const listening = stderr.split('\n').find((line) => line.includes('dcrf-gateway listening'))!;
    const url = (JSON.parse(listening) as { http: string }).http;
    assert.equal(await upgradeStatus(`${url.replace(/^http/, 'ws')}/ws`, { Origin: 'http://evil.example' }), 403);
    await eventually(() => /"msg":"upgrade refused"/.test(stderr), 'the refusal printed', 10_000);
    const line = JSON.parse(stderr.split('\n').find((text) => text.includes('"upgrade refused"'))!);
    assert.equal(line.level, 'debug');
    assert.equal(line.status, 403);
    assert.equal(line.limit, 'origin');
    assert.equal(line.origin, 'http://evil.example');
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
