/** A frame on one line, expandable to indented JSON. */
export function JsonView({ value }: { value: unknown }) {
  const line = JSON.stringify(value) ?? 'undefined';
  return (
    <details className="json">
      <summary>
        <code>{line}</code>
      </summary>
      <pre>{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}
