/**
 * Subprotocol negotiation, in one place: the order of preference decides both the subprotocol a
 * socket's handshake echoes and which protocol serves it.
 */
import { DCRF_SUBPROTOCOL } from '../dcrf/protocol.js';
import { GRAPHQL_TRANSPORT_WS, GRAPHQL_WS_LEGACY, type GraphQLSubprotocol } from '../graphql/gateway-adapter.js';

/** The protocol that serves a socket: a GraphQL one when offered, else DCRF (with or without the `dcrf` subprotocol). */
export type Negotiated = GraphQLSubprotocol | 'dcrf';

/** Subprotocols in order of preference: a socket that offers several gets the first of these. */
const PREFERENCE = [GRAPHQL_TRANSPORT_WS, GRAPHQL_WS_LEGACY, DCRF_SUBPROTOCOL] as const;

/** Parses a Sec-WebSocket-Protocol header into the set of offered names. */
export function parseProtocols(header: string | string[] | undefined): Set<string> {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  return new Set(
    text
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  );
}

/** The subprotocol to echo: GraphQL's current, then legacy, then `dcrf` if offered; none otherwise. */
export function pickProtocol(offered: ReadonlySet<string>): (typeof PREFERENCE)[number] | undefined {
  return PREFERENCE.find((name) => offered.has(name));
}

/** The protocol that serves a socket which offered these subprotocols. */
export function negotiate(offered: ReadonlySet<string>): Negotiated {
  const picked = pickProtocol(offered);
  return picked === undefined || picked === DCRF_SUBPROTOCOL ? 'dcrf' : picked;
}
