import fs from 'node:fs';
const [file, target] = process.argv.slice(2);
const snap = JSON.parse(fs.readFileSync(file!, 'utf8'));
const m = snap.snapshot.meta;
const nf = m.node_fields.length, ef = m.edge_fields.length;
const nodes: number[] = snap.nodes, edges: number[] = snap.edges, strings: string[] = snap.strings;
const iName = m.node_fields.indexOf('name'), iEC = m.node_fields.indexOf('edge_count'), iType = m.node_fields.indexOf('type'), iSize = m.node_fields.indexOf('self_size');
const eType = m.edge_fields.indexOf('type'), eName = m.edge_fields.indexOf('name_or_index'), eTo = m.edge_fields.indexOf('to_node');
const edgeTypes: string[] = m.edge_types[0];
const nodeTypes: string[] = m.node_types[0];
const count = nodes.length / nf;
const label = (n: number) => `${nodeTypes[nodes[n * nf + iType]!]}:${strings[nodes[n * nf + iName]!]}`;
const agg = new Map<string, [number, number]>();
let e = 0;
const [tt, tn] = target!.split(':');
for (let n = 0; n < count; n++) {
  const ec = nodes[n * nf + iEC]!;
  for (let k = 0; k < ec; k++, e += ef) {
    const to = edges[e + eTo]! / nf;
    const t = edgeTypes[edges[e + eType]!]!;
    if (t === 'weak') continue;
    if (nodeTypes[nodes[to * nf + iType]!] !== tt) continue;
    if (tn && strings[nodes[to * nf + iName]!] !== tn) continue;
    const name = t === 'element' || t === 'hidden' || t === 'internal' ? `${t}` : strings[edges[e + eName]!]!;
    const key = `${label(n)} .${name}`;
    const a = agg.get(key) ?? [0, 0];
    a[0]++; a[1] += nodes[to * nf + iSize]!;
    agg.set(key, a);
  }
}
for (const [k, [c, s]] of [...agg].sort((a, b) => b[1][1] - a[1][1]).slice(0, 25)) console.log(String(c).padStart(7), String(s).padStart(9), k);
