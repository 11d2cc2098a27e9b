/**
 * Observers (docs/dcrf-protocol.md), one module per kind: instance subscriptions
 * (instance-observer.ts), model observers with groups (model-observer.ts) and custom signals
 * (signals.ts), over what they share (group-observer.ts, observer-shared.ts).
 */
export { consumerEventGate, frameKey } from './observer-shared.js';
export { ObserverModelInstanceMixin, type InstanceSubscription } from './instance-observer.js';
export type { ObservedEvent, ObserverOptions } from './group-observer.js';
export { ModelObserver, modelObserver, type ModelObserverOptions } from './model-observer.js';
export { Signal, SignalObserver, observer, type SignalObserverOptions } from './signals.js';
