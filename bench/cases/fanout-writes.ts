/**
 * The fan-out measurement loop: with sockets already subscribed in the subscriber processes, a writer
 * process sends stamped writes one at a time, and the next write goes out once every subscriber has
 * received the last one (so latency is the fan-out itself, not a queue behind earlier writes).
 */
import type { Child, Notice } from '../lib/child.js';
import { Histogram } from '../lib/histogram.js';
import { log, targetRun, type RunningServer } from '../lib/harness.js';
import type { TargetRun } from '../lib/results.js';

export interface WritePlan {
  /** Writes before the window: at least `warmupWrites`, and more until `warmupMs` passed (at most `maxWrites`). */
  warmupWrites: number;
  warmupMs: number;
  maxWrites: number;
  measureMs: number;
}

/**
 * The write plan every fan-out measurement uses (smaller in smoke mode): a second of writes to warm up,
 * then writes for 3 seconds, at most 400 of them. Three warm-up writes and at most 60 measured ones
 * (under half a second at 500 subscribers) measured the gateway's delivery path partly before the JIT
 * had compiled it, and gave ratios that moved by a third between runs.
 */
export function fanoutWritePlan(smoke: boolean): WritePlan {
  return { warmupWrites: 3, warmupMs: smoke ? 200 : 1000, maxWrites: smoke ? 10 : 400, measureMs: smoke ? 1000 : 3000 };
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

/**
 * Measures deliveries to `subscribedSockets` sockets; the writer must be open already. With several
 * server processes (scale-out), their CPU is added up: CPU per delivery is that of the whole system.
 */
export async function measureWrites(
  target: string,
  server: RunningServer | RunningServer[],
  subscribers: Child[],
  writer: Child,
  subscribedSockets: number,
  plan: WritePlan,
): Promise<TargetRun> {
  let missed = 0;
  const writeOnce = async () => {
    const write = ++writeNumber;
    const delivered = deliveredEverywhere(subscribers, write, 10_000);
    await writer.call('write', { write });
    if (!(await delivered)) missed++;
  };
  const warmupEnd = Date.now() + plan.warmupMs;
  for (let i = 0; i < plan.maxWrites && (i < plan.warmupWrites || Date.now() < warmupEnd); i++) await writeOnce();
  const servers = Array.isArray(server) ? server : [server];
  await Promise.all([...servers.map((each) => each.child.call('mark')), ...subscribers.map((subscriber) => subscriber.call('begin'))]);
  const deadline = Date.now() + plan.measureMs;
  let writes = 0;
  while (writes < plan.maxWrites && Date.now() < deadline) {
    await writeOnce();
    writes++;
  }
  const [usages, reports] = await Promise.all([
    Promise.all(servers.map((each) => each.child.call('usage'))),
    Promise.all(subscribers.map((subscriber) => subscriber.call('end'))),
  ]);
  const usage = {
    cpuUs: usages.reduce((sum, each) => sum + each.cpuUs, 0),
    systemUs: usages.reduce((sum, each) => sum + each.systemUs, 0),
    wallUs: usages[0].wallUs,
    rssBytes: usages.reduce((sum, each) => sum + each.rssBytes, 0),
  };
  const deliveries = reports.reduce((sum, report) => sum + report.deliveries, 0);
  const run = targetRun(
    reports.map((report) => Histogram.fromJSON(report.histogram)),
    deliveries,
    usage.wallUs,
    usage,
    Math.max(0, writes * subscribedSockets - deliveries),
  );
  log(
    `  ${target} @${subscribedSockets}: ${Math.round(run.throughput)} deliveries/s over ${writes} writes, p50 ${run.p50Ms.toFixed(1)} ms, ` +
      `p99 ${run.p99Ms.toFixed(1)} ms, ${run.cpuUsPerOp.toFixed(2)} µs CPU/delivery ` +
      `(${deliveries > 0 ? (usage.systemUs / deliveries).toFixed(2) : '-'} µs in the kernel)${missed ? `, ${missed} writes not fully delivered` : ''}`,
  );
  return run;
}
