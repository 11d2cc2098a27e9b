/**
 * The gateway: one HTTP server and one `ws` server on it. Each upgrade is routed by path, checked
 * (Host, Origin, the socket caps, token, the consumers' canConnect) and negotiated per socket:
 * `graphql-transport-ws`, then legacy `graphql-ws`, else DCRF. `close()` drains before it closes.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { logger } from '../logger.js';
import type { ConsumerClass } from '../dcrf/consumer.js';
import { DcrfSession, DEFAULT_DCRF_LIMITS, type DcrfLimits, type SessionObserver } from '../dcrf/session.js';
import { connectRoute, type DcrfRoute } from '../dcrf/routing.js';
import { wsSocket } from '../dcrf/ws-socket.js';
import { CLOSE } from '../dcrf/protocol.js';
import type { GraphQLAdapter } from '../graphql/gateway-adapter.js';
import { parseCookies, RequestScope, type ConnectionScope } from '../scope.js';
import { resolveToken, type Authenticator } from '../auth/authenticator.js';
import { tokenFromRequest } from '../auth/tokens.js';
import { applyCors } from './cors.js';
import { OriginPolicy } from './origin.js';
import { combineObservers, GatewayMetrics, type LimitName, type SocketCounters } from './metrics.js';
import { MetricsServer, serveMetrics } from './metrics-access.js';
import { setSecurityHeaders } from './security-headers.js';
import { sqliteBusyStats } from '../db/knex.js';
import { SignalEndpoint, type SignalEndpointOptions } from './signal-endpoint.js';
import { DEFAULT_MAX_SOCKETS, DEFAULT_MAX_SOCKETS_PER_IP, SocketSlots } from './socket-slots.js';
import { checkStreams } from './startup-checks.js';
import { type CloseAsked, limitLogObserver, logLimitHit, logRefusedUpgrade, logSocketClosed, watchClose } from './debug-log.js';
import { drainSocket, InFlight } from '../in-flight.js';
import { redactSecret, redactUrl } from '../auth/redact.js';
import { UserRecheck } from '../auth/user-recheck.js';
import { negotiate, parseProtocols, pickProtocol, type Negotiated } from './subprotocols.js';
import { SocketHeartbeat } from './socket-heartbeat.js';
import type { GraphQLSocketLimits } from '../graphql/socket-limits.js';
import { FrameRateLimiter } from '../dcrf/rate-limit.js';
import type { Runtime } from '../runtime.js';

/** An extra HTTP route: returns true when it answered. */
export type HttpRoute = (request: IncomingMessage, response: ServerResponse, url: URL) => boolean | Promise<boolean>;

export interface GatewayOptions {
  /** The app's runtime (database, change hub): every socket's scope carries it (`scope.runtime`). */
  runtime: Runtime;
  /** DCRF streams: `/ws/<name>` serves one; `/ws` multiplexes them all. */
  streams: Record<string, ConsumerClass>;
  authenticator?: Authenticator;
  graphql?: GraphQLAdapter;
  /** Extra HTTP routes, tried in order before the built-in ones. */
  routes?: HttpRoute[];
  /**
   * `POST /signals/<name>`: the custom signals other services may send, behind a bearer token
   * (docs/signals-from-other-services.md). Off (404) without a token.
   */
  signals?: SignalEndpointOptions;
  /** Origins allowed to open sockets, besides same-origin and no Origin. `*` allows any (and the `token` cookie is never read). */
  allowedOrigins?: string[];
  /**
   * Origins browsers reach the gateway at (`https://api.example.com`): the same-origin of the Origin
   * check (scheme, host and port), and their hosts are served. Default: `http://<Host>`.
   */
  publicOrigins?: string[];
  /**
   * Host values served besides the loopback names, the listening address and the public origins'
   * hosts: `name` (any port) or `name:port`; `*` serves any Host. Others: upgrades 403, HTTP 421.
   */
  allowedHosts?: string[];
  /** Largest inbound frame in bytes (larger ones close the socket 1009). Default 1 MiB. */
  maxFrameBytes?: number;
  /** Sockets one client IP may hold (upgrade refused 429 beyond); default 256, 0 = no cap. */
  maxSocketsPerIp?: number;
  /** Sockets the gateway holds in all (upgrade refused 503 beyond); default 10,000, 0 = no cap. */
  maxSockets?: number;
  limits?: Partial<DcrfLimits>;
  /** Whether the app can serve (for /healthz); default: whether the runtime's database and PubSub answer. */
  health?: () => Promise<boolean>;
  /** More counters, told alongside the built-in metrics. */
  sessionObserver?: SessionObserver & { socketOpened?(protocol: Negotiated): void; socketClosed?(protocol: Negotiated): void };
  /** The metrics served at `GET /metrics`; default a registry of this gateway's own; false serves none. */
  metrics?: GatewayMetrics | false;
  /** When set, `/metrics` answers only `Authorization: Bearer <metricsToken>` (401 otherwise). */
  metricsToken?: string;
  /** When set, `/metrics` is served on this port (of `metricsHost`, default 127.0.0.1) only, not on the public one. */
  metricsPort?: number;
  metricsHost?: string;
  /**
   * How long `close()` lets work under way finish (DCRF actions, GraphQL queries and mutations, HTTP
   * requests) before closing the sockets 1001; new upgrades and requests get 503 meanwhile. Default 10,000 ms.
   */
  shutdownGraceMs?: number;
  /**
   * How long (ms) a "user still active" answer from `authenticator.refresh` is trusted before a DCRF
   * socket's next event or frame re-reads the user; default 1000. Deleted or deactivated users' sockets
   * are closed 1008 and get no further event.
   */
  userRecheckMs?: number;
}

