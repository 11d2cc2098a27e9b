/** The live log of frames in and out; replies point at their request, errors are red. */
import { memo, useEffect, useRef } from 'react';
import type { LogEntry } from './frames';
import { JsonView } from './JsonView';

const ARROWS = { out: '→', in: '←', info: '•' } as const;

export function FrameLog({ log, onClear }: { log: LogEntry[]; onClear(): void }) {
  const bottom = useRef<HTMLDivElement>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  // Follow new frames unless the reader has scrolled up (the effect runs on each new log, not reading it).
  // biome-ignore lint/correctness/useExhaustiveDependencies: `log` is the trigger, not an input
  useEffect(() => {
    if (stick.current) bottom.current?.scrollIntoView({ block: 'end' });
  }, [log]);

  return (
    <section className="pane log-pane" aria-label="Frames">
      <div className="pane-head">
        <h2>Frames</h2>
        <span className="hint">{log.length} shown</span>
        <button type="button" className="small" onClick={onClear}>
          Clear
        </button>
      </div>
      <div
        className="log"
        ref={scroller}
        onScroll={(event) => {
          const el = event.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {log.length === 0 && <p className="hint empty">No frames yet. Connect, pick an action and send it.</p>}
        {log.map((entry) => (
          <LogRow key={entry.id} entry={entry} />
        ))}
        <div ref={bottom} />
      </div>
    </section>
  );
}

// Entries are immutable (a changed one is a new object), so unchanged rows skip re-rendering.
const LogRow = memo(function LogRow({ entry }: { entry: LogEntry }) {
  const classes = ['log-entry', `log-${entry.direction}`, `kind-${entry.kind}`];
  if (entry.error) classes.push('log-error');
  if (entry.kind === 'info') {
    return (
      <div className={classes.join(' ')} data-kind="info">
        <span className="arrow">{ARROWS.info}</span>
        <span className="time">{entry.time}</span>
        <span className="info-text">{entry.text}</span>
      </div>
    );
  }
  return (
    <div
      className={classes.join(' ')}
      id={`frame-${entry.id}`}
      data-kind={entry.kind}
      data-action={entry.action ?? ''}
      data-status={entry.status ?? ''}
    >
      <div className="log-line">
        <span className="arrow" title={entry.direction === 'out' ? 'sent' : 'received'}>
          {ARROWS[entry.direction]}
        </span>
        <span className="time">{entry.time}</span>
        {entry.stream && <span className="badge stream">{entry.stream}</span>}
        <span className="action-name">{entry.action ?? '(no action)'}</span>
        {entry.status !== undefined && <span className={`badge status-code ${entry.error ? 'bad' : 'good'}`}>{entry.status}</span>}
        <span className="kind">{kindLabel(entry)}</span>
        {entry.requestId !== undefined && entry.requestId !== null && (
          <span className="request-id">request_id {JSON.stringify(entry.requestId)}</span>
        )}
        {entry.position !== undefined && (
          <span className="badge position" title="change-log position">
            position {entry.position}
          </span>
        )}
        {entry.replies && entry.replies.length > 0 && <span className="replies">replied {entry.replies.join(', ')}</span>}
        {entry.kind === 'reply' && entry.replyTo !== undefined && (
          <a className="reply-link" href={`#frame-${entry.replyTo}`} onClick={(event) => jump(event, entry.replyTo!)}>
            ↩ to request
          </a>
        )}
      </div>
      <JsonView value={entry.frame} />
    </div>
  );
});

function kindLabel(entry: LogEntry): string {
  if (entry.kind === 'reply') return 'reply';
  if (entry.kind === 'event') return 'event';
  if (entry.kind === 'request') return 'request';
  return entry.direction === 'in' ? 'frame' : '';
}

function jump(event: { preventDefault(): void }, id: number) {
  event.preventDefault();
  const target = document.getElementById(`frame-${id}`);
  target?.scrollIntoView({ block: 'center' });
  target?.classList.add('flash');
  setTimeout(() => target?.classList.remove('flash'), 1200);
}
