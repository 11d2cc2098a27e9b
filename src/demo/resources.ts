/**
 * The demo's resources: one per model, shared by the DCRF consumers and the GraphQL resolvers.
 */
import { AllowAny, IsAuthenticated } from '../permissions.js';
import { Resource } from '../resources/resource.js';
import type { ColumnValue } from '../resources/row-scope.js';
import { Classroom, Note, School, Test, Thing, User } from './models.js';
import { ClassroomSerializer, NoteSerializer, SchoolSerializer, TestSerializer, ThingSerializer, UserSerializer } from './serializers.js';

export const thingResource = new Resource({ model: Thing, serializer: ThingSerializer, permissions: [AllowAny] });
export const testResource = new Resource({ model: Test, serializer: TestSerializer, permissions: [AllowAny] });
export const userResource = new Resource({
  model: User,
  serializer: UserSerializer,
  permissions: [IsAuthenticated],
  pagination: { defaultLimit: 2, maxLimit: 100 },
});
export const schoolResource = new Resource({
  model: School,
  serializer: SchoolSerializer,
  permissions: [AllowAny],
  pagination: { defaultLimit: 10 },
});
export const classroomResource = new Resource({ model: Classroom, serializer: ClassroomSerializer, permissions: [AllowAny] });

/**
 * Notes: each user sees, changes and hears of their own notes only (lists, lookups, every subscription
 * kind); a create always belongs to the caller. Another user's note is a miss like a missing one, with
 * the message docs/demo.md gives this stream.
 */
export const noteResource = new Resource({
  model: Note,
  serializer: NoteSerializer,
  permissions: [IsAuthenticated],
  scope: ({ user }) => (user ? { owner: user.id as ColumnValue } : false),
  createWith: ({ user }) => ({ owner: user?.id }),
  notFoundDetail: 'Not found.',
});
