/**
 * The shape of benchmark results: per case, rows (one measured situation each, e.g. fan-out to 1,000
 * sockets); per row, the runs of each target (the system and its baselines); goals on the medians.
 */
import { median } from './histogram.js';

/** One target measured once. */
export interface TargetRun {
  /** Operations (or deliveries) per second. */
  throughput: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Server CPU (user + system) per operation, in microseconds. */
  cpuUsPerOp: number;
  /** Server resident memory at the end of the run. */
  rssMB: number;
  /** Idle case: server RSS growth per open socket, in KiB. */
  perSocketKB?: number;
  errors: number;
}

export type Metric = keyof TargetRun;

export interface Goal {
  /**
   * `ratio` compares the row's primary metric to `baseline`; any other metric is read on the system, or,
   * with a `baseline`, as the system's median divided by the baseline's (a p99 ≤ 1.1× the raw server's).
   */
  metric: 'ratio' | Metric;
  baseline?: string;
  op: '>=' | '<=';
  value: number;
}

export interface Row {
  id: string;
  title: string;
  /** The metric ratios are taken on, and its unit. */
  primary: Metric;
  unit: string;
  system: string;
  baselines: string[];
  /** target name → one entry per run. */
  runs: Record<string, TargetRun[]>;
  goals: Goal[];
}

export interface CaseResult {
  name: string;
  available: boolean;
  /** Why a case is not available, or what to know about it. */
  note?: string;
  error?: string;
  rows: Row[];
}

export interface GoalVerdict extends Goal {
  measured: number;
  met: boolean;
}

/** Medians of a row: per target per metric, and per baseline the median of the per-run ratios. */
export interface RowSummary {
  medians: Record<string, Partial<Record<Metric, number>>>;
  /** baseline → median over runs of (system / baseline) on the primary metric. */
  ratios: Record<string, number>;
  goals: GoalVerdict[];
  runs: number;
}

const METRICS: Metric[] = ['throughput', 'p50Ms', 'p90Ms', 'p99Ms', 'cpuUsPerOp', 'rssMB', 'perSocketKB', 'errors'];

export function summarize(row: Row): RowSummary {
  const medians: RowSummary['medians'] = {};
  for (const [target, runs] of Object.entries(row.runs)) {
    medians[target] = {};
    for (const metric of METRICS) {
      const values = runs.map((run) => run[metric]).filter((v): v is number => typeof v === 'number');
      if (values.length) medians[target]![metric] = median(values);
    }
  }
  const ratios: Record<string, number> = {};
  const systemRuns = row.runs[row.system] ?? [];
  for (const baseline of row.baselines) {
    const baselineRuns = row.runs[baseline] ?? [];
    const perRun: number[] = [];
    for (let i = 0; i < Math.min(systemRuns.length, baselineRuns.length); i++) {
      const a = systemRuns[i]![row.primary];
      const b = baselineRuns[i]![row.primary];
      if (typeof a === 'number' && typeof b === 'number' && b > 0) perRun.push(a / b);
    }
    ratios[baseline] = median(perRun);
  }
  const goals = row.goals.map((goal): GoalVerdict => {
    const measured =
      goal.metric === 'ratio'
        ? (ratios[goal.baseline!] ?? Number.NaN)
        : goal.baseline !== undefined
          ? (medians[row.system]?.[goal.metric] ?? Number.NaN) / (medians[goal.baseline]?.[goal.metric] ?? Number.NaN)
          : (medians[row.system]?.[goal.metric] ?? Number.NaN);
    const met = Number.isFinite(measured) && (goal.op === '>=' ? measured >= goal.value : measured <= goal.value);
    return { ...goal, measured, met };
  });
  return { medians, ratios, goals, runs: systemRuns.length };
}
