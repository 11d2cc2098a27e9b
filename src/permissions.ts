/**
 * Permissions, as DCRF has them: `canConnect` at the upgrade, `hasPermission` before every action
 * (and before every subscription event), composable with and / or / not; and DRF's object level,
 * `hasObjectPermission`, on the row an operation already read. Both protocols call the same ones.
 */
import type { Row } from './events/records.js';
import type { ConnectionScope } from './scope.js';

/** What a permission check sees about the operation. */
export interface PermissionRequest {
  /** The action (DCRF) or operation (`list`, `retrieve`, ... for GraphQL resolvers). */
  action: string;
  /** The action's arguments (the frame's keys, or the GraphQL field's arguments). */
  args: Record<string, unknown>;
  /** The consumer instance, for DCRF; undefined for GraphQL. */
  consumer?: unknown;
  /** For an event check: the row the event is about. */
  object?: Record<string, unknown>;
}

/** Base of every permission. Subclass and override what you need; the defaults allow everything. */
export class BasePermission {
  /** Checked before the socket opens; false answers the upgrade with 403. */
  canConnect(_scope: ConnectionScope): boolean | Promise<boolean> {
    return true;
  }

  /** Checked before every action and every event. */
  hasPermission(_scope: ConnectionScope, _request: PermissionRequest): boolean | Promise<boolean> {
    return true;
  }

  /**
   * DRF's `has_object_permission`: checked after `hasPermission`, on the row the operation read
   * (as the table stores it), for `retrieve`, `update`, `patch`, `delete`, `subscribe_instance`, a
   * consumer's `getObject` (`action` is then the frame's action) and every subscription event
   * (`action` is the event's: `create`, `update` or `delete`). False answers 403 (an event is not
   * sent). Lists are not checked, as in DRF: narrow them with a resource `scope`.
   */
  hasObjectPermission(_scope: ConnectionScope, _object: Row, _action: string, _request?: PermissionRequest): boolean | Promise<boolean> {
    return true;
  }

  /** This and `other`: both must allow (evaluated left to right, stopping at the first refusal). */
  and(other: PermissionLike): BasePermission {
    return new AllOf([this, toPermission(other)]);
  }

  /** This or `other`: either may allow (stopping at the first that does). */
  or(other: PermissionLike): BasePermission {
    return new AnyOf([this, toPermission(other)]);
  }

  /** The opposite of this permission's `hasPermission` (a negation never refuses the connection). */
  not(): BasePermission {
    return new Not(this);
  }
}

/** A permission instance or a permission class with a no-argument constructor, as DRF lists them. */
export type PermissionLike = BasePermission | (new () => BasePermission);

/** Turns a permission class into an instance; instances pass through. */
export function toPermission(permission: PermissionLike): BasePermission {
  return typeof permission === 'function' ? new permission() : permission;
}

/** A list of permissions means all of them. */
export function toPermissionList(permissions: PermissionLike | readonly PermissionLike[] | undefined): BasePermission {
  if (!permissions) return new AllowAny();
  if (!Array.isArray(permissions)) return toPermission(permissions as PermissionLike);
  const list = (permissions as PermissionLike[]).map(toPermission);
  return list.length === 1 ? list[0]! : new AllOf(list);
}

/** Allows everything (DCRF's default). */
export class AllowAny extends BasePermission {}

/** Lets anonymous sockets connect (as DCRF does) and refuses their actions with 403. */
export class IsAuthenticated extends BasePermission {
  override hasPermission(scope: ConnectionScope): boolean {
    return Boolean(scope.user);
  }
}

class AllOf extends BasePermission {
  constructor(readonly permissions: BasePermission[]) {
    super();
  }
  override async canConnect(scope: ConnectionScope): Promise<boolean> {
    for (const permission of this.permissions) if (!(await permission.canConnect(scope))) return false;
    return true;
  }
  override async hasPermission(scope: ConnectionScope, request: PermissionRequest): Promise<boolean> {
    for (const permission of this.permissions) if (!(await permission.hasPermission(scope, request))) return false;
    return true;
  }
  override async hasObjectPermission(scope: ConnectionScope, object: Row, action: string, request?: PermissionRequest): Promise<boolean> {
    for (const permission of this.permissions) {
      if (checksObjects(permission) && !(await permission.hasObjectPermission(scope, object, action, request))) return false;
    }
    return true;
  }
}

