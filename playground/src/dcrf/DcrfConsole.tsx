/**
 * The DCRF console: connect, pick a stream and an action from /api/streams, edit and send the
 * payload, watch every frame, and manage the subscriptions the replies opened.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { fetchStreams, type StreamDescription } from '../api';
import { DcrfConnection, socketUrl, type ConnectionMode } from './connection';
import {
  initialState,
  prefillPayload,
  recordDisconnect,
  recordIncoming,
  recordInfo,
  recordOutgoing,
  resumeFrame,
  unsubscribeFrame,
  type ConsoleState,
  type Subscription,
} from './frames';
import { FrameLog } from './FrameLog';
import { SubscriptionList } from './SubscriptionList';

type Status = 'disconnected' | 'connecting' | 'connected';

export function DcrfConsole({ token }: { token: string }) {
  const [streams, setStreams] = useState<StreamDescription[]>([]);
  const [streamsError, setStreamsError] = useState<string>();
  const [mode, setMode] = useState<ConnectionMode>('multiplex');
  const [stream, setStream] = useState('');
  const [action, setAction] = useState('');
  const [payload, setPayload] = useState('');
  const [status, setStatus] = useState<Status>('disconnected');
  const [state, setState] = useState<ConsoleState>(initialState);
  const stateRef = useRef(state);
  const connection = useRef<DcrfConnection | null>(null);
  // The stream a single-stream socket is bound to (the picker may not change it while connected).
  const [boundStream, setBoundStream] = useState<string>();

  // The bookkeeping is synchronous (a send needs its request_id now); rendering waits for the next
  // frame, so a burst of events costs one render, not one per frame.
  const renderQueued = useRef(false);
  const update = useCallback((change: (state: ConsoleState) => ConsoleState) => {
    stateRef.current = change(stateRef.current);
    if (renderQueued.current) return;
    renderQueued.current = true;
    requestAnimationFrame(() => {
      renderQueued.current = false;
      setState(stateRef.current);
    });
  }, []);

  const actionsOf = useCallback((name: string) => streams.find((s) => s.name === name)?.actions.map((a) => a.name), [streams]);
  const actionsRef = useRef(actionsOf);
  actionsRef.current = actionsOf;

  useEffect(() => {
    fetchStreams()
      .then((list) => {
        setStreams(list);
        if (list[0]) setStream(list[0].name);
      })
      .catch((error: Error) => setStreamsError(error.message));
  }, []);

  const current = streams.find((s) => s.name === stream);
  const currentAction = current?.actions.find((a) => a.name === action);

  // A new stream starts on its first action; a new action gets a fresh payload from its args.
  useEffect(() => {
    if (current && !current.actions.some((a) => a.name === action)) setAction(current.actions[0]?.name ?? '');
  }, [current, action]);
  useEffect(() => {
    if (!currentAction) return;
    setPayload(JSON.stringify(prefillPayload(currentAction.name, currentAction.args, stateRef.current.lastObject[stream]), null, 2));
  }, [currentAction, stream]);

  useEffect(() => () => connection.current?.close(), []);

  const connect = () => {
    const target = { mode, stream: mode === 'single' ? stream : undefined, token: token || undefined };
    const url = socketUrl(target, window.location);
    setStatus('connecting');
    setBoundStream(target.stream);
    update((s) => recordInfo(s, `connecting to ${url.replace(/token=[^&]*/, 'token=…')}`));
    const socket = new DcrfConnection(target, url, {
      open: () => {
        setStatus('connected');
        update((s) => recordInfo(s, 'connected'));
      },
      frame: (frameStream, frame) => update((s) => recordIncoming(s, frameStream, frame, (name) => actionsRef.current(name))),
      text: (data) => update((s) => recordInfo(s, `text frame that is not JSON: ${data.slice(0, 200)}`, true)),
      close: (code, reason, wasOpen) => {
        if (connection.current === socket) connection.current = null;
        setStatus('disconnected');
        setBoundStream(undefined);
        const why = wasOpen
          ? `closed (${code}${reason ? ` ${reason}` : ''})`
          : `refused or unreachable (${code}): the gateway answered the upgrade with an error, e.g. 401 for an unknown token, 403 for a refused connection`;
        update((s) => recordDisconnect(recordInfo(s, why, code !== 1000)));
      },
    });
    connection.current = socket;
  };

  const disconnect = () => connection.current?.close();

  const parsed = useMemo((): { frame?: Record<string, unknown>; error?: string } => {
    try {
      const value: unknown = JSON.parse(payload);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'The payload must be a JSON object.' };
      return { frame: value as Record<string, unknown> };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }, [payload]);

  const sendOn = (targetStream: string, frame: Record<string, unknown>) => {
    const socket = connection.current;
    if (!socket?.isOpen) return;
    let sent: Record<string, unknown> = frame;
    update((s) => {
      const [next, withId] = recordOutgoing(s, targetStream, frame);
      sent = withId;
      return next;
    });
    socket.send(targetStream, sent);
  };

  const send = () => {
    if (parsed.frame) sendOn(boundStream ?? stream, parsed.frame);
  };

  const unsubscribe = (subscription: Subscription) => {
    const frame = unsubscribeFrame(subscription);
    if (frame) sendOn(subscription.stream, frame);
  };

  const resume = (subscription: Subscription) => {
    const frame = resumeFrame(subscription);
    if (frame) sendOn(subscription.stream, frame);
  };

  const connected = status === 'connected';
  const streamLocked = boundStream !== undefined;
  const target = { mode, stream: mode === 'single' ? stream : undefined, token: token || undefined };

  return (
    <div className="console">
      <div className="connection-bar">
        <label>
          Socket
          <select
            aria-label="Socket"
            value={mode}
            disabled={status !== 'disconnected'}
            onChange={(event) => setMode(event.target.value as ConnectionMode)}
          >
            <option value="multiplex">multiplexed /ws</option>
            <option value="single">single stream /ws/&lt;stream&gt;</option>
          </select>
        </label>
        <code className="socket-url">
          {socketUrl({ ...target, token: undefined }, window.location)}
          {token ? '?token=…' : ''}
        </code>
        {status === 'disconnected' ? (
          <button type="button" className="primary" onClick={connect} disabled={mode === 'single' && !stream}>
            Connect
          </button>
        ) : (
          <button type="button" onClick={disconnect}>
            Disconnect
          </button>
        )}
        <span className={`status status-${status}`} role="status" aria-label="Connection status">
          {status}
        </span>
      </div>

      <div className="console-grid">
        <section className="pane request-pane" aria-label="Request">
          <h2>Request</h2>
          {streamsError && <p className="error-text">Could not load the streams: {streamsError}</p>}
          <label>
            Stream
            <select
              aria-label="Stream"
              value={boundStream ?? stream}
              disabled={streamLocked}
              onChange={(event) => setStream(event.target.value)}
            >
              {streams.map((s) => (
                <option key={s.name} value={s.name}>
                  {s.name}
                </option>
              ))}
            </select>
          </label>
          {streamLocked && <p className="hint">This socket serves only {boundStream}; disconnect to pick another stream.</p>}
          <label>
            Action
            <select aria-label="Action" value={action} onChange={(event) => setAction(event.target.value)}>
              {current?.actions.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.name}
                  {a.detached ? ' (detached)' : ''}
                </option>
              ))}
            </select>
          </label>
          {currentAction && (
            <p className="hint">
              Arguments: {currentAction.args.length ? currentAction.args.join(', ') : 'none declared'}. A request_id is added when the
              payload has none (next: {state.nextRequestId}).
            </p>
          )}
          <label className="payload-label">
            Payload
            <textarea
              aria-label="Payload"
              spellCheck={false}
              value={payload}
              onChange={(event) => setPayload(event.target.value)}
              onKeyDown={(event) => {
                if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
                  event.preventDefault();
                  send();
                }
              }}
            />
          </label>
          {parsed.error && <p className="error-text">{parsed.error}</p>}
          <div className="row">
            <button type="button" className="primary" onClick={send} disabled={!connected || !parsed.frame} title="Ctrl+Enter">
              Send
            </button>
            {!connected && <span className="hint">Connect first.</span>}
          </div>
        </section>

        <FrameLog log={state.log} onClear={() => update((s) => ({ ...s, log: [] }))} />

        <SubscriptionList
          subscriptions={state.subscriptions}
          log={state.log}
          connected={connected}
          onUnsubscribe={unsubscribe}
          resumable={state.resumable}
          onResume={resume}
        />
      </div>
    </div>
  );
}