export class Gateway {
  readonly server: http.Server;
  readonly wss: WebSocketServer;
  private readonly limits: DcrfLimits;
  /** Pings the DCRF sockets, all on one timer. */
  private readonly heartbeat: SocketHeartbeat;
  private readonly slots: SocketSlots;
  private readonly origins: OriginPolicy;
  /** HTTP requests being answered (a graceful shutdown waits for them). */
  private readonly requests = new InFlight();
  private readonly metricsServer: MetricsServer | undefined;
  private closing: Promise<void> | undefined;
  private readonly streams: Map<string, ConsumerClass>;
  /** The open sockets, each with what its close needs (one small record, not a closure per socket). */
  private readonly sockets = new Map<WebSocket, OpenSocket>();
  /** Every socket's close listener, shared: `this` is the socket. */
  private readonly onSocketClose: (this: WebSocket, code: number, reason: Buffer) => void;
  /** The gateway's metrics (undefined when `metrics: false`). */
  readonly metrics: GatewayMetrics | undefined;
  private readonly sessionObserver: SessionObserver;
  /** The DCRF sessions' observer: `sessionObserver`, and the frame counter of the DCRF sockets once one opened. */
  private dcrfObserver: SessionObserver | undefined;
  /** The request of each upgrade under way, for the refusal's log record (dropped when the upgrade ends). */
  private readonly upgrading = new WeakMap<Duplex, IncomingMessage>();
  private readonly userRecheck: UserRecheck | undefined;
  private readonly signalEndpoint: SignalEndpoint | undefined;

  constructor(readonly options: GatewayOptions) {
    this.streams = new Map(Object.entries(options.streams));
    this.limits = { ...DEFAULT_DCRF_LIMITS, ...options.limits };
    this.heartbeat = new SocketHeartbeat(this.limits.pingIntervalMs);
    this.metrics =
      options.metrics === false
        ? undefined
        : (options.metrics ??
          new GatewayMetrics({
            hub: () => options.runtime.hub,
            databaseBusy: () => (options.runtime.hasDatabase ? sqliteBusyStats(options.runtime.knex) : undefined),
          }));
    // Limit hits and slow consumers are logged at debug besides being counted.
    this.sessionObserver = combineObservers(this.metrics, options.sessionObserver, limitLogObserver);
    options.graphql?.observe?.(this.sessionObserver);
    this.userRecheck = UserRecheck.for(options.authenticator, options.userRecheckMs);
    this.slots = new SocketSlots(options.maxSocketsPerIp ?? DEFAULT_MAX_SOCKETS_PER_IP, options.maxSockets ?? DEFAULT_MAX_SOCKETS);
    this.origins = new OriginPolicy(options);
    this.signalEndpoint =
      options.signals && SignalEndpoint.create(options.runtime, options.signals, (limit) => this.metrics?.limitHit(limit));
    if (this.metrics && options.metricsPort !== undefined) this.metricsServer = new MetricsServer(this.metrics, options.metricsToken);
    const gateway = this;
    this.onSocketClose = function (this: WebSocket, code: number, reason: Buffer) {
      gateway.socketClosed(this, code, reason);
    };
    this.server = http.createServer((request, response) => void this.onRequest(request, response));
    this.wss = new WebSocketServer({
      noServer: true,
      // The gateway keeps its own map of open sockets: ws's set of them would be a second entry per socket.
      clientTracking: false,
      maxPayload: options.maxFrameBytes ?? 1024 * 1024,
      perMessageDeflate: false,
      handleProtocols: (protocols) => pickProtocol(protocols) ?? false,
    });
    this.server.on('upgrade', (request, socket, head) => void this.onUpgrade(request, socket, head));
  }

