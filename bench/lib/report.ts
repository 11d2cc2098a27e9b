/**
 * Turning results into a console table per case, and bench/results/latest.json, latest.md and
 * ratios.svg (the results folder is git-ignored).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR } from './child.js';
import { ratiosChart } from './chart.js';
import type { Settings } from './harness.js';
import { summarize, type CaseResult, type Goal, type Row, type RowSummary } from './results.js';

export const RESULTS_DIR = path.join(BENCH_DIR, 'results');

function number(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : `${value.toFixed(2)}×`;
}

function goalText(goal: Goal): string {
  const what = goal.metric === 'ratio' ? `${goal.baseline}` : goal.metric === 'p99Ms' ? 'p99' : goal.metric;
  if (goal.metric !== 'ratio' && goal.baseline !== undefined) return `${what} ${goal.op} ${goal.value}× ${goal.baseline}'s`;
  const value = goal.metric === 'ratio' ? `${goal.value}×` : goal.metric.endsWith('Ms') ? `${goal.value} ms` : String(goal.value);
  return goal.metric === 'ratio' ? `${goal.op} ${value} ${what}` : `${what} ${goal.op} ${value}`;
}

/** The table of one row: a header and one line per target. */
function rowTable(row: Row, summary: RowSummary): string[][] {
  const idle = row.primary === 'perSocketKB';
  const header = idle
    ? ['target', 'KiB/socket', 'server RSS MB', ...row.baselines.map((b) => `vs ${b}`)]
    : [
        'target',
        row.unit,
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'server CPU µs/op',
        'server RSS MB',
        'errors',
        ...row.baselines.map((b) => `vs ${b}`),
      ];
  const lines = [header];
  for (const target of [row.system, ...row.baselines]) {
    const m = summary.medians[target] ?? {};
    const ratios = row.baselines.map((baseline) =>
      target === row.system ? ratio(summary.ratios[baseline]) : target === baseline ? '1.00×' : '',
    );
    lines.push(
      idle
        ? [target, number(m.perSocketKB, 2), number(m.rssMB), ...ratios]
        : [
            target,
            number(m.throughput),
            number(m.p50Ms, 2),
            number(m.p90Ms, 2),
            number(m.p99Ms, 2),
            number(m.cpuUsPerOp, 1),
            number(m.rssMB),
            number(m.errors),
            ...ratios,
          ],
    );
  }
  return lines;
}

function textTable(lines: string[][]): string {
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => (line[column] ?? '').length)));
  return lines
    .map((line) => line.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '))
    .join('\n');
}

