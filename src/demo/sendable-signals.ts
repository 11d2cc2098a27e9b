/**
 * The demo's signals other services may send through `POST /signals/<name>` (SIGNAL_TOKEN): a
 * `joined_chat` sent from outside reaches DCRF `subscribe_joined` and GraphQL `joinedChat`
 * subscribers exactly as a `join_chat` from a socket does.
 */
import { CharField, Field } from '../serializers/fields.js';
import { Serializer } from '../serializers/serializer.js';
import type { SendableSignal } from '../server/signal-endpoint.js';
import { joinedChat } from './live.js';

/**
 * A chat id as DCRF clients send it, with its JSON type: a whole number or a non-empty string (7 and
 * "7" are different chats, as in `join_chat`).
 */
class ChatIdField extends Field<number | string> {
  static override defaultErrorMessages: Record<string, string> = {
    ...Field.defaultErrorMessages,
    invalid: 'A chat id is a whole number or a string of 1 to 100 characters.',
  };

  override toInternal(value: unknown): unknown {
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    if (typeof value === 'string' && value.length > 0 && value.length <= 100) return value;
    return this.fail('invalid');
  }
}

/** The payload of `joined_chat`: who joined which chat (the fields `join_chat` sends, in its order). */
export class JoinedChatSerializer extends Serializer {
  static override fields = {
    username: new CharField({ maxLength: 150 }),
    chat_id: new ChatIdField(),
  };
}

/** What the demo lets other services send. */
export const demoSendableSignals: readonly SendableSignal[] = [{ signal: joinedChat, serializer: new JoinedChatSerializer() }];