  /**
   * Starts listening (and the metrics listener, when it has a port of its own); resolves with the bound
   * port. First checks the streams and the GraphQL fields' resources (startup-checks.ts): a consumer
   * without a model or serializer, a table missing from the database, subscriptions over a plain Model
   * reject with a StartupCheckError.
   */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await checkStreams(this.options.runtime, this.streams, this.options.graphql?.servedResources?.());
    this.origins.listeningOn(host);
    if (this.metricsServer)
      this.metricsPort = await this.metricsServer.listen(this.options.metricsPort!, this.options.metricsHost ?? '127.0.0.1');
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** The port `/metrics` listens on when it has one of its own (set by `listen`). */
  metricsPort: number | undefined;

  /**
   * Graceful close: new upgrades and requests get 503; every socket stops reading and the work it
   * already took (DCRF actions, GraphQL queries and mutations) and the HTTP requests under way may
   * finish, for `shutdownGraceMs` at most; then every socket is closed 1001 and the server closes.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.server.closeIdleConnections?.();
    const drained = Promise.all([this.requests.idle(), ...[...this.sockets].map(([ws, open]) => drainSocket(ws, open.session))]);
    const finished = await settlesWithin(drained, this.options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
    if (!finished)
      logger.warn('shutdown grace ended with work still under way', { sockets: this.sockets.size, requests: this.requests.size });
    for (const ws of this.sockets.keys()) {
      // Frames sent since the drain began are not handled; reading resumes only so that the peer's
      // close frame completes the closing handshake.
      ws.removeAllListeners('message');
      ws.resume();
      ws.close(CLOSE.goingAway, 'Server shutting down');
    }
    await this.options.graphql?.close?.();
    await this.metricsServer?.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections?.();
      setTimeout(() => {
        for (const ws of this.sockets.keys()) ws.terminate();
      }, 1000).unref();
    });
  }

  /** Number of open sockets. */
  get socketCount(): number {
    return this.sockets.size;
  }

  /**
   * The scope of a socket or request: headers, query and cookies are parsed when first read (most
   * sockets never read them); the query from its own string, as url.searchParams would keep the whole
   * URL alive with the socket.
   */
  private scopeFor(request: IncomingMessage, url: URL, protocol: ConnectionScope['protocol']): ConnectionScope {
    const source = { rawHeaders: request.rawHeaders, remoteAddress: request.socket.remoteAddress };
    return new RequestScope(this.options.runtime, source, this.sharedPath(url.pathname), url.search, protocol);
  }

  /** The one copy of a route's usual path (`/ws`, `/ws/<stream>`), so sockets do not each keep their own. */
  private sharedPath(pathname: string): string {
    if (!this.routePaths) {
      this.routePaths = new Map();
      for (const path of ['/ws', '/ws/', '/graphql', '/graphql/']) this.routePaths.set(path, path);
      for (const stream of this.streams.keys()) {
        const path = `/ws/${encodeURIComponent(stream)}`;
        this.routePaths.set(path, path);
      }
    }
    return this.routePaths.get(pathname) ?? pathname;
  }

  private routePaths: Map<string, string> | undefined;

