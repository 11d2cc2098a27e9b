/**
 * The DCRF answer to a truncate (docs/positions.md, "A table emptied"): every subscription of the
 * model gets one `resync` event per subscribing request id,
 * `{"errors": ["<model> was emptied (TRUNCATE): read again and subscribe since the position of that read."],
 * "data": null, "action": "resync", "response_status": 205, "request_id": <id>}` (with `"position"` when
 * the subscription was made `since`), whatever rows it may see: it names none. The subscription stays:
 * later changes arrive as before.
 */
import type { ChangeHub, ChangeMessage } from '../events/hub.js';
import { resyncReason } from '../events/records.js';
import { eventPrefix, STATUS } from './protocol.js';

/** The action of the event that tells a subscriber to read again. */
export const RESYNC_ACTION = 'resync';

/** Memo key of the resync frame (one per message in this process, shared by every subscriber). */
const RESYNC_FRAME = { kind: 'resync' };

/** The resync event's text without the request id, built once per message. */
export function resyncPrefix(hub: ChangeHub, message: ChangeMessage): string {
  return hub.memo(message, RESYNC_FRAME, () => eventPrefix(RESYNC_ACTION, 'null', STATUS.resetContent, [resyncReason(message.model)]));
}
