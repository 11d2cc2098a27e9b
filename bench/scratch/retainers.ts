import fs from 'node:fs';
const [file, target, depthArg] = process.argv.slice(2);
const snap = JSON.parse(fs.readFileSync(file!, 'utf8'));
const m = snap.snapshot.meta;
const nf = m.node_fields.length, ef = m.edge_fields.length;
const nodes: number[] = snap.nodes, edges: number[] = snap.edges, strings: string[] = snap.strings;
const iName = m.node_fields.indexOf('name'), iEC = m.node_fields.indexOf('edge_count'), iType = m.node_fields.indexOf('type');
const eType = m.edge_fields.indexOf('type'), eName = m.edge_fields.indexOf('name_or_index'), eTo = m.edge_fields.indexOf('to_node');
const edgeTypes: string[] = m.edge_types[0];
const nodeTypes: string[] = m.node_types[0];
const count = nodes.length / nf;
const rev: Array<Array<[number, string]>> = Array.from({ length: count }, () => []);
let e = 0;
for (let n = 0; n < count; n++) {
  const ec = nodes[n * nf + iEC]!;
  for (let k = 0; k < ec; k++, e += ef) {
    const to = edges[e + eTo]! / nf;
    const t = edgeTypes[edges[e + eType]!]!;
    if (t === 'weak') continue;
    const name = t === 'element' || t === 'hidden' ? `[${edges[e + eName]}]` : strings[edges[e + eName]!]!;
    rev[to]!.push([n, `${t}:${name}`]);
  }
}
const label = (n: number) => `${nodeTypes[nodes[n * nf + iType]!]}:${strings[nodes[n * nf + iName]!]}`;
const targets = [];
for (let n = 0; n < count; n++) if (strings[nodes[n * nf + iName]!] === target && nodeTypes[nodes[n * nf + iType]!] === 'object') targets.push(n);
console.log(target, targets.length);
const pick = targets[Math.floor(targets.length / 2)]!;
const depth = Number(depthArg ?? 6);
function walk(n: number, d: number, indent: string, seen: Set<number>) {
  if (d > depth) return;
  for (const [from, edge] of rev[n]!.slice(0, 6)) {
    if (seen.has(from)) continue;
    console.log(`${indent}<- ${edge} of ${label(from)}`);
    walk(from, d + 1, indent + '  ', new Set([...seen, from]));
  }
}
walk(pick, 0, '', new Set([pick]));