function markdownTable(lines: string[][]): string {
  const [header, ...body] = lines;
  return [
    `| ${header!.join(' | ')} |`,
    `|${header!.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...body.map((line) => `| ${line.join(' | ')} |`),
  ].join('\n');
}

function goalLines(summary: RowSummary): string[] {
  return summary.goals.map((goal) => {
    const measured =
      goal.metric === 'ratio' || goal.baseline !== undefined
        ? ratio(goal.measured)
        : `${number(goal.measured, 1)}${goal.metric.endsWith('Ms') ? ' ms' : ''}`;
    return `goal ${goalText(goal)}: ${goal.met ? 'met' : 'NOT met'} (median ${measured})`;
  });
}

/** Prints a case's tables to stdout. */
export function printCase(result: CaseResult): void {
  const out: string[] = ['', `== ${result.name} ==`];
  if (result.error) out.push(`failed: ${result.error.split('\n')[0]}`);
  else if (!result.available) out.push(`not available: ${result.note ?? ''}`);
  for (const row of result.rows) {
    const summary = summarize(row);
    out.push(
      `${row.title} (median of ${summary.runs} run${summary.runs === 1 ? '' : 's'})`,
      textTable(rowTable(row, summary)),
      ...goalLines(summary),
      '',
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** One line per row and baseline: the system's and the baseline's medians, the ratio, the goal. */
export function summaryTable(results: CaseResult[]): string {
  const lines = [['row', 'figure', 'dcrf-gateway', 'baseline', 'baseline figure', 'ratio', 'goal']];
  for (const result of results) {
    if (!result.available || result.error) {
      lines.push([result.name, result.error ? 'failed' : `not available: ${result.note ?? ''}`, '', '', '', '', '']);
      continue;
    }
    for (const row of result.rows) {
      const summary = summarize(row);
      const figure = (target: string) => {
        const m = summary.medians[target] ?? {};
        if (row.primary === 'perSocketKB') return `${number(m.perSocketKB, 2)} KiB`;
        return `${number(m.throughput)} (p99 ${number(m.p99Ms, 1)} ms, ${number(m.cpuUsPerOp, 1)} µs CPU)`;
      };
      for (const baseline of row.baselines) {
        const goals = summary.goals.filter((g) => g.metric !== 'ratio' || g.baseline === baseline);
        const goal = goals.map((g) => `${goalText(g)}: ${g.met ? 'met' : 'not met'}`).join('; ');
        lines.push([
          row.id,
          row.primary === 'perSocketKB' ? 'RSS per idle socket' : `${row.unit} (p99, CPU/op)`,
          figure(row.system),
          baseline,
          figure(baseline),
          ratio(summary.ratios[baseline]),
          goal || '–',
        ]);
      }
    }
  }
  return markdownTable(lines);
}

function markdown(results: CaseResult[], meta: Record<string, unknown>): string {
  const out = [
    '# Benchmark results',
    '',
    `${meta.date} · ${meta.cpus} × ${meta.cpuModel} · Node ${meta.node} · load average ${meta.loadAverage} at the end · ${meta.elapsedSeconds} s · ` +
      `${meta.runs} run(s) per target, medians (ratios: median of the per-run ratios)${meta.smoke ? ' · smoke mode (tiny sizes, numbers not meaningful)' : ''}`,
    '',
    summaryTable(results),
    '',
  ];
  for (const result of results) {
    out.push(`## ${result.name}`, '');
    if (result.error) out.push(`Failed: \`${result.error.split('\n')[0]}\``, '');
    else if (!result.available) out.push(`Not available: ${result.note ?? ''}`, '');
    for (const row of result.rows) {
      const summary = summarize(row);
      out.push(`${row.title}.`, '', markdownTable(rowTable(row, summary)), '');
      for (const line of goalLines(summary)) out.push(`- ${line}`);
      out.push('');
    }
  }
  return out.join('\n');
}

/** Writes latest.json, latest.md and ratios.svg (plus a dated copy of the JSON); returns the paths. */
export function writeResults(results: CaseResult[], settings: Settings, elapsedMs: number): string[] {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    runs: settings.runs,
    smoke: settings.smoke,
    elapsedSeconds: Math.round(elapsedMs / 1000),
    /** The machine's 1-minute load average when the run ended: above the core count, other work competed. */
    loadAverage: Number(os.loadavg()[0]!.toFixed(1)),
  };
  const json = {
    meta,
    cases: results.map((result) => ({
      ...result,
      rows: result.rows.map((row) => ({ ...row, summary: summarize(row) })),
    })),
  };
  const suffix = settings.smoke ? '-smoke' : '';
  const files = [
    path.join(RESULTS_DIR, `latest${suffix}.json`),
    path.join(RESULTS_DIR, `latest${suffix}.md`),
    path.join(RESULTS_DIR, `ratios${suffix}.svg`),
    path.join(RESULTS_DIR, `${meta.date.replace(/[:.]/g, '-')}${suffix}.json`),
  ];
  const text = JSON.stringify(json, (_key, value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2);
  fs.writeFileSync(files[0]!, text);
  fs.writeFileSync(files[1]!, markdown(results, meta));
  fs.writeFileSync(files[2]!, ratiosChart(results));
  fs.writeFileSync(files[3]!, text);
  return files.map((file) => path.relative(process.cwd(), file));
}
