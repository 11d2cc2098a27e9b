/**
 * The demo's live-data definitions that DCRF and GraphQL share: the classroom groups and the chat
 * signal with its groups. Both protocols read the same topics, so the names live here once.
 */
import type { Row } from '../events/records.js';
import { registerGroups } from '../events/hub.js';
import { Signal } from '../dcrf/observers.js';
import { encodeValue } from '../dcrf/protocol.js';
import { Classroom } from './models.js';

/** The observer name behind the classroom group topics. */
export const CLASSROOM_OBSERVER = 'classroom_change_handler';

/** A classroom belongs to its school's group and its own. */
export function classroomGroups(row: Row): string[] {
  return [`school__${String(row.school)}`, `pk__${String(row.id)}`];
}

// Declared here as well as by the DCRF observer, so a process serving only GraphQL still publishes
// the classroom group topics.
registerGroups(Classroom.changeName, CLASSROOM_OBSERVER, classroomGroups);

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
