/**
 * Where a request comes from. Two checks, both against DNS rebinding and cross-site socket hijacking:
 * - Host: a page on `http://evil.example:8000` whose name resolves to this machine makes the browser
 *   send `Host: evil.example:8000`, so a request is served only when its Host names this gateway:
 *   a loopback name, the address it listens on, a public origin's host, or an `allowedHosts` entry.
 *   Rebinding needs a name the attacker controls, so the name is what is checked; a port is compared
 *   only where an `allowedHosts` entry gives one (a tunnel or proxy in front may change the port).
 * - Origin (upgrades): a browser's Origin must be the gateway's own origin, compared as scheme, host
 *   and port, or a listed one. No Origin (a non-browser client) is allowed.
 */
import type { IncomingMessage } from 'node:http';

export interface OriginPolicyOptions {
  /** Origins browsers reach the gateway at (`https://api.example.com`): same-origin, and their hosts are served. */
  publicOrigins?: readonly string[];
  /** More Host values to serve: `name` (any port) or `name:port`; `*` turns the Host check off. */
  allowedHosts?: readonly string[];
  /** Other origins allowed to open sockets; `*` allows any, and then the `token` cookie is never read. */
  allowedOrigins?: readonly string[];
}

/** A Host header: a name or IPv4 address, or an IPv6 address in brackets, and an optional port. */
const HOST_PATTERN = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]{0,252}))(?::(\d{1,5}))?$/;

/**
 * Always served: a rebinding page sends its own name, never these; a cross-site page that targets
 * them by name is what the Origin check is for.
 */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Listen addresses that are not names of this machine (wildcards): they never make a Host allowed. */
const WILDCARD_ADDRESSES = new Set(['', '0.0.0.0', '::', '[::]']);

interface HostEntry {
  hostname: string;
  /** Undefined: any port. */
  port: string | undefined;
}

/** The Host and Origin checks of one gateway (see the module comment). */
export class OriginPolicy {
  private readonly anyHost: boolean;
  private readonly anyOrigin: boolean;
  private readonly hosts: HostEntry[];
  private readonly publicOrigins: Set<string>;
  private readonly allowedOrigins: Set<string>;
  private listenHost: string | undefined;

  constructor(options: OriginPolicyOptions = {}) {
    this.anyHost = options.allowedHosts?.includes('*') ?? false;
    this.anyOrigin = options.allowedOrigins?.includes('*') ?? false;
    this.publicOrigins = new Set((options.publicOrigins ?? []).map((origin) => normalizeOrigin(origin, 'PUBLIC_ORIGIN')));
    this.allowedOrigins = new Set(
      (options.allowedOrigins ?? []).filter((origin) => origin !== '*').map((origin) => normalizeOrigin(origin, 'ALLOWED_ORIGINS')),
    );
    this.hosts = (options.allowedHosts ?? [])
      .filter((host) => host !== '*')
      .map((host) => {
        const entry = parseHost(host);
        if (!entry) throw new Error(`ALLOWED_HOSTS: "${host}" is not a host name, an address or name:port`);
        return entry;
      });
    for (const origin of this.publicOrigins) this.hosts.push({ hostname: parseHost(new URL(origin).host)!.hostname, port: undefined });
  }

  /** The address the server listens on: a specific one (not a wildcard) is served as a Host too. */
  listeningOn(host: string): void {
    const name = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    this.listenHost = WILDCARD_ADDRESSES.has(name) ? undefined : name.toLowerCase();
  }

  /** Whether the request's Host is one this gateway answers to. */
  hostAllowed(request: IncomingMessage): boolean {
    if (this.anyHost) return true;
    const host = parseHost(request.headers.host);
    if (!host) return false;
    if (LOOPBACK_NAMES.has(host.hostname) || host.hostname === this.listenHost) return true;
    return this.hosts.some((entry) => entry.hostname === host.hostname && (entry.port === undefined || entry.port === host.port));
  }

  /** Whether an upgrade's Origin may open a socket: none, the gateway's own origin, or a listed one. */
  originAllowed(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (origin === undefined || origin === '') return true;
    if (this.anyOrigin) return true;
    let normalized: string;
    try {
      normalized = normalizeOrigin(origin);
    } catch {
      return false; // `null` (sandboxed frames, file: pages) and anything unreadable
    }
    if (this.allowedOrigins.has(normalized) || this.publicOrigins.has(normalized)) return true;
    // Without public origins, the gateway's own origin is plain HTTP at the (already checked) Host.
    if (this.publicOrigins.size === 0 && request.headers.host) {
      try {
        return normalizeOrigin(`http://${request.headers.host}`) === normalized;
      } catch {
        return false;
      }
    }
    return false;
  }

  /**
   * Whether the `token` cookie may authenticate this request. Browsers attach cookies to requests any
   * site makes: with every origin allowed that is cross-site authentication, so the cookie is never
   * read then; otherwise only when the request's Origin is allowed, or absent and the browser does
   * not say the request is cross-site (`Sec-Fetch-Site`; a cross-site GET carries no Origin).
   */
  cookieAuthAllowed(request: IncomingMessage): boolean {
    if (this.anyOrigin) return false;
    if (!request.headers.origin) return request.headers['sec-fetch-site'] !== 'cross-site';
    return this.originAllowed(request);
  }
}

/** `scheme://host[:port]` as browsers send it in Origin (lower case, default port left out). */
function normalizeOrigin(origin: string, setting?: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(origin.trim());
  } catch {
    // reported below
  }
  if (!parsed || parsed.origin === 'null') throw new Error(`${setting ?? 'Origin'}: "${origin}" is not an origin (scheme://host[:port])`);
  return parsed.origin;
}

function parseHost(value: string | undefined): HostEntry | undefined {
  if (!value) return undefined;
  const match = HOST_PATTERN.exec(value.trim().toLowerCase());
  if (!match) return undefined;
  return { hostname: match[1]!, port: match[2] };
}

/** Parses a comma list (ALLOWED_ORIGINS, PUBLIC_ORIGIN, ALLOWED_HOSTS). */
export function parseOriginList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
