/** What the gateway serves, from `GET /api/streams` (any app built on the library answers it). */

export interface ActionDescription {
  name: string;
  detached: boolean;
  args: string[];
}

export interface StreamDescription {
  name: string;
  actions: ActionDescription[];
}

export async function fetchStreams(): Promise<StreamDescription[]> {
  const response = await fetch('/api/streams', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET /api/streams answered ${response.status}`);
  const body = (await response.json()) as { streams?: StreamDescription[] };
  return body.streams ?? [];
}
