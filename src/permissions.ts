/**
 * Permissions, as DCRF has them: `canConnect` at the upgrade, `hasPermission` before every action
 * (and before every subscription event), composable with and / or / not. Both protocols call the same ones.
 */
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
