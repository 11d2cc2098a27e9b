/**
 * Keeps asynchronous steps in the order they were queued. Events that need an async check (a
 * permission, a re-read) queue behind each other, so a subscriber sees a row's events in commit order
 * however long each check takes; a step that fails is reported and the queue goes on.
 */
export class InOrder {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `step` once every step queued before it has settled; a throw or rejection goes to `onError`. */
  run(step: () => unknown, onError: (error: unknown) => void): void {
    this.#tail = this.#tail.then(step).catch(onError);
  }
}
