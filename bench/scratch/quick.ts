import { retrieveCase } from '../cases/retrieve.js';
import { summarize } from '../lib/results.js';
const r = await retrieveCase({ smoke: false, runs: 1, warmupMs: 1000, measureMs: 3000, systemNodeArgs: [] });
console.log(JSON.stringify(summarize(r.rows[0]!), null, 1));
