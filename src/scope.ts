/**
 * The connection scope: what the upgrade request said, who it authenticated, and the app's runtime.
 * Shared by every consumer of a multiplexed socket and by GraphQL resolvers (as `context.scope`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Runtime } from './runtime.js';

/** An authenticated user as the authenticator returns it. */
export interface AuthUser {
  id: unknown;
  username?: string;
  [key: string]: unknown;
}

export interface ConnectionScope {
  /** The runtime of the gateway that accepted the connection: its database and change hub. */
  readonly runtime: Runtime;
  /** The user, or null for an anonymous socket. */
  user: AuthUser | null;
  /** The request path without the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
  cookies: Record<string, string>;
  remoteAddress: string | undefined;
  /** The negotiated protocol. */
  protocol: 'dcrf' | 'graphql-transport-ws' | 'graphql-ws' | 'http';
  /** The stream, for a DCRF consumer behind the multiplexer or on /ws/<stream>. */
  stream?: string;
  /** Free space for authenticators and middleware. */
  extra: Record<string, unknown>;
}

/** Parses a Cookie header into a map (first value wins, as browsers send the most specific first). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    const name = part.slice(0, index).trim();
    if (!name || name in cookies) continue;
    let value = part.slice(index + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      cookies[name] = decodeURIComponent(value);
    } catch {
      cookies[name] = value;
    }
  }
  return cookies;
}

/** Headers of which Node keeps the first value and discards repeats (`message.headers`'s documented rule). */
const SINGLE_VALUED_HEADERS = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** Separates names and values in a scope's header text: HTTP parsers refuse a line feed in either. */
const HEADER_SEPARATOR = '\n';

/**
 * Headers in the shape of Node's `IncomingMessage.headers`, from raw name/value pairs: lower-case names,
 * `set-cookie` always a list, repeated `cookie` joined with `; `, repeats of single-valued headers
 * discarded, other repeats joined with `, `.
 */
export function headersFromRaw(raw: readonly string[]): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const known = headers[name];
    if (name === 'set-cookie') {
      if (known) (known as string[]).push(value);
      else headers[name] = [value];
    } else if (known === undefined) headers[name] = value;
    else if (name === 'cookie') headers[name] = `${known}; ${value}`;
    else if (!SINGLE_VALUED_HEADERS.has(name)) headers[name] = `${known}, ${value}`;
  }
  return headers;
}

/** What a `RequestScope` is made from: the upgrade (or HTTP) request's parts it keeps. */
export interface ScopeRequest {
  /** The request's headers as received, names and values alternating (`IncomingMessage.rawHeaders`). */
  rawHeaders: readonly string[];
  remoteAddress: string | undefined;
}

/**
 * The scope of a socket or request the gateway accepted. What every consumer needs (user, path,
 * protocol, address) is kept as it is; headers, query, cookies and `extra` are made on first read from
 * one string of the request's headers and its query string, as most sockets never read them and
 * 10,000 idle sockets would each hold them parsed. A multiplexed socket's consumers get copies
 * (`forStream`) that share those, as copies of a plain scope do.
 */
export class RequestScope implements ConnectionScope {
  user: AuthUser | null = null;
  stream?: string;
  /** The request's headers, names and values joined by line feeds; cleared once parsed. */
  private headerText: string;
  /** The query string (with its `?`, or empty). */
  private readonly search: string;
  /** The scope this one is a stream's copy of: it holds the parsed parts for both. */
  private readonly root: RequestScope | undefined;
  private parsedHeaders: IncomingHttpHeaders | undefined;
  private parsedQuery: URLSearchParams | undefined;
  private parsedCookies: Record<string, string> | undefined;
  private madeExtra: Record<string, unknown> | undefined;

  constructor(
    readonly runtime: Runtime,
    request: ScopeRequest | RequestScope,
    public path: string,
    search: string,
    public protocol: ConnectionScope['protocol'],
    public remoteAddress: string | undefined = request.remoteAddress,
  ) {
    if (request instanceof RequestScope) {
      this.root = request.root ?? request;
      this.headerText = '';
    } else {
      this.root = undefined;
      this.headerText = request.rawHeaders.join(HEADER_SEPARATOR);
    }
    this.search = search;
  }

  /** A copy for one stream of a multiplexed socket: its own `stream` and `user`, the rest shared. */
  forStream(stream: string): RequestScope {
    const copy = new RequestScope(this.runtime, this, this.path, '', this.protocol, this.remoteAddress);
    copy.user = this.user;
    copy.stream = stream;
    return copy;
  }

  get headers(): IncomingHttpHeaders {
    const root = this.root ?? this;
    if (!root.parsedHeaders) {
      root.parsedHeaders = headersFromRaw(root.headerText ? root.headerText.split(HEADER_SEPARATOR) : []);
      root.headerText = '';
    }
    return root.parsedHeaders;
  }

  set headers(headers: IncomingHttpHeaders) {
    (this.root ?? this).parsedHeaders = headers;
  }

  get query(): URLSearchParams {
    const root = this.root ?? this;
    return (root.parsedQuery ??= new URLSearchParams(root.search));
  }

  set query(query: URLSearchParams) {
    (this.root ?? this).parsedQuery = query;
  }

  get cookies(): Record<string, string> {
    const root = this.root ?? this;
    return (root.parsedCookies ??= parseCookies(root.headers.cookie));
  }

  set cookies(cookies: Record<string, string>) {
    (this.root ?? this).parsedCookies = cookies;
  }

  get extra(): Record<string, unknown> {
    const root = this.root ?? this;
    return (root.madeExtra ??= {});
  }

  set extra(extra: Record<string, unknown>) {
    (this.root ?? this).madeExtra = extra;
  }
}

/**
 * The scope a consumer of `stream` on a multiplexed socket gets: a copy with its own `stream` (and
 * `user`, which a re-check replaces on every copy), sharing the rest.
 */
export function scopeForStream(scope: ConnectionScope, stream: string): ConnectionScope {
  return scope instanceof RequestScope ? scope.forStream(stream) : { ...scope, stream };
}
