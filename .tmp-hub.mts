import { createRedisHub } from './src/events/redis.ts';
const t = Date.now();
const h = await createRedisHub('redis://127.0.0.1:6379', { prefix: 'dbg:' });
console.log('hub ready', Date.now() - t);
await h.close();
console.log('closed');
