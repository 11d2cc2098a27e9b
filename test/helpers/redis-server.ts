/**
 * A redis-server of one's own, as a child process on a free loopback port (nothing saved to disk), to
 * kill and start again: a real Redis restart (connections reset, subscriptions and keys gone), which
 * the shared Redis other tests use must never see.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A free TCP port on 127.0.0.1 (free when asked: the caller binds it next). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether a Redis answers PING on `port`. */
async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export class RedisServer {
  #child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server on a free port (or `port`) and resolves once it answers PING. */
  static async start(port?: number): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()));
    await server.#launch();
    return server;
  }

  async #launch(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      { stdio: 'ignore' },
    );
    this.#child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`redis-server on port ${this.port} exited (${code}) before answering`))),
    );
    exited.catch(() => undefined);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (await answersPing(this.port)) return;
      if (child.exitCode !== null || Date.now() > deadline)
        await Promise.race([exited, Promise.reject(new Error('redis-server did not answer'))]);
      await sleep(50);
    }
  }

  /** Kills the server at once (SIGKILL: no goodbye to its clients) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }

  /** Starts it again on the same port (empty: nothing was saved); resolves once it answers. */
  async restart(): Promise<void> {
    await this.kill();
    await this.#launch();
  }

  /** Stops it for good. */
  stop(): Promise<void> {
    return this.kill();
  }
}
