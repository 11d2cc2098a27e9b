/**
 * Replays sections of the reference transcript (frames captured from the real DCRF, see
 * test/helpers/reference-frames.ts) against a fresh demo app: every frame the client sent is sent
 * verbatim, and every frame the real DCRF answered must arrive on the same socket, in the same order,
 * equal in meaning (parsed JSON, so Python's `", "` spacing does not matter).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { User } from '../../src/demo/models.js';
import { startTestApp, TestSocket, type TestApp } from '../helpers/app.js';
import { REFERENCE_SECTIONS } from '../helpers/reference-frames.js';

type Step =
  | { kind: 'connect'; socket: string; path: string; headers: Record<string, string> }
  | { kind: 'send'; socket: string; text: string; line: string }
  | { kind: 'expect'; socket: string; frame: unknown; line: string }
  | { kind: 'email'; email: string };

const LINE = /^(\S+) (→|←|⇢) (.*?)(?:\s{3}#.*)?$/;

/** Reads a transcript into steps; lines that need no action (OPEN, CLOSED, notes) are skipped. */
function parse(transcript: string, tokens: Record<string, string>): Step[] {
  const withTokens = (text: string) => text.replace(/<(\w+)-token>/g, (_, name: string) => tokens[name] ?? `<${name}-token>`);
  const steps: Step[] = [];
  for (const raw of transcript.split('\n')) {
    const line = withTokens(raw.trimEnd());
    const other = /^\(other process\).*u\.email='([^']*)'/.exec(line);
    if (other) {
      steps.push({ kind: 'email', email: other[1]! });
      continue;
    }
    const match = LINE.exec(line);
    if (!match) continue;
    const [, socket, arrow, rest] = match as unknown as [string, string, string, string];
    if (arrow === '⇢') {
      const connect = /^CONNECT (\S+)(?: headers=(.*))?$/.exec(rest);
      assert.ok(connect, `unreadable line: ${line}`);
      steps.push({ kind: 'connect', socket, path: connect[1]!, headers: connect[2] ? JSON.parse(connect[2]) : {} });
    } else if (arrow === '→') steps.push({ kind: 'send', socket, text: rest, line });
    else steps.push({ kind: 'expect', socket, frame: JSON.parse(rest), line });
  }
  return steps;
}

async function replay(app: TestApp, steps: Step[]): Promise<number> {
  const sockets = new Map<string, TestSocket>();
  let compared = 0;
  try {
    for (const step of steps) {
      if (step.kind === 'connect') sockets.set(step.socket, await TestSocket.open(`${app.wsUrl}${step.path}`, { headers: step.headers }));
      else if (step.kind === 'send') sockets.get(step.socket)!.send(step.text);
      else if (step.kind === 'email') await User.query().findById(1).patch({ email: step.email });
      else {
        const received = await sockets.get(step.socket)!.next();
        assert.deepEqual(received, step.frame, `at: ${step.line}`);
        compared++;
      }
    }
    for (const socket of sockets.values()) assert.ok(await socket.quiet(100), 'no frame beyond the transcript');
  } finally {
    for (const socket of sockets.values()) socket.close();
  }
  return compared;
}

for (const section of REFERENCE_SECTIONS) {
  test(`reference transcript: ${section.title}`, async (t) => {
    const app = await startTestApp();
    try {
      // The reference run made alice, bob and carol (ids 1, 2, 3) before anything else.
      const tokens = { alice: await app.token('alice'), bob: await app.token('bob') };
      await app.token('carol');
      const compared = await replay(app, parse(section.transcript, tokens));
      assert.ok(compared >= 5, 'the section was read');
      t.diagnostic(`${compared} frames equal to the reference`);
    } finally {
      await app.close();
    }
  });
}
