/**
 * The socket caps: sockets per client IP and sockets in all. A slot is taken at the upgrade's check,
 * before any await (token lookup, canConnect), so upgrades that arrive together cannot all pass a
 * check that counts only sockets already open; the caller gives it back exactly once, when the upgrade
 * is refused or the socket closes. Plain counters, no object per slot: 10,000 idle sockets add up.
 */

/** Which cap refused a slot (the `limit` label of `limit_hits_total`). */
export type SocketCap = 'sockets_per_ip' | 'sockets';

export class SocketSlots {
  private readonly perIp = new Map<string, number>();
  private total = 0;

  /** `maxPerIp` and `maxTotal`: 0 = no cap. */
  constructor(
    private readonly maxPerIp: number,
    private readonly maxTotal: number,
  ) {}

  /** Takes a slot for one more socket from `ip`; undefined when taken, else the cap that refuses it (per IP first: that client is the one over). */
  reserve(ip: string): SocketCap | undefined {
    const held = this.perIp.get(ip) ?? 0;
    if (this.maxPerIp > 0 && held >= this.maxPerIp) return 'sockets_per_ip';
    if (this.maxTotal > 0 && this.total >= this.maxTotal) return 'sockets';
    this.perIp.set(ip, held + 1);
    this.total++;
    return undefined;
  }

  /** Gives back a slot `reserve` took for `ip` (once per slot). */
  release(ip: string): void {
    this.total--;
    const left = (this.perIp.get(ip) ?? 1) - 1;
    if (left > 0) this.perIp.set(ip, left);
    else this.perIp.delete(ip);
  }

  /** Slots held now (reserved upgrades and open sockets). */
  get held(): number {
    return this.total;
  }

  /** Slots held by one IP. */
  heldBy(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }
}

/** Default sockets per client IP: plenty for one user's tabs and devices, few for one attacker. */
export const DEFAULT_MAX_SOCKETS_PER_IP = 256;
/** Default sockets in all: what one process serves comfortably (about 7 KiB each when idle). */
export const DEFAULT_MAX_SOCKETS = 10_000;
