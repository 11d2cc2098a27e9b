/**
 * EventDelivery and LiveStream's push mode, without sockets: what is sent, in which order, when a
 * subscription ends and how (done, SLOW_CONSUMER, a failing source).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSchema, parse, type ExecutionArgs } from 'graphql';
import { openShareGroups } from '../../src/graphql/event-delivery.js';
import { EventDelivery, LiveStream, type DeliveryTarget } from '../../src/index.js';

const schema = buildSchema(`
  type Query { ok: Boolean }
  type Subscription { tick: Int! }
`);
const args: ExecutionArgs = { schema, document: parse('subscription { tick }'), contextValue: { scope: { user: null } } };

/** A target that records frames; flushes wait until `flush()` unless `autoFlush`. */
function recorder(autoFlush = true) {
  const frames: string[] = [];
  const unflushed: Array<() => void> = [];
  const target: DeliveryTarget = {
    frame: (payload) => `<${payload}>`,
    // A target without `drained` is always sent a callback.
    send: (frame, flushed) => {
      frames.push(frame);
      if (autoFlush) flushed!();
      else unflushed.push(flushed!);
    },
  };
  return {
    frames,
    target,
    flush: () => {
      for (const flushed of unflushed.splice(0)) flushed();
    },
  };
}

// The subscription field's resolver is the identity here: the root value is the event `{tick}`.
const tick = (n: number) => ({ tick: n });

test('a LiveStream hands queued values, then later ones, to an attached sink', () => {
  const stream = new LiveStream<number>(10);
  stream.push(1);
  stream.push(2);
  const seen: number[] = [];
  stream.attach({ next: (value) => seen.push(value), error: () => assert.fail('no error expected') });
  stream.push(3);
  assert.deepEqual(seen, [1, 2, 3]);
  void stream.return();
  stream.push(4);
  assert.deepEqual(seen, [1, 2, 3]);
});

test('a LiveStream that overflowed before it was attached reports SLOW_CONSUMER to the sink', () => {
  const stream = new LiveStream<number>(1);
  stream.push(1);
  stream.push(2);
  const errors: Array<{ code?: string }> = [];
  stream.attach({
    next: () => assert.fail('nothing is delivered after an overflow'),
    error: (error) => errors.push(error as { code?: string }),
  });
  assert.equal(errors[0]?.code, 'SLOW_CONSUMER');
});

test('events become frames in order; return() ends the delivery and the source', async () => {
  const source = new LiveStream<unknown>(10);
  const { frames, target } = recorder();
  const delivery = new EventDelivery(source, args, target, { maxPending: 10, share: true });
  source.push(tick(1));
  const running = delivery.next();
  source.push(tick(2));
  assert.deepEqual(frames, ['<{"data":{"tick":1}}>', '<{"data":{"tick":2}}>']);
  await delivery.return();
  assert.deepEqual(await running, { value: undefined, done: true });
  source.push(tick(3));
  assert.equal(frames.length, 2);
  assert.deepEqual(await source.next(), { value: undefined, done: true });
});

test('frames the socket has not flushed count against maxPending: beyond it, SLOW_CONSUMER', async () => {
  const source = new LiveStream<unknown>(10);
  const { frames, target, flush } = recorder(false);
  const delivery = new EventDelivery(source, args, target, { maxPending: 2, share: true });
  const running = delivery.next();
  source.push(tick(1));
  source.push(tick(2));
  flush();
  source.push(tick(3));
  source.push(tick(4));
  assert.equal(frames.length, 4);
  source.push(tick(5));
  await assert.rejects(running, (error: { code?: string }) => error.code === 'SLOW_CONSUMER');
  assert.equal(frames.length, 4);
});

test('a target that says when it is drained gets no callbacks: frames sent since it last was count against maxPending', async () => {
  const source = new LiveStream<unknown>(10);
  const frames: string[] = [];
  let buffered = true;
  const target: DeliveryTarget = {
    frame: (payload) => `<${payload}>`,
    send: (frame, flushed) => {
      assert.equal(flushed, undefined, 'no write callback');
      frames.push(frame);
    },
    drained: () => !buffered,
  };
  const delivery = new EventDelivery(source, args, target, { maxPending: 2, share: true });
  const running = delivery.next();
  source.push(tick(1));
  source.push(tick(2));
  // The socket's buffer emptied: the two frames left the process, two more fit.
  buffered = false;
  source.push(tick(3));
  buffered = true;
  source.push(tick(4));
  assert.equal(frames.length, 4);
  // Still buffered since the third: the fourth and the third are unflushed, the fifth is one too many.
  source.push(tick(5));
  await assert.rejects(running, (error: { code?: string }) => error.code === 'SLOW_CONSUMER');
  assert.equal(frames.length, 4);
});

