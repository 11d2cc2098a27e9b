/**
 * The playground shell: a DCRF console and a GraphQL tab over the same gateway, sharing one token.
 * The GraphQL tab (GraphiQL and Monaco, most of the bundle) loads the first time it is opened.
 */
import { lazy, Suspense, useEffect, useState } from 'react';
import { DcrfConsole } from './dcrf/DcrfConsole';

const GraphQLTab = lazy(() => import('./graphql/GraphQLTab'));

type Tab = 'dcrf' | 'graphql';

function tabFromHash(): Tab {
  return location.hash === '#graphql' ? 'graphql' : 'dcrf';
}

export function App() {
  const [tab, setTab] = useState<Tab>(tabFromHash);
  const [graphqlOpened, setGraphqlOpened] = useState(tab === 'graphql');
  const [token, setToken] = useState('');

  useEffect(() => {
    const onHash = () => setTab(tabFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const open = (next: Tab) => {
    setTab(next);
    if (next === 'graphql') setGraphqlOpened(true);
    history.replaceState(null, '', next === 'graphql' ? '#graphql' : location.pathname + location.search);
  };

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">
          dcrf-gateway <span className="brand-sub">playground</span>
        </span>
        <div className="tabs" role="tablist">
          <button
            type="button"
            role="tab"
            aria-selected={tab === 'dcrf'}
            className={tab === 'dcrf' ? 'tab active' : 'tab'}
            onClick={() => open('dcrf')}
          >
            DCRF console
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={tab === 'graphql'}
            className={tab === 'graphql' ? 'tab active' : 'tab'}
            onClick={() => open('graphql')}
          >
            GraphQL
          </button>
        </div>
        <label className="token">
          Token
          <input
            aria-label="Token"
            type="password"
            placeholder="anonymous"
            value={token}
            autoComplete="off"
            onChange={(event) => setToken(event.target.value.trim())}
          />
        </label>
      </header>
      <main className="panels">
        {/* Both tabs stay mounted once opened, so sockets, logs and editors survive switching. */}
        <section className="panel" hidden={tab !== 'dcrf'} role="tabpanel" aria-label="DCRF console">
          <DcrfConsole token={token} />
        </section>
        {graphqlOpened && (
          <section className="panel" hidden={tab !== 'graphql'} role="tabpanel" aria-label="GraphQL">
            <Suspense fallback={<div className="loading">Loading the GraphQL editor…</div>}>
              <GraphQLTab token={token} />
            </Suspense>
          </section>
        )}
      </main>
    </div>
  );
}
