/**
 * One fan-out measurement: subscriber processes hold the sockets, a writer process sends stamped
 * writes one at a time, and the next write goes out once every subscriber has received the last one
 * (so latency is the fan-out itself, not a queue). Shared by `fanout` and the GraphQL fan-out row.
 */
import type { Child, Notice } from '../lib/child.js';
import type { Subscription, WriterKind } from '../lib/events.js';
import { Histogram } from '../lib/histogram.js';
import { log, sleep, sourceAddress, split, targetRun, type RunningServer } from '../lib/harness.js';
import type { TargetRun } from '../lib/results.js';

export interface FanoutPlan {
  url: string;
  writerUrl: string;
  writerKind: WriterKind;
  subscription: Subscription;
  /** Subscribed sockets at each step, growing (e.g. [1000, 10000]): sockets are added, not reopened. */
  steps: number[];
  warmupWrites: number;
  maxWrites: number;
  measureMs: number;
}

/** Waits until every subscriber process said it delivered `write`, or `timeoutMs` passes. */
function deliveredEverywhere(subscribers: Child[], write: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let left = subscribers.length;
    const stops: Array<() => void> = [];
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      for (const stop of stops) stop();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    for (const subscriber of subscribers) {
      stops.push(
        subscriber.onNotice((notice: Notice) => {
          if (notice.type === 'delivered' && notice.write === write && --left === 0) finish(true);
        }),
      );
    }
  });
}

let writeNumber = 0;

/** Measures each step of the plan on one running server; returns one TargetRun per step. */
export async function measureFanout(target: string, server: RunningServer, subscribers: Child[], writer: Child, plan: FanoutPlan): Promise<TargetRun[]> {
  const results: TargetRun[] = [];
  let open = 0;
  await writer.call('open', { url: plan.writerUrl, kind: plan.writerKind });
  try {
    for (const step of plan.steps) {
      const adding = split(step - open, subscribers.length);
      await Promise.all(
        subscribers.map((subscriber, i) =>
          subscriber.call('open', { url: plan.url, sockets: adding[i], localAddress: sourceAddress(i), subscription: plan.subscription }, 180_000),
        ),
      );
      open = step;
      await sleep(200);
      let missed = 0;
      const writeOnce = async () => {
        const write = ++writeNumber;
        const delivered = deliveredEverywhere(subscribers, write, 10_000);
        await writer.call('write', { write });
        if (!(await delivered)) missed++;
      };
      for (let i = 0; i < plan.warmupWrites; i++) await writeOnce();
      await Promise.all([server.child.call('mark'), ...subscribers.map((subscriber) => subscriber.call('begin'))]);
      const deadline = Date.now() + plan.measureMs;
      let writes = 0;
      while (writes < plan.maxWrites && Date.now() < deadline) {
        await writeOnce();
        writes++;
      }
      const [usage, ...reports] = await Promise.all([server.child.call('usage'), ...subscribers.map((subscriber) => subscriber.call('end'))]);
      const deliveries = reports.reduce((sum, report) => sum + report.deliveries, 0);
      const expected = writes * step;
      const run = targetRun(reports.map((report) => Histogram.fromJSON(report.histogram)), deliveries, usage.wallUs, usage, Math.max(0, expected - deliveries));
      log(`  ${target} @${step}: ${Math.round(run.throughput)} deliveries/s over ${writes} writes, p50 ${run.p50Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms, ${run.cpuUsPerOp.toFixed(2)} µs CPU/delivery${missed ? `, ${missed} writes not fully delivered` : ''}`);
      results.push(run);
    }
  } finally {
    await writer.call('close').catch(() => undefined);
    await Promise.all(subscribers.map((subscriber) => subscriber.call('close').catch(() => undefined)));
  }
  return results;
}