  private async onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    setSecurityHeaders(response);
    if (this.closing) {
      response.setHeader('connection', 'close');
      sendJson(response, 503, { detail: 'Server shutting down.' });
      return;
    }
    const done = this.requests.begin();
    response.once('close', done);
    try {
      const url = new URL(request.url ?? '/', 'http://localhost');
      // Health probes (a load balancer, Kubernetes) name the server by its address, and its answer
      // tells a rebinding page nothing: /healthz answers any Host.
      if (url.pathname !== '/healthz' && !this.origins.hostAllowed(request)) {
        this.metrics?.limitHit('host');
        sendJson(response, 421, { detail: 'Host not allowed.' });
        return;
      }
      for (const route of this.options.routes ?? []) {
        if (await route(request, response, url)) return;
      }
      if (this.signalEndpoint && (await this.signalEndpoint.handle(request, response, url))) return;
      if (url.pathname === '/metrics' && this.metrics && !this.metricsServer) {
        await serveMetrics(this.metrics, this.options.metricsToken, request, response);
        return;
      }
      if (url.pathname === '/healthz') {
        const ok = await (this.options.health ?? (() => this.options.runtime.healthy()))().catch(() => false);
        sendJson(response, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable' });
        return;
      }
      if ((url.pathname === '/graphql' || url.pathname === '/graphql/') && this.options.graphql) {
        if (applyCors(this.origins, request, response)) return;
        const scope = this.scopeFor(request, url, 'http');
        const auth = await resolveToken(this.options.authenticator, this.tokenOf(request, url));
        if (auth.kind === 'invalid') {
          sendJson(response, 401, { errors: [{ message: 'Invalid token.', extensions: { code: 'UNAUTHENTICATED', status: 401 } }] });
          return;
        }
        if (auth.kind === 'user') scope.user = auth.user;
        await this.options.graphql.handleHttp(request, response, scope);
        return;
      }
      sendJson(response, 404, { detail: 'Not found.' });
    } catch (error) {
      logger.error('http request failed', {
        url: redactUrl(request.url),
        error: redactSecret(String((error as Error)?.stack ?? error), requestToken(request)),
      });
      if (!response.headersSent) sendJson(response, 500, { detail: 'Internal server error' });
      else response.destroy();
    }
  }

  private route(pathname: string): DcrfRoute | 'graphql' | undefined {
    if (pathname === '/graphql' || pathname === '/graphql/') return 'graphql';
    if (pathname === '/ws' || pathname === '/ws/') {
      return { kind: 'multiplex', streams: this.streams, refused: new Set() };
    }
    const match = /^\/ws\/([^/]+)\/?$/.exec(pathname);
    if (match) {
      const stream = decodePathSegment(match[1]!);
      const consumer = stream === undefined ? undefined : this.streams.get(stream);
      if (consumer) return this.singleRoute(stream!, consumer);
    }
    return undefined;
  }

  /** One route object per stream, shared by its sockets (each session keeps its route). */
  private singleRoute(stream: string, consumer: ConsumerClass): DcrfRoute {
    let route = this.singleRoutes.get(stream);
    if (!route) this.singleRoutes.set(stream, (route = { kind: 'single', stream, consumer }));
    return route;
  }

  private readonly singleRoutes = new Map<string, DcrfRoute>();

  /** A GraphQL socket's share of the per-socket limits (the same settings as DCRF's), with a rate limiter of its own. */
  private graphqlLimits(): GraphQLSocketLimits {
    const { maxBufferedBytes, maxKeyBytes, maxRetainedBytes, ratePerSecond, rateBurst, throttleCloseMs } = this.limits;
    const rate = new FrameRateLimiter(ratePerSecond, rateBurst, throttleCloseMs);
    return { maxBufferedBytes, maxKeyBytes, maxRetainedBytes, rate, observer: this.sessionObserver };
  }

  /** The request's token; the `token` cookie counts only where the Origin policy lets cookies authenticate. */
  private tokenOf(request: IncomingMessage, url: URL): string | undefined {
    // The request's own cookies, parsed for this read only: the scope parses its copy if a consumer asks.
    const cookies = request.headers.cookie && this.origins.cookieAuthAllowed(request) ? parseCookies(request.headers.cookie) : NO_COOKIES;
    return tokenFromRequest(request.headers, url.searchParams, cookies);
  }

