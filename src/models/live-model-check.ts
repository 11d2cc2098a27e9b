/**
 * Whether a model can feed subscriptions: only a `LiveModel`'s writes become change events. A plain
 * Objection `Model` accepts a subscription and never sends anything, so whatever subscribes to one
 * (a consumer, a model observer, a GraphQL field) refuses it where it is defined or started instead.
 */
import type { Model, ModelClass } from 'objection';
import { LiveModel } from './live-model.js';

/** Whether `model` is a `LiveModel` (its writes are change events). */
export function isLiveModel(model: ModelClass<Model> | Function): boolean {
  return typeof model === 'function' && model.prototype instanceof LiveModel;
}

/** What to tell the developer when `subscriber` subscribes to `model`, a plain Model; undefined for a LiveModel. */
export function notLiveProblem(model: ModelClass<Model> | Function, subscriber: string): string | undefined {
  if (isLiveModel(model)) return undefined;
  const name = model.name || 'the model';
  return (
    `${subscriber} subscribes to ${name}, a plain Objection Model whose writes send no event: ` +
    `make ${name} extend LiveModel (import { LiveModel } from 'dcrf-gateway') instead of Model.`
  );
}

/** Throws (one line, naming `subscriber` and the fix) unless `model` is a LiveModel. */
export function assertLiveModel(model: ModelClass<Model> | Function, subscriber: string): void {
  const problem = notLiveProblem(model, subscriber);
  if (problem) throw new TypeError(problem);
}
