/**
 * The real dcrf-client (0.3.0, CommonJS, multiplexed on /ws) connected to a test app.
 */
import { QuietWebSocket } from './app.js';

/** The parts of dcrf-client's client the tests use. */
export type DcrfClient = {
  initialize(): void;
  close(unsubscribe?: boolean): void;
  list(stream: string, data?: object): Promise<any>;
  create(stream: string, props: object): Promise<any>;
  retrieve(stream: string, pk: number): Promise<any>;
  update(stream: string, pk: number, props: object): Promise<any>;
  patch(stream: string, pk: number, props: object): Promise<any>;
  delete(stream: string, pk: number): Promise<any>;
  request(stream: string, payload: object, requestId?: string): Promise<any>;
  subscribe(
    stream: string,
    pk: number,
    callback: (data: any, action: string) => void,
    requestId?: string,
  ): Promise<any> & { cancel(): boolean };
  dispatcher: { listen(selector: object, handler: (message: any) => void): number; cancel(id: number): boolean };
};

/** A dcrf-client on `<wsUrl>/ws` with `pkField`, no reconnects, initialized. */
export async function connectDcrfClient(wsUrl: string, pkField: string): Promise<DcrfClient> {
  const DCRF = (await import('dcrf-client')).default as unknown as { createClient(url: string, options: object): DcrfClient };
  const client = DCRF.createClient(`${wsUrl}/ws`, { pkField, websocket: { WebSocket: QuietWebSocket, maxRetries: 0 } });
  client.initialize();
  return client;
}
