/**
 * Custom signals (DCRF `@observer(signal)`): `send(runtime, payload)` reaches the subscribers of the
 * groups its observers sort the payload into, at once (not on commit), in that runtime's app. A signal
 * and its observers are runtime-independent definitions; each send names the app it is sent in.
 */
import type { ChangeHub } from '../events/hub.js';
import type { Runtime } from '../runtime.js';
import type { AsyncAPIConsumer } from './consumer.js';
import { BaseObserver, type ObserverEvent, type ObserverOptions } from './group-observer.js';

/** A custom signal: `send(runtime, payload)` reaches its observers' subscribers at once (not on commit). */
export class Signal<Payload = Record<string, unknown>> {
  readonly #observers = new Set<SignalObserver<any, Payload>>();

  constructor(readonly name: string) {}

  /** @internal */
  attach(observer: SignalObserver<any, Payload>): void {
    this.#observers.add(observer);
  }

  /**
   * Sends the payload to every group its observers sort it into, in `runtime`'s app (a consumer's is
   * `this.scope.runtime`, a resolver's `context.scope.runtime`).
   */
  send(runtime: Runtime, payload: Payload): void {
    const hub = runtime.hub;
    for (const observer of this.#observers) {
      for (const group of observer.groupsOf(payload)) hub.publish(observer.topicFor(hub, group), { payload });
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

  /** The topic of one of this observer's groups on a hub. */
  topicFor(hub: ChangeHub, group: string): string {
    return hub.signalTopic(`${this.signal.name}/${this.name}`, group);
  }

  protected openGroup(consumer: C, group: string, onMessage: (message: { payload: Payload }) => void): Promise<() => void> {
    const hub = consumer.scope.runtime.hub;
    return hub.subscribe(this.topicFor(hub, group), onMessage);
  }

  protected eventOf(message: { payload: Payload }, _group: string, _consumer: C): ObserverEvent {
    return { body: () => this.#serialize(message.payload), action: this.name, bodyKey: this };
  }
}

/** `observer(signal, options)`: DCRF's `@observer(signal)` with its groups API. */
export function observer<C extends AsyncAPIConsumer, Payload>(
  signal: Signal<Payload>,
  options: SignalObserverOptions<C, Payload>,
): SignalObserver<C, Payload> {
  return new SignalObserver<C, Payload>(signal, options);
}
