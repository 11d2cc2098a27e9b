/**
 * The `action` decorator: marks a consumer method as a DCRF action. Works as a TC39 method decorator
 * (`@action()`) and as a plain call for JavaScript (`registerAction(MyConsumer, 'method')`).
 */
import type { ActionResult } from './protocol.js';

export interface ActionOptions {
  /** The wire name; default the method's name. */
  name?: string;
  /** Run concurrently with the socket's later frames and reply when done (DCRF `detached=True`). */
  detached?: boolean;
  /** The frame keys the action reads, for the playground and `/api/streams`. */
  args?: string[];
}

/** What an action receives besides its arguments. */
export interface ActionContext {
  /** The wire name of the action being run. */
  action: string;
  /** The frame's `request_id`, or null. */
  requestId: unknown;
  /** Aborted when the socket closes (and, for detached actions, when they are cancelled). */
  signal: AbortSignal;
}

/** The arguments of an action: every top-level key of the frame. */
export type ActionArgs = Record<string, any>;

export type ActionMethod = (args: ActionArgs, context: ActionContext) => ActionResult | Promise<ActionResult>;

/** An action as a consumer class declares it (exported so consumers' mixin types can be named in declarations). */
export interface ActionSpec {
  name: string;
  method: string;
  detached: boolean;
  args: string[];
}

const ACTION = Symbol.for('dcrf-gateway.action');

type Marked = Function & { [ACTION]?: { name?: string; detached: boolean; args: string[] } };

/** Marks a method as an action. `@action()`, `@action('wire_name')` or `@action({ detached: true })`. */
export function action(options: ActionOptions | string = {}) {
  const settings = typeof options === 'string' ? { name: options } : options;
  return <T extends Function>(method: T, context?: ClassMethodDecoratorContext): T => {
    refuseLegacyDecorator('action', method, context);
    (method as unknown as Marked)[ACTION] = { name: settings.name, detached: settings.detached ?? false, args: settings.args ?? [] };
    return method;
  };
}

/**
 * Throws when a decorator was called the way TypeScript's `experimentalDecorators` emit calls it,
 * `(prototype, key, descriptor)` instead of `(method, context)`: marked that way, the method would
 * silently be no action at all (clients would get 405), so the class fails where it is defined.
 */
function refuseLegacyDecorator(decorator: string, method: unknown, context: unknown): void {
  if (typeof method === 'function' && (context === undefined || (typeof context === 'object' && context !== null))) return;
  const owner = (typeof method === 'function' ? method : (method as object | null)?.constructor) as Function | undefined;
  const key = typeof context === 'symbol' ? context.toString() : String(context);
  throw new TypeError(
    `@${decorator}() on ${owner?.name || 'a class'}.${key} was compiled as a legacy decorator (experimentalDecorators): ` +
      'set "experimentalDecorators": false in tsconfig.json (standard decorators, TypeScript 5+), ' +
      `or call register${decorator[0]!.toUpperCase()}${decorator.slice(1)}(Class, '${key}') instead of the decorator.`,
  );
}

/** Marks `Class.prototype[method]` as an action without decorator syntax. */
export function registerAction(cls: Function, method: string, options: ActionOptions = {}): void {
  const fn = (cls.prototype as Record<string, unknown>)[method];
  if (typeof fn !== 'function') throw new Error(`${cls.name} has no method "${method}"`);
  action(options)(fn as Function);
  actionTables.delete(cls);
}

const actionTables = new WeakMap<Function, Map<string, ActionSpec>>();

/** The actions of a consumer class by wire name, from its whole prototype chain (subclasses win). */
export function actionsOf(cls: Function): Map<string, ActionSpec> {
  let table = actionTables.get(cls);
  if (table) return table;
  table = new Map();
  const chain: object[] = [];
  for (let proto = cls.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) chain.push(proto);
  for (const proto of chain.reverse()) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === 'constructor') continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      const fn = descriptor?.value as Marked | undefined;
      if (typeof fn !== 'function') continue;
      // An override without the decorator keeps the action its parent declared under that method.
      for (const [name, spec] of table) if (spec.method === key && !fn[ACTION]) table.set(name, { ...spec });
      const mark = fn[ACTION];
      if (!mark) continue;
      table.set(mark.name ?? key, { name: mark.name ?? key, method: key, detached: mark.detached, args: mark.args });
    }
  }
  actionTables.set(cls, table);
  return table;
}

const GROUP_HANDLER = Symbol.for('dcrf-gateway.groupHandler');

type MarkedHandler = Function & { [GROUP_HANDLER]?: true };

/**
 * Marks a method as a group handler: a `groupSend(group, {type})` whose `type` (dots as underscores)
 * names it calls it on each member. Messages naming any other method are dropped (logged at debug).
 */
export function groupHandler() {
  return <T extends Function>(method: T, context?: ClassMethodDecoratorContext): T => {
    refuseLegacyDecorator('groupHandler', method, context);
    (method as unknown as MarkedHandler)[GROUP_HANDLER] = true;
    return method;
  };
}

/** Marks `Class.prototype[method]` as a group handler without decorator syntax. */
export function registerGroupHandler(cls: Function, method: string): void {
  const fn = (cls.prototype as Record<string, unknown>)[method];
  if (typeof fn !== 'function') throw new Error(`${cls.name} has no method "${method}"`);
  groupHandler()(fn as Function);
  handlerTables.delete(cls);
}

const handlerTables = new WeakMap<Function, Set<string>>();

/** The method names a consumer class declares as group handlers, over its whole prototype chain. */
export function groupHandlersOf(cls: Function): Set<string> {
  let table = handlerTables.get(cls);
  if (table) return table;
  table = new Set();
  for (let proto = cls.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === 'constructor' || table.has(key)) continue;
      const fn = Object.getOwnPropertyDescriptor(proto, key)?.value as MarkedHandler | undefined;
      if (typeof fn === 'function' && fn[GROUP_HANDLER]) table.add(key);
    }
  }
  handlerTables.set(cls, table);
  return table;
}
