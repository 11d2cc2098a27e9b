/** A row as the database gives it, or a JSON object as a serializer shows it. */
export type Row = Record<string, unknown>;
