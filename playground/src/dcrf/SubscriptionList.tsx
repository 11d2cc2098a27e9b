/**
 * Subscriptions opened by successful subscribe_* replies, each with its events (and their positions) and
 * an unsubscribe button; below them, the subscriptions with a position a closed socket ended, each with
 * "Resume from here" (enabled once connected again).
 */
import type { ReactNode } from 'react';
import type { LogEntry, Subscription } from './frames';
import { JsonView } from './JsonView';

interface Props {
  subscriptions: Subscription[];
  log: LogEntry[];
  connected: boolean;
  onUnsubscribe(subscription: Subscription): void;
  /** Subscriptions a closed socket ended that can resume since their last position. */
  resumable: Subscription[];
  onResume(subscription: Subscription): void;
}

export function SubscriptionList({ subscriptions, log, connected, onUnsubscribe, resumable, onResume }: Props) {
  const byId = new Map(log.map((entry) => [entry.id, entry]));
  return (
    <section className="pane subscriptions-pane" aria-label="Subscriptions">
      <div className="pane-head">
        <h2>Subscriptions</h2>
        <span className="hint">{subscriptions.length} active</span>
      </div>
      <div className="subscriptions">
        {subscriptions.length === 0 && (
          <p className="hint empty">A successful subscribe_* reply opens a subscription here; its events are grouped under it.</p>
        )}
        {subscriptions.map((subscription) => {
          const events = subscription.events.map((id) => byId.get(id)).filter((entry): entry is LogEntry => entry !== undefined);
          const { action: _action, request_id: _requestId, ...args } = subscription.args;
          return (
            <article
              className="subscription"
              key={`${subscription.key}/${subscription.action}`}
              data-stream={subscription.stream}
              data-action={subscription.action}
            >
              <SubscriptionHeader subscription={subscription} args={args}>
                <button
                  type="button"
                  className="small"
                  disabled={!connected || !subscription.unsubscribeAction}
                  title={
                    subscription.unsubscribeAction
                      ? `sends ${subscription.unsubscribeAction}`
                      : 'this stream has no matching unsubscribe action'
                  }
                  onClick={() => onUnsubscribe(subscription)}
                >
                  Unsubscribe
                </button>
              </SubscriptionHeader>
              <p className="hint">
                {subscription.events.length} event{subscription.events.length === 1 ? '' : 's'}
                {subscription.lastPosition !== undefined && <span className="position"> · last position {subscription.lastPosition}</span>}
              </p>
              <ol className="events">
                {events.map((entry) => (
                  <li key={entry.id} className={entry.error ? 'event log-error' : 'event'} data-action={entry.action ?? ''}>
                    <span className="time">{entry.time}</span>
                    <span className="action-name">{entry.action}</span>
                    {entry.status !== undefined && (
                      <span className={`badge status-code ${entry.error ? 'bad' : 'good'}`}>{entry.status}</span>
                    )}
                    {entry.position !== undefined && (
                      <span className="badge position" title="change-log position">
                        {entry.position}
                      </span>
                    )}
                    <JsonView value={(entry.frame as { data?: unknown } | null)?.data ?? entry.frame} />
                  </li>
                ))}
              </ol>
            </article>
          );
        })}
        {resumable.map((subscription) => {
          // The `since` it was made with is stale: resuming sends its last position instead.
          const { action: _action, request_id: _requestId, since: _since, ...args } = subscription.args;
          return (
            <article
              className="subscription ended"
              key={`ended/${subscription.key}/${subscription.action}`}
              data-stream={subscription.stream}
              data-action={subscription.action}
            >
              <SubscriptionHeader subscription={subscription} args={args}>
                <button
                  type="button"
                  className="small"
                  disabled={!connected}
                  title={`sends ${subscription.action} since ${subscription.lastPosition}: the events missed while disconnected, then live ones`}
                  onClick={() => onResume(subscription)}
                >
                  Resume from here
                </button>
              </SubscriptionHeader>
              <p className="hint">Ended when the socket closed, at position {subscription.lastPosition}.</p>
            </article>
          );
        })}
      </div>
    </section>
  );
}

/** A subscription's stream, action, the arguments given, and request id, then its button. */
function SubscriptionHeader({ subscription, args, children }: { subscription: Subscription; args: object; children: ReactNode }) {
  return (
    <header>
      <span className="badge stream">{subscription.stream}</span>
      <span className="action-name">{subscription.action}</span>
      <code className="sub-args">{JSON.stringify(args)}</code>
      <span className="request-id">request_id {JSON.stringify(subscription.requestId)}</span>
      {children}
    </header>
  );
}