class AnyOf extends BasePermission {
  constructor(readonly permissions: BasePermission[]) {
    super();
  }
  override async canConnect(scope: ConnectionScope): Promise<boolean> {
    for (const permission of this.permissions) if (await permission.canConnect(scope)) return true;
    return false;
  }
  override async hasPermission(scope: ConnectionScope, request: PermissionRequest): Promise<boolean> {
    for (const permission of this.permissions) if (await permission.hasPermission(scope, request)) return true;
    return false;
  }
  /**
   * As DRF's OR since 3.14: one permission must allow both the operation and the object, so
   * `anyOf(IsAdmin, IsOwner)` never lets a non-admin through on IsAdmin's default "any object".
   */
  override async hasObjectPermission(scope: ConnectionScope, object: Row, action: string, request?: PermissionRequest): Promise<boolean> {
    const asked = request ?? { action, args: {}, object };
    for (const permission of this.permissions) {
      if (!(await permission.hasPermission(scope, asked))) continue;
      if (!checksObjects(permission) || (await permission.hasObjectPermission(scope, object, action, request))) return true;
    }
    return false;
  }
}

class Not extends BasePermission {
  constructor(readonly inner: BasePermission) {
    super();
  }
  /**
   * A negation decides per action and never refuses the connection: inverting the default "may
   * connect" would lock everyone out (`not(IsAuthenticated)` must let guests in, then check them).
   */
  override canConnect(): boolean {
    return true;
  }
  override async hasPermission(scope: ConnectionScope, request: PermissionRequest): Promise<boolean> {
    return !(await this.inner.hasPermission(scope, request));
  }
  /**
   * Inverts the object rule the inner permission defines; one that defines none allows every object
   * (inverting the default "any object" would refuse every object, whatever `hasPermission` said).
   */
  override async hasObjectPermission(scope: ConnectionScope, object: Row, action: string, request?: PermissionRequest): Promise<boolean> {
    if (!checksObjects(this.inner)) return true;
    return !(await this.inner.hasObjectPermission(scope, object, action, request));
  }
}

const objectRules = new WeakMap<BasePermission, boolean>();

/**
 * Whether a permission defines an object rule (its own `hasObjectPermission`, or one of the
 * permissions it composes): operations skip the object check, and its await, when none does.
 */
export function checksObjects(permission: BasePermission): boolean {
  let checks = objectRules.get(permission);
  if (checks === undefined) {
    if (permission instanceof AllOf || permission instanceof AnyOf) checks = permission.permissions.some(checksObjects);
    else if (permission instanceof Not) checks = checksObjects(permission.inner);
    else checks = permission.hasObjectPermission !== BasePermission.prototype.hasObjectPermission;
    objectRules.set(permission, checks);
  }
  return checks;
}

/**
 * Whether `scope` may be sent an event about `object` under `permission`: its `hasPermission` with
 * the object, then its object rule. A check that throws refuses (the event is simply not sent).
 */
export async function mayReceiveEvent(
  permission: BasePermission,
  scope: ConnectionScope,
  request: PermissionRequest & { object: Row },
): Promise<boolean> {
  try {
    if (!(await permission.hasPermission(scope, request))) return false;
    return !checksObjects(permission) || Boolean(await permission.hasObjectPermission(scope, request.object, request.action, request));
  } catch {
    return false;
  }
}

/** All of the permissions must allow. */
export function allOf(...permissions: PermissionLike[]): BasePermission {
  return new AllOf(permissions.map(toPermission));
}

/** Any one of the permissions may allow. */
export function anyOf(...permissions: PermissionLike[]): BasePermission {
  return new AnyOf(permissions.map(toPermission));
}

/** The opposite of a permission's `hasPermission` (a negation never refuses the connection). */
export function not(permission: PermissionLike): BasePermission {
  return new Not(toPermission(permission));
}
