/**
 * Custom signals (DCRF `@observer(signal)`): `send(payload)` reaches the subscribers of the groups its
 * observers sort the payload into, at once (not on commit).
 */
import { getChangeHub } from '../events/current.js';
import type { AsyncAPIConsumer } from './consumer.js';
import { BaseObserver, type ObserverEvent, type ObserverOptions } from './group-observer.js';

/** A custom signal: `send(payload)` reaches its observers' subscribers at once (not on commit). */
export class Signal<Payload = Record<string, unknown>> {
  readonly #observers = new Set<SignalObserver<any, Payload>>();

  constructor(readonly name: string) {}

  /** @internal */
  attach(observer: SignalObserver<any, Payload>): void {
    this.#observers.add(observer);
  }

  /** Sends the payload to every group its observers sort it into. */
  send(payload: Payload): void {
    const hub = getChangeHub();
    for (const observer of this.#observers) {
      for (const group of observer.groupsFor(payload)) hub.publish(observer.topicFor(group), { payload });
    }
  }
}

export interface SignalObserverOptions<C extends AsyncAPIConsumer, Payload> extends ObserverOptions<C, Payload> {
  /** Turns the payload into the body. Default: the payload itself. */
  serializer?: (payload: Payload) => unknown;
}

/** Observes a custom signal (DCRF `@observer(signal)`). */
export class SignalObserver<C extends AsyncAPIConsumer, Payload> extends BaseObserver<C, Payload> {
  readonly #serialize: (payload: Payload) => unknown;

  constructor(
    readonly signal: Signal<Payload>,
    options: SignalObserverOptions<C, Payload>,
  ) {
    super(options);
    this.#serialize = options.serializer ?? ((payload) => payload);
    signal.attach(this);
  }

  /** @internal */
  groupsFor(payload: Payload): string[] {
    return this.groupsOf(payload);
  }

  /** @internal */
  topicFor(group: string): string {
    return this.topic(group);
  }

  protected topic(group: string): string {
    return getChangeHub().signalTopic(`${this.signal.name}/${this.name}`, group);
  }

  protected openTopic(_consumer: C, topic: string, onMessage: (message: { payload: Payload }) => void): Promise<() => void> {
    return getChangeHub().subscribe(topic, onMessage);
  }

  protected eventOf(message: { payload: Payload }, _group: string, _consumer: C): ObserverEvent {
    return { body: () => this.#serialize(message.payload), action: this.name, bodyKey: this };
  }
}

/** `observer(signal, options)`: DCRF's `@observer(signal)` with its groups API. */
export function observer<C extends AsyncAPIConsumer, Payload>(signal: Signal<Payload>, options: SignalObserverOptions<C, Payload>): SignalObserver<C, Payload> {
  return new SignalObserver<C, Payload>(signal, options);
}
