/**
 * A GraphQL socket's user after connect: re-checked before each operation, each event and each
 * keep-alive ping. The re-read user replaces `scope.user`, so resolvers and permissions see the roles
 * the user has now; a user deleted or deactivated since connect ends the socket (`onGone`: 4403).
 */
import type { AuthUser, ConnectionScope } from '../scope.js';

/**
 * The user as it is now (UserRecheck.current): the re-read user (or `true`) while it may act, `null`
 * (or `false`) once it was deleted or deactivated. Synchronous while a cached answer is fresh.
 */
export type CurrentUser = (user: AuthUser) => AuthUser | boolean | null | Promise<AuthUser | boolean | null>;

export class SocketUser {
  private gone = false;

  /** Whether the user was found deleted or deactivated (the socket is closing). */
  get isGone(): boolean {
    return this.gone;
  }

  constructor(
    private readonly scope: ConnectionScope,
    private readonly current: CurrentUser | undefined,
    /** Closes the socket; called once, when the user is found gone. */
    private readonly onGone: () => void,
  ) {}

  /** True while the socket's user (if any) may act; false once it is gone (the socket is closing). At once when cached. */
  check(): boolean | Promise<boolean> {
    if (this.gone) return false;
    // Without a re-check nothing can change: the scope (another object read per event) is not read.
    const current = this.current;
    if (!current) return true;
    const user = this.scope.user;
    if (!user) return true;
    const answer = current(user);
    if (!(answer instanceof Promise)) return this.settle(answer);
    // A re-check that fails keeps the last answer (UserRecheck logs it): the socket goes on.
    return answer.then(
      (fresh) => this.settle(fresh),
      () => !this.gone,
    );
  }

  private settle(answer: AuthUser | boolean | null): boolean {
    if (this.gone) return false;
    if (!answer) {
      this.gone = true;
      this.onGone();
      return false;
    }
    // Only the same user is replaced (by its re-read self), never a socket's other or absent user.
    if (answer !== true && this.scope.user?.id === answer.id) this.scope.user = answer;
    return true;
  }
}
