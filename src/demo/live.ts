/**
 * The demo's live-data definitions that DCRF and GraphQL share: the classroom groups and the chat
 * signal with its groups, so both protocols sort events the same way.
 */
import type { RowGrouping } from '../events/groups.js';
import type { Row } from '../events/records.js';
import { Signal } from '../dcrf/observers.js';
import { encodeValue } from '../dcrf/protocol.js';

/** The DCRF observer's name for the classroom groups. */
export const CLASSROOM_OBSERVER = 'classroom_change_handler';

/** A classroom belongs to its school's group and its own. */
export function classroomGroups(row: Row): string[] {
  return [`school__${String(row.school)}`, `pk__${String(row.id)}`];
}

/** The classroom groups as a row grouping, for GraphQL's `classroomActivity` (judged where events arrive). */
export const classroomGrouping: RowGrouping = { groupsOf: classroomGroups };

export interface JoinedChat {
  username: string;
  chat_id: unknown;
}

/** Sent when someone joins a chat; delivered at once to the chat's subscribers. */
export const joinedChat = new Signal<JoinedChat>('joined_chat');

/** The observer name behind the chat topics (also the action of its DCRF frames). */
export const CHAT_OBSERVER = 'joined_chat';

/** A chat's group: the id with its JSON type, so chat 7 and chat "7" stay apart as DCRF echoes them. */
export function chatGroup(chatId: unknown): string {
  return `chat__${encodeValue(chatId)}`;
}
