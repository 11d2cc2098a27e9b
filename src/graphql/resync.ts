/**
 * The GraphQL answer to a truncate (docs/positions.md, "A table emptied"): a subscription over the
 * model's rows ends with one error, `extensions: {code: "RESYNC", status: 205, position: <the
 * truncate's position>}` (graphql-transport-ws: an `error` message for its id; legacy graphql-ws: its
 * `error` frame), as POSITION_EXPIRED ends one. The client reads again (with `changePosition`) and
 * subscribes `after` that position.
 */
import { GraphQLError } from 'graphql';
import type { ChangeMessage } from '../events/hub.js';
import { resyncReason } from '../events/records.js';
import type { ResourceEvent, ResourceEventSink } from '../resources/resource.js';
import type { LiveStream } from './live-stream.js';

/** The extension code of a subscription ended because its model's table was emptied. */
export const RESYNC = 'RESYNC';

/** The error that ends a subscription at a truncate (its position in `extensions.position`). */
export function resyncError(message: ChangeMessage): GraphQLError {
  return new GraphQLError(resyncReason(message.model), {
    extensions: { code: RESYNC, status: 205, position: message.position ?? null },
  });
}

/**
 * A subscription field's handler of resource events: each event becomes a value (`toValue`; undefined:
 * nothing to send) that is pushed, and a `resync` ends the subscription with the RESYNC error.
 */
export function eventSink<Out>(
  toValue: (event: ResourceEvent) => Out | undefined,
  push: (value: Out) => void,
  fail: (error: unknown) => void,
): (event: ResourceEvent) => void {
  const sink = new StreamEventSink(toValue, { push, fail });
  return (event) => sink.onResourceEvent(event);
}

/**
 * What `eventSink` does, as an object pushing into a LiveStream: what a resource subscription hands each
 * event to is then this one object and the stream, where `eventSink` and `push` are two closures (four
 * objects read per subscriber per event).
 */
export class StreamEventSink<Out> implements ResourceEventSink {
  constructor(
    private readonly toValue: (event: ResourceEvent) => Out | undefined,
    /** A LiveStream, or (for `eventSink`) its two functions. */
    private readonly stream: Pick<LiveStream<Out>, 'push' | 'fail'>,
  ) {}

  onResourceEvent(event: ResourceEvent): void {
    if (event.action === 'resync') {
      this.stream.fail(resyncError(event.message));
      return;
    }
    const value = this.toValue(event);
    if (value !== undefined) this.stream.push(value);
  }
}
