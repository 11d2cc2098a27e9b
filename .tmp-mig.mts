import { openDemoDatabase } from './src/demo/app.ts';
const t = Date.now();
const knex = await openDemoDatabase('postgres://postgres@127.0.0.1/dcrf_manual_y');
console.log('migrated', Date.now() - t);
await knex.destroy();
