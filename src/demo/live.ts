/**
 * The demo's live-data definitions that DCRF and GraphQL share: the classroom groups and the chat signal.
 */
import type { Row } from '../events/records.js';
import { Signal } from '../dcrf/observers.js';

/** The observer name behind the classroom group topics. */
export const CLASSROOM_OBSERVER = 'classroom_change_handler';

/** A classroom belongs to its school's group and its own. */
export function classroomGroups(row: Row): string[] {
  return [`school__${String(row.school)}`, `pk__${String(row.id)}`];
}

export interface JoinedChat {
  username: string;
  chat_id: unknown;
}

/** Sent when someone joins a chat; delivered at once to the chat's subscribers. */
export const joinedChat = new Signal<JoinedChat>('joined_chat');