  private async onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', ignoreError);
    this.upgrading.set(socket, request);
    if (this.closing) {
      this.refuse(socket, 503, 'Service Unavailable');
      this.upgrading.delete(socket);
      return;
    }
    const ip = request.socket.remoteAddress ?? '';
    let slotHeld = false;
    try {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const route = this.route(url.pathname);
      if (!route) return void this.refuse(socket, 404, 'Not Found');
      if (!this.origins.hostAllowed(request)) return void this.refuse(socket, 403, 'Forbidden', 'host');
      if (!this.origins.originAllowed(request)) return void this.refuse(socket, 403, 'Forbidden', 'origin');
      // Taken before the first await, so concurrent upgrades cannot all pass the caps.
      const cap = this.slots.reserve(ip);
      if (cap === 'sockets_per_ip') return void this.refuse(socket, 429, 'Too Many Requests', cap);
      if (cap === 'sockets') return void this.refuse(socket, 503, 'Service Unavailable', cap);
      slotHeld = true;
      // An accepted socket gives its slot back when it closes (track); any other outcome, here.
      if (await this.upgrade(request, socket, head, url, route, ip)) slotHeld = false;
    } catch (error) {
      logger.error('upgrade failed', {
        url: redactUrl(request.url),
        error: redactSecret(String((error as Error)?.stack ?? error), requestToken(request)),
      });
      this.refuse(socket, 500, 'Internal Server Error');
    } finally {
      this.upgrading.delete(socket);
      if (slotHeld) this.slots.release(ip);
    }
  }

  /** Authenticates, checks and accepts an upgrade that holds a socket slot of `ip`; false when it was refused. */
  private async upgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    route: DcrfRoute | 'graphql',
    ip: string,
  ): Promise<boolean> {
    const offered = parseProtocols(request.headers['sec-websocket-protocol']);
    const negotiated = negotiate(offered);
    const scope = this.scopeFor(request, url, negotiated);
    const auth = await resolveToken(this.options.authenticator, this.tokenOf(request, url));
    if (auth.kind === 'user') scope.user = auth.user;

    if (negotiated !== 'dcrf') {
      if (!this.options.graphql) return this.refuse(socket, 400, 'GraphQL is not enabled');
      return this.accept(request, socket, head, negotiated, ip, (ws) =>
        this.options.graphql!.handleSocket(ws, negotiated, scope, auth, request, this.graphqlLimits()),
      );
    }
    if (route === 'graphql') return this.refuse(socket, 400, 'Bad Request: offer the graphql-transport-ws or graphql-ws subprotocol');
    if (auth.kind === 'invalid') return this.refuse(socket, 401, 'Unauthorized');
    if (auth.kind === 'user') this.userRecheck?.remember(auth.user);

    const dcrfRoute = await connectRoute(route, scope);
    if (!dcrfRoute) return this.refuse(socket, 403, 'Forbidden');
    return this.accept(request, socket, head, 'dcrf', ip, (ws) => {
      const observer = this.dcrfObserver ?? this.sessionObserver;
      // The gateway's close listener tells the session (socketClosed): one close listener per socket, not two.
      const session = new DcrfSession(wsSocket(ws), scope, dcrfRoute, this.limits, observer, this.userRecheck?.current, false);
      this.sockets.get(ws)!.session = session;
      // A peer gone without a FIN never closes: a missed pong cuts it off, and with it its subscriptions.
      this.heartbeat.watch(ws);
      session.start().catch((error: unknown) => {
        logger.error('consumer connect failed', { error: String((error as Error)?.stack ?? error) });
        ws.close(1011, 'Internal server error');
      });
    });
  }

  /** Answers an upgrade with an HTTP error (counted); false, for `upgrade`'s callers. */
  private refuse(socket: Duplex, status: number, message: string, limit?: LimitName): false {
    if (!socket.destroyed) {
      this.metrics?.upgradeRefused(status, limit);
      logRefusedUpgrade(this.upgrading.get(socket), status, message, limit);
    }
    refuse(socket, status, message);
    return false;
  }

  /**
   * Completes the handshake; true once the socket is open and tracked (its close gives back the slot
   * of `ip`), false when the connection is gone, the handshake failed or the shutdown began meanwhile.
   * Without `verifyClient`, ws completes a handshake (or fails it) before `handleUpgrade` returns.
   */
  private accept(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    protocol: Negotiated,
    ip: string,
    serve: (ws: WebSocket) => void,
  ): boolean {
    if (socket.destroyed) return false;
    if (this.closing) return this.refuse(socket, 503, 'Service Unavailable');
    let accepted = false;
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      accepted = true;
      // ws listens for the connection's errors now: the upgrade's own listener would only add a list per socket.
      socket.off('error', ignoreError);
      this.track(ws, protocol, ip);
      try {
        serve(ws);
      } catch (error) {
        logger.error('socket setup failed', { error: String((error as Error)?.stack ?? error) });
        ws.close(1011, 'Internal server error');
      }
    });
    return accepted;
  }

  /**
   * Counts an accepted socket and forgets it on close. Its own method, so the close listener keeps
   * only what it needs alive (not the upgrade request and its closures: memory per idle socket).
   */
  private track(ws: WebSocket, protocol: Negotiated, ip: string): void {
    this.options.sessionObserver?.socketOpened?.(protocol);
    const counters = this.metrics?.socketOpened(protocol);
    if (counters) {
      // DCRF sessions count their frames through their observer: a second 'message' listener would
      // give every socket a listener list.
      if (protocol === 'dcrf') this.dcrfObserver ??= withFrameCounter(this.sessionObserver, counters.frameIn);
      else ws.on('message', counters.frameIn);
      // Every protocol's frames leave through ws.send, so counting there covers DCRF and GraphQL alike.
      // (Events written as whole frames, text-frames.ts, are counted by the same function's counter.)
      ws.send = counters.countedSend as WebSocket['send'];
    }
    ws.on('error', this.onSocketError);
    this.sockets.set(ws, new OpenSocket(protocol, ip, counters, logger.enabled('debug') ? watchClose(ws) : undefined));
    // ws emits 'close' once: a plain listener, without the wrapper `once` would make per socket.
    ws.on('close', this.onSocketClose);
  }

  /** A tracked socket closed: counted, its slot given back, and the heartbeat stops watching it. */
  private socketClosed(ws: WebSocket, code: number, reason: Buffer): void {
    const open = this.sockets.get(ws);
    if (!open) return;
    this.sockets.delete(ws);
    this.heartbeat.forget(ws);
    void open.session?.onClose();
    logSocketClosed(open.protocol, open.ip, code, reason, open.closeAsked?.());
    open.counters?.closed();
    this.slots.release(open.ip);
    this.options.sessionObserver?.socketClosed?.(open.protocol);
  }

  /** ws closes a frame over maxPayload with 1009 and reports it here; count it as a limit hit. */
  private readonly onSocketError = (error: Error & { code?: string }) => {
    if (error.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return;
    this.metrics?.limitHit('frame_size');
    logLimitHit('frame_size');
  };
}

