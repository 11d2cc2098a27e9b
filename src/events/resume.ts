/**
 * Resuming a subscription `since` a position: the gate where its replay from the change log meets the
 * live changes, and the start of that replay (the head taken once the subscription is live).
 */
import { logger } from '../logger.js';
import type { LogFilter, Position } from './change-log.js';
import type { ChangeFeed } from './feed.js';
import type { ChangeMessage } from './records.js';

/** A subscription's closer; made with `since`, it carries the head when the subscription went live. */
export type PositionedUnsubscribe = (() => void) & { position?: Position };

/**
 * Where a subscription made `since` a position meets the live changes: live messages are held while
 * the replay runs; once it has, those newer than the head it replayed to are handed on (the others
 * were part of the replay), then every live message newer than that head.
 */
export class ReplayGate {
  private held: ChangeMessage[] | undefined = [];
  private from = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(private readonly deliver: (message: ChangeMessage) => void) {}

  /** The replay's handler (nothing once the subscription closed). */
  readonly replayed = (message: ChangeMessage): void => {
    if (!this.closed) this.deliver(message);
  };

  /** The subscription closed: a replay still running delivers nothing more. */
  close(): void {
    this.closed = true;
  }

  /** The live handler. */
  readonly onMessage = (message: ChangeMessage): void => {
    if (this.held) {
      this.held.push(message);
      return;
    }
    if (!this.closed && (message.seq ?? Number.POSITIVE_INFINITY) > this.from) this.deliver(message);
  };

  /** The replay reached `head`: goes live. */
  open(head: number): void {
    this.from = head;
    const held = this.held ?? [];
    this.held = undefined;
    for (const message of held) this.onMessage(message);
  }
}

/** Takes the head, schedules the replay up to it, and opens the gate once it is done; the closer carries the head. */
export async function startReplay(
  feed: ChangeFeed,
  gate: ReplayGate,
  unsubscribe: () => void,
  /** The sequence number to replay from; undefined: `"latest"`. */
  after: number | undefined,
  filter: LogFilter,
  replay: (message: ChangeMessage) => void,
): Promise<PositionedUnsubscribe> {
  let head: number;
  try {
    head = await feed.log.headSeq();
  } catch (error) {
    unsubscribe();
    throw error;
  }
  const closer: PositionedUnsubscribe = () => {
    gate.close();
    unsubscribe();
  };
  closer.position = feed.log.position(head);
  if (after === undefined || after >= head) gate.open(head);
  else
    feed.replay(after, head, filter, replay).then(
      () => gate.open(head),
      (error: unknown) => {
        // The subscriber would miss these changes: said loudly; it goes on live from the head.
        logger.error('replay from the change log failed', { error: String((error as Error)?.stack ?? error) });
        gate.open(head);
      },
    );
  return closer;
}

/**
 * The log's spelling of a truncate's pk (JSON null): no row has a null primary key, so a row's replay
 * that also reads this key gets the truncates of its model, which concern every row.
 */
const TRUNCATE_PK = 'null';

/**
 * What to replay for a topic (`modelTopic` is the model's): the model's changes, or one row's (its key
 * as the log spells it) and its model's truncates.
 */
export function replayFilter(modelTopic: string, topic: string, model: string): LogFilter {
  const rowPrefix = `${modelTopic}#`;
  if (!topic.startsWith(rowPrefix)) return { models: [model] };
  const pk = topic.slice(rowPrefix.length);
  return { models: [model], pk: [pk, JSON.stringify(pk), TRUNCATE_PK] };
}
