/**
 * Consumers and helpers for the unit tests of src/dcrf, driven through `DcrfCommunicator`: no server,
 * no database. A test hands its consumers what they wait on and where they record through the
 * connection scope's `extra` (`TestHooks`), so nothing is shared between tests.
 */
import { action, AsyncAPIConsumer, groupHandler, NotFound, ValidationError, type ActionArgs, type ActionContext } from '../../src/index.js';
import type { ActionResult } from '../../src/dcrf/protocol.js';

/** The reply envelope, keys in DCRF's order. */
export function reply(action: unknown, data: unknown, status: number, requestId: unknown, errors: unknown[] = []) {
  return { errors, data, action, response_status: status, request_id: requestId };
}

/** A promise a test opens when it wants: what a running action waits on. */
export class Gate {
  readonly opened: Promise<void>;
  open!: () => void;
  constructor() {
    this.opened = new Promise((resolve) => (this.open = resolve));
  }
}

/** What a test gives its consumers (as `scope.extra`): a gate to wait on, and a log of what happened. */
export interface TestHooks {
  gate: Gate;
  log: string[];
}

/** Fresh hooks, as `{ scope: { extra } }` for `DcrfCommunicator.connect`. */
export function testHooks(): TestHooks & { scope: { extra: Record<string, unknown> } } {
  const hooks = { gate: new Gate(), log: [] as string[] };
  return { ...hooks, scope: { extra: hooks as unknown as Record<string, unknown> } };
}

/** A consumer with an action for each thing the session must get right. */
export class SessionConsumer extends AsyncAPIConsumer {
  get hooks(): TestHooks {
    return this.scope.extra as unknown as TestHooks;
  }

  override async onConnect(): Promise<void> {
    this.hooks.log.push(`connect ${this.scope.stream}`);
  }

  override async onDisconnect(): Promise<void> {
    this.hooks.log.push(`disconnect ${this.scope.stream}`);
  }

  @action()
  echo(args: ActionArgs): ActionResult {
    this.hooks.log.push(`echo ${JSON.stringify(args.data ?? null)}`);
    return [args.data ?? null, 200];
  }

  /** Replies once the test opens the gate. */
  @action()
  async held(): Promise<ActionResult> {
    this.hooks.log.push('held start');
    await this.hooks.gate.opened;
    this.hooks.log.push('held end');
    return ['held', 200];
  }

  /** Runs beside later frames; replies once the gate opens, saying whether it was cancelled. */
  @action({ detached: true })
  async background(_args: ActionArgs, { signal }: ActionContext): Promise<ActionResult> {
    await Promise.race([this.hooks.gate.opened, new Promise((resolve) => signal.addEventListener('abort', resolve))]);
    this.hooks.log.push(signal.aborted ? 'background aborted' : 'background done');
    return ['done', 200];
  }

  /** Sends `count` events of `size` characters, then waits for the gate when `hold` is set, then replies. */
  @action()
  async emit(args: ActionArgs): Promise<ActionResult> {
    const data = 'e'.repeat(Number(args.size ?? 1));
    for (let i = 0; i < Number(args.count ?? 1); i++) this.sendJson({ action: 'event', data: args.size ? data : i });
    if (args.hold) await this.hooks.gate.opened;
    return [null, 200];
  }

  @action()
  whoami(): ActionResult {
    return [this.scope.user, 200];
  }

  @action()
  silent(): ActionResult {
    return undefined;
  }

  @action()
  fail(): ActionResult {
    throw new Error('boom');
  }

  @action()
  missing(): ActionResult {
    throw new NotFound();
  }

  @action()
  invalid(): ActionResult {
    throw new ValidationError({ name: ['This field is required.'] });
  }

  /** Keeps `args.pk` as a key (the socket's `maxKeyBytes` applies). */
  @action()
  keep(args: ActionArgs): ActionResult {
    this.clientKey('pk', args.pk);
    return [null, 200];
  }

  /** A subscription that keeps `args.bytes` client-chosen bytes; logged when it ends. */
  @action()
  async subscribe(args: ActionArgs): Promise<ActionResult> {
    const name = String(args.name);
    const end = await this.track(async () => () => this.hooks.log.push(`unsubscribed ${name}`), { bytes: Number(args.bytes ?? 0) });
    this.subscriptions.set(name, end);
    return [null, 201];
  }

  @action()
  unsubscribe(args: ActionArgs): ActionResult {
    this.subscriptions.get(String(args.name))?.();
    return [null, 204];
  }

  @action()
  async join(args: ActionArgs): Promise<ActionResult> {
    await this.groupAdd(String(args.group));
    return [null, 201];
  }

  @action()
  async leave(args: ActionArgs): Promise<ActionResult> {
    await this.groupDiscard(String(args.group));
    return [null, 204];
  }

  @action()
  async tell(args: ActionArgs): Promise<ActionResult> {
    await this.groupSend(String(args.group), { type: String(args.type), text: args.text });
    return [null, 204];
  }

  /** Replies, then closes the socket 4000 (an event sent now would be dropped: it would wait for the reply). */
  @action()
  goodbye(args: ActionArgs): ActionResult {
    this.reply({ action: 'goodbye', data: 'bye', requestId: args.request_id });
    this.close(4000, 'Goodbye');
    return undefined;
  }

  @groupHandler()
  chat_message(message: { text?: unknown }): void {
    this.sendJson({ action: 'chat.message', data: message.text ?? null });
  }

  private readonly subscriptions = new Map<string, () => void>();
}

/** Lets every callback queued so far run (setImmediate callbacks included). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
