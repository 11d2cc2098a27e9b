/**
 * The GraphQL tab: GraphiQL over `/graphql`. Queries and mutations go over HTTP; subscriptions over
 * graphql-ws (`graphql-transport-ws`) on the same path. The token from the top bar is sent as an
 * Authorization header over HTTP and in `connection_init` over the socket.
 */
import { useMemo } from 'react';
import 'graphiql/setup-workers/vite';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import 'graphiql/style.css';

const DEFAULT_QUERY = `# Queries and mutations run over HTTP (POST /graphql), subscriptions over a
# WebSocket (graphql-transport-ws on /graphql). The token in the top bar goes with both.
# Run a subscription, then change a row from the DCRF console: the event shows up here.
# Every event has a position. To resume after a reconnect, pass the last one you kept (or the
# changePosition of your last read) as $after: the missed events come first, then live ones.

query Things {
  changePosition
  things {
    id
    name
    counter
  }
}

subscription ThingActivity($after: String) {
  thingActivity(after: $after) {
    action
    position
    data {
      id
      name
      counter
    }
  }
}
`;

/** The graphql-ws URL for the page's host. */
export function subscriptionUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
}

export default function GraphQLTab({ token }: { token: string }) {
  const fetcher = useMemo(() => {
    const authorization = token ? { authorization: `Bearer ${token}` } : undefined;
    return createGraphiQLFetcher({
      url: '/graphql',
      subscriptionUrl: subscriptionUrl(window.location),
      headers: authorization,
      wsConnectionParams: authorization,
    });
  }, [token]);

  return (
    <div className="graphiql-host">
      <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} forcedTheme="light" defaultEditorToolsVisibility={false} />
    </div>
  );
}
