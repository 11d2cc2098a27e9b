/**
 * An SVG bar chart of the ratios: one bar per row and baseline (system ÷ baseline, medians), with the
 * goal marked where there is one. Plain SVG text, no dependency.
 */
import { summarize, type CaseResult } from './results.js';

interface Bar {
  label: string;
  value: number;
  goal?: { op: string; value: number };
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function ratiosChart(results: CaseResult[]): string {
  const bars: Bar[] = [];
  for (const result of results) {
    for (const row of result.rows) {
      const summary = summarize(row);
      for (const baseline of row.baselines) {
        const goal = summary.goals.find((g) => g.metric === 'ratio' && g.baseline === baseline);
        const lowerIsBetter = row.primary === 'perSocketKB';
        bars.push({
          label: `${row.id} vs ${baseline}${lowerIsBetter ? ' (lower is better)' : ''}`,
          value: summary.ratios[baseline] ?? Number.NaN,
          goal: goal && { op: goal.op, value: goal.value },
        });
      }
    }
  }
  const labelWidth = 330;
  const plotWidth = 420;
  const barHeight = 22;
  const top = 40;
  const height = top + bars.length * (barHeight + 8) + 40;
  const maxValue =
    Math.max(1.5, ...bars.map((bar) => (Number.isFinite(bar.value) ? bar.value : 0)), ...bars.map((bar) => bar.goal?.value ?? 0)) * 1.1;
  const x = (value: number) => labelWidth + (value / maxValue) * plotWidth;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 90}" height="${height}" font-family="sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="10" y="22" font-size="15" font-weight="bold">dcrf-gateway ÷ baseline (medians; goal marked in red)</text>`,
    `<line x1="${x(1)}" y1="${top - 6}" x2="${x(1)}" y2="${height - 30}" stroke="#888" stroke-dasharray="4 3"/>`,
    `<text x="${x(1)}" y="${height - 14}" text-anchor="middle" fill="#555">1×</text>`,
  ];
  bars.forEach((bar, i) => {
    const y = top + i * (barHeight + 8);
    const finite = Number.isFinite(bar.value);
    const met = bar.goal ? (bar.goal.op === '>=' ? bar.value >= bar.goal.value : bar.value <= bar.goal.value) : undefined;
    const fill = met === undefined ? '#6b8fc7' : met ? '#3a9d5d' : '#d9822b';
    parts.push(`<text x="${labelWidth - 8}" y="${y + barHeight / 2 + 4}" text-anchor="end">${escapeXml(bar.label)}</text>`);
    if (finite) {
      parts.push(
        `<rect x="${labelWidth}" y="${y}" width="${Math.max(1, x(bar.value) - labelWidth).toFixed(1)}" height="${barHeight}" fill="${fill}"/>`,
      );
      const textX = Math.max(x(bar.value), bar.goal ? x(bar.goal.value) : 0) + 6;
      parts.push(`<text x="${textX.toFixed(1)}" y="${y + barHeight / 2 + 4}">${bar.value.toFixed(2)}×</text>`);
    } else parts.push(`<text x="${labelWidth + 6}" y="${y + barHeight / 2 + 4}" fill="#999">n/a</text>`);
    if (bar.goal) {
      const gx = x(bar.goal.value).toFixed(1);
      parts.push(`<line x1="${gx}" y1="${y - 3}" x2="${gx}" y2="${y + barHeight + 3}" stroke="#c00" stroke-width="2"/>`);
    }
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
