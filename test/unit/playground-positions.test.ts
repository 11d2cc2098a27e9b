/**
 * The playground's DCRF console bookkeeping for the change feed: positions shown on events and
 * anchored replies, the last position a subscription saw, and "resume from here" after a reconnect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialState,
  recordDisconnect,
  recordIncoming,
  recordOutgoing,
  resumeFrame,
  type ConsoleState,
} from '../../playground/src/dcrf/frames.js';

const actions = () => ['subscribe_many', 'unsubscribe_many', 'list'];

function sent(state: ConsoleState, payload: Record<string, unknown>): ConsoleState {
  return recordOutgoing(state, 'things', payload)[0];
}

function received(state: ConsoleState, frame: Record<string, unknown>): ConsoleState {
  return recordIncoming(state, 'things', frame, actions);
}

const envelope = (action: string, data: unknown, status: number, requestId: unknown) => ({
  errors: [],
  data,
  action,
  response_status: status,
  request_id: requestId,
});

test('a subscription made since a position keeps the newest position it saw; its events show theirs', () => {
  let state = sent(initialState(), { action: 'subscribe_many', request_id: 7, since: 'latest' });
  state = received(state, envelope('subscribe_many', { position: 'e.1' }, 201, 7));
  assert.equal(state.subscriptions[0]!.lastPosition, 'e.1');
  state = received(state, { ...envelope('create', { pk: 1 }, 200, 7), position: 'e.2' });
  const event = state.log.at(-1)!;
  assert.deepEqual([event.kind, event.position], ['event', 'e.2']);
  assert.equal(state.subscriptions[0]!.lastPosition, 'e.2');
});

test('an anchored read shows its position; a plain one none', () => {
  let state = sent(initialState(), { action: 'list', request_id: 1, with_position: true });
  state = received(state, { ...envelope('list', [], 200, 1), position: 'e.9' });
  assert.equal(state.log.at(-1)!.position, 'e.9');
  state = sent(state, { action: 'list', request_id: 2 });
  state = received(state, envelope('list', [], 200, 2));
  assert.equal(state.log.at(-1)!.position, undefined);
});

test('after a disconnect, a subscription with a position is resumable since it; resubscribing ends the offer', () => {
  let state = sent(initialState(), { action: 'subscribe_many', request_id: 7, since: 'latest' });
  state = received(state, envelope('subscribe_many', { position: 'e.1' }, 201, 7));
  state = received(state, { ...envelope('update', { pk: 1 }, 200, 7), position: 'e.4' });
  state = sent(state, { action: 'subscribe_many', request_id: 8 });
  state = received(state, envelope('subscribe_many', null, 201, 8));
  state = recordDisconnect(state);
  assert.deepEqual(state.subscriptions, []);
  assert.equal(state.resumable.length, 1, 'only the subscription with a position can resume');
  const frame = resumeFrame(state.resumable[0]!);
  assert.deepEqual(frame, { action: 'subscribe_many', request_id: 7, since: 'e.4' });

  state = sent(state, frame!);
  state = received(state, envelope('subscribe_many', { position: 'e.6' }, 201, 7));
  assert.deepEqual(state.resumable, []);
  assert.equal(state.subscriptions[0]!.lastPosition, 'e.6');
});
