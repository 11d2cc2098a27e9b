/**
 * `/playground`: serves the built web UI (playground/dist, made by `npm run build`) as static files,
 * plus what a browser expects around it: `/` opens it, a favicon, `GET /graphql` from a browser opens its GraphQL tab.
 * Only files under that directory are reachable; hashed assets are cached for good, the page itself
 * is revalidated; compressible files are gzipped once and kept in memory. Every file goes out with
 * the playground's security headers (a CSP its bundle works under, no framing, no referrer).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRoute } from './gateway.js';
import { PLAYGROUND_SECURITY_HEADERS } from './security-headers.js';

export const PLAYGROUND_PATH = '/playground';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.ttf', '.txt']);

export interface PlaygroundOptions {
  /** The built playground; default playground/dist of this package. */
  dir?: string;
}

interface CachedFile {
  mtimeMs: number;
  size: number;
  body: Buffer;
  gzipped?: Buffer;
}

/** The playground/dist directory of this package, whether running from src/ (tsx) or dist/src/. */
export function defaultPlaygroundDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../../playground/dist'), path.resolve(here, '../../../playground/dist')];
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html'))) ?? candidates[0]!;
}

/** The HTTP route serving the playground under `/playground`. */
export function playgroundRoute(options: PlaygroundOptions = {}): HttpRoute {
  const root = path.resolve(options.dir ?? defaultPlaygroundDir());
  const cache = new Map<string, CachedFile>();

  return async (request, response, url) => {
    const { pathname } = url;
    if (browserConvenience(request, response, url)) return true;
    if (pathname !== PLAYGROUND_PATH && !pathname.startsWith(`${PLAYGROUND_PATH}/`)) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      response.end('Method not allowed\n');
      return true;
    }
    // Relative asset URLs in the page resolve against the directory, so the page lives at /playground/.
    if (pathname === PLAYGROUND_PATH) {
      response.writeHead(308, { location: `${PLAYGROUND_PATH}/${url.search}` });
      response.end();
      return true;
    }
    const file = resolveInside(root, pathname.slice(PLAYGROUND_PATH.length + 1) || 'index.html');
    if (!file) return notFound(response);
    const entry = await load(cache, file);
    if (!entry) {
      if (file === path.join(root, 'index.html')) {
        response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('The playground is not built: run `npm run build`.\n');
        return true;
      }
      return notFound(response);
    }
    send(request, response, file, entry);
    return true;
  };
}

/** The icon every page of the gateway shows (browsers ask for /favicon.ico on their own). */
const FAVICON = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0c4b33"/>' +
    '<path d="M9 8h6a8 8 0 0 1 0 16H9z" fill="none" stroke="#fff" stroke-width="3"/><circle cx="24" cy="9" r="3" fill="#7fd1ae"/></svg>',
);

/**
 * What a person typing addresses into a browser expects where the playground is served: `/` opens
 * it, `/favicon.ico` is an icon (not a 404 in every page's console), and `GET /graphql` from a browser
 * (it asks for HTML and sends no query) opens the playground's GraphQL tab, as GraphQL servers serve
 * GraphiQL there. Clients that ask for JSON, and any request with a query, still reach the endpoint.
 */
function browserConvenience(request: IncomingMessage, response: ServerResponse, url: URL): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (url.pathname === '/') return redirect(response, `${PLAYGROUND_PATH}/`);
  if (url.pathname === '/favicon.ico') {
    response.writeHead(200, {
      ...PLAYGROUND_SECURITY_HEADERS,
      'content-type': 'image/svg+xml',
      'content-length': FAVICON.length,
      'cache-control': 'public, max-age=86400',
    });
    response.end(request.method === 'HEAD' ? undefined : FAVICON);
    return true;
  }
  if ((url.pathname === '/graphql' || url.pathname === '/graphql/') && !url.searchParams.has('query') && prefersHtml(request)) {
    return redirect(response, `${PLAYGROUND_PATH}/#graphql`);
  }
  return false;
}

/** Whether the client lists text/html before any JSON type (a browser's navigation does). */
function prefersHtml(request: IncomingMessage): boolean {
  const accept = String(request.headers.accept ?? '');
  const html = accept.indexOf('text/html');
  const json = accept.search(/application\/(graphql-response\+)?json/);
  return html >= 0 && (json < 0 || html < json);
}

function redirect(response: ServerResponse, location: string): true {
  response.writeHead(302, { location, 'content-length': 0 });
  response.end();
  return true;
}

/** The file a URL path names under `root`, or undefined when it would leave `root`. */
export function resolveInside(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const file = path.resolve(root, `.${path.posix.sep}${decoded}`);
  if (!file.startsWith(root + path.sep)) return undefined;
  // Dotfiles are never part of a build.
  if (
    path
      .relative(root, file)
      .split(path.sep)
      .some((part) => part.startsWith('.'))
  )
    return undefined;
  return file;
}

async function load(cache: Map<string, CachedFile>, file: string): Promise<CachedFile | undefined> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) return undefined;
  const cached = cache.get(file);
  if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached;
  const body = await fs.promises.readFile(file);
  const entry: CachedFile = { mtimeMs: stat.mtimeMs, size: stat.size, body };
  if (COMPRESSIBLE.has(path.extname(file)) && body.length > 1024) entry.gzipped = gzipSync(body);
  cache.set(file, entry);
  return entry;
}

function send(request: IncomingMessage, response: ServerResponse, file: string, entry: CachedFile): void {
  const ext = path.extname(file);
  const gzip = entry.gzipped !== undefined && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  const body = gzip ? entry.gzipped! : entry.body;
  const hashed = file.includes(`${path.sep}assets${path.sep}`);
  const headers: Record<string, string | number> = {
    ...PLAYGROUND_SECURITY_HEADERS,
    'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (entry.gzipped) headers.vary = 'accept-encoding';
  if (gzip) headers['content-encoding'] = 'gzip';
  response.writeHead(200, headers);
  response.end(request.method === 'HEAD' ? undefined : body);
}

function notFound(response: ServerResponse): true {
  response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  response.end('Not found\n');
  return true;
}