test('one execution per event for deliveries of the same operation and user; another user executes again', async () => {
  let executions = 0;
  const counting = buildSchema(`type Query { ok: Boolean } type Subscription { tick: Int! }`);
  const field = counting.getSubscriptionType()!.getFields().tick!;
  field.resolve = (event: { tick: number }) => {
    executions++;
    return event.tick;
  };
  const argsFor = (user: { id: number } | null): ExecutionArgs => ({
    schema: counting,
    document: args.document,
    contextValue: { scope: { user } },
  });
  const sources = [new LiveStream<unknown>(10), new LiveStream<unknown>(10), new LiveStream<unknown>(10)];
  const records = sources.map(() => recorder());
  const users = [null, null, { id: 7 }];
  const deliveries = sources.map(
    (source, i) => new EventDelivery(source, argsFor(users[i]!), records[i]!.target, { maxPending: 10, share: true }),
  );
  for (const delivery of deliveries) void delivery.next();
  const event = tick(5);
  for (const source of sources) source.push(event);
  assert.equal(executions, 2);
  for (const record of records) assert.deepEqual(record.frames, ['<{"data":{"tick":5}}>']);
  for (const delivery of deliveries) await delivery.return();
});

test('a share group outlives none of its deliveries, and an event handed on late is executed once still', async () => {
  let executions = 0;
  const counting = buildSchema(`type Query { ok: Boolean } type Subscription { tick: Int! }`);
  counting.getSubscriptionType()!.getFields().tick!.resolve = (event: { tick: number }) => {
    executions++;
    return event.tick;
  };
  const document = parse('subscription { tick }');
  const shared: ExecutionArgs = { schema: counting, document, contextValue: { scope: { user: null } } };
  const sources = [new LiveStream<unknown>(10), new LiveStream<unknown>(10)];
  const records = sources.map(() => recorder());
  const deliveries = sources.map((source, i) => new EventDelivery(source, shared, records[i]!.target, { maxPending: 10, share: true }));
  const groups = openShareGroups();
  assert.equal(openShareGroups(), groups, 'a delivery joins its group when it starts');
  for (const delivery of deliveries) void delivery.next();
  assert.equal(openShareGroups(), groups + 1);
  const [first, second] = [tick(1), tick(2)];
  // The first subscriber hears both events before the second hears the first (as when its events waited for a check).
  sources[0]!.push(first);
  sources[0]!.push(second);
  sources[1]!.push(first);
  sources[1]!.push(second);
  assert.equal(executions, 2);
  for (const record of records) assert.deepEqual(record.frames, ['<{"data":{"tick":1}}>', '<{"data":{"tick":2}}>']);
  await deliveries[0]!.return();
  assert.equal(openShareGroups(), groups + 1, 'the other delivery still uses the group');
  await deliveries[1]!.return();
  assert.equal(openShareGroups(), groups, 'the last delivery to end forgets the group');
});

test('a source that throws ends the delivery with its error; a plain async iterable is read too', async () => {
  async function* failing() {
    yield tick(1);
    throw new Error('source broke');
  }
  const { frames, target } = recorder();
  const delivery = new EventDelivery(failing(), args, target, { maxPending: 10, share: false });
  await assert.rejects(delivery.next(), /source broke/);
  assert.deepEqual(frames, ['<{"data":{"tick":1}}>']);

  async function* finite() {
    yield tick(1);
    yield tick(2);
  }
  const ended = recorder();
  const finished = new EventDelivery(finite(), args, ended.target, { maxPending: 10, share: false });
  assert.deepEqual(await finished.next(), { value: undefined, done: true });
  assert.equal(ended.frames.length, 2);
});

test('an event whose result cannot be encoded ends that subscription with the error', async () => {
  const withRaw = buildSchema(`scalar Raw type Query { ok: Boolean } type Subscription { raw: Raw }`);
  const source = new LiveStream<unknown>(10);
  const { frames, target } = recorder();
  const delivery = new EventDelivery(
    source,
    { schema: withRaw, document: parse('subscription { raw }'), contextValue: { scope: { user: null } } },
    target,
    { maxPending: 10, share: true },
  );
  const running = delivery.next();
  source.push({ raw: 1 });
  // JSON has no BigInt: the custom scalar passes it through and the encoding throws.
  source.push({ raw: 10n });
  await assert.rejects(running, /BigInt/);
  assert.deepEqual(frames, ['<{"data":{"raw":1}}>']);
  source.push({ raw: 2 });
  assert.equal(frames.length, 1);
});

test('a source that ends or fails waits for the results of its events still being executed', async () => {
  // An async resolver: the field's value arrives 20 ms after the event.
  const later = (n: number) => ({ tick: new Promise((resolve) => setTimeout(() => resolve(n), 20)) });
  async function* finite() {
    yield later(1);
    yield later(2);
  }
  const ended = recorder();
  const finished = new EventDelivery(finite(), args, ended.target, { maxPending: 10, share: false });
  assert.deepEqual(await finished.next(), { value: undefined, done: true });
  assert.deepEqual(ended.frames, ['<{"data":{"tick":1}}>', '<{"data":{"tick":2}}>']);

  async function* failing() {
    yield later(3);
    throw new Error('source broke');
  }
  const failed = recorder();
  const delivery = new EventDelivery(failing(), args, failed.target, { maxPending: 10, share: false });
  await assert.rejects(delivery.next(), /source broke/);
  assert.deepEqual(failed.frames, ['<{"data":{"tick":3}}>']);
});
