/**
 * The demo's serialized shapes (docs/demo.md): Thing as `{pk, name, counter}` or `{id, name, counter}`,
 * Test `{id, name}`, User `{id, username, email}`, School `{id, name}`, Classroom `{id, name, school}`,
 * Note `{id, owner, text}` (the owner is the caller, never written by the client).
 */
import { modelSerializer } from '../serializers/model-serializer.js';
import { Classroom, Note, School, Test, Thing, User } from './models.js';

export const ThingSerializer = modelSerializer(Thing, { pkName: 'pk', fields: ['pk', 'name', 'counter'] });
export const ThingWithIdSerializer = modelSerializer(Thing, { fields: ['id', 'name', 'counter'] });
export const TestSerializer = modelSerializer(Test, { fields: ['id', 'name'] });
export const UserSerializer = modelSerializer(User, { fields: ['id', 'username', 'email'], unique: ['username'] });
export const SchoolSerializer = modelSerializer(School, { fields: ['id', 'name'] });
export const ClassroomSerializer = modelSerializer(Classroom, {
  fields: ['id', 'name', 'school'],
  relations: { school: () => School },
});
export const NoteSerializer = modelSerializer(Note, { fields: ['id', 'owner', 'text'], readOnly: ['owner'] });