/** What the gateway keeps of an open socket for its close. */
class OpenSocket {
  /** A DCRF socket's session: told when the socket closes, asked to drain on shutdown. */
  session: DcrfSession | undefined = undefined;
  constructor(
    readonly protocol: Negotiated,
    readonly ip: string,
    readonly counters: SocketCounters | undefined,
    readonly closeAsked: (() => CloseAsked | undefined) | undefined,
  ) {}
}

/**
 * `observer`, with `countFrame` called for every frame in before its own `frameIn`. Its other hooks are
 * its own, reached through the prototype: an event delivered pays no second round of observers.
 */
function withFrameCounter(observer: SessionObserver, countFrame: () => void): SessionObserver {
  const own = observer.frameIn;
  const frameIn = own
    ? () => {
        countFrame();
        own.call(observer);
      }
    : countFrame;
  return Object.assign(Object.create(observer) as SessionObserver, { frameIn });
}

/** How long `close()` lets work under way finish by default. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/** The cookies a request's token may not come from (see `OriginPolicy.cookieAuthAllowed`). */
const NO_COOKIES: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** Resolves true once `work` settles, or false after `ms`. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Swallows errors of an upgrading socket. Module-level on purpose: a closure made in onUpgrade would
 * keep the whole upgrade request alive for as long as the socket lives.
 */
function ignoreError(): void {}

/** A percent-decoded path segment; undefined when its escapes are malformed (a 404, not a 500). */
function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The token a request carries (for redacting it from logged errors); undefined when none or unreadable. */
function requestToken(request: IncomingMessage): string | undefined {
  try {
    const url = new URL(request.url ?? '/', 'http://localhost');
    return tokenFromRequest(request.headers, url.searchParams, parseCookies(request.headers.cookie));
  } catch {
    return undefined;
  }
}

function refuse(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? message}\r\n` +
      'Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Writes a JSON response. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
