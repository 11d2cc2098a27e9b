/**
 * The demo's nested fields, `School.classrooms(limit, offset)` and `Classroom.school`: each level of
 * a response is one query for all its parents (batch-loader.ts), and each school's classrooms are
 * paged in that query, so no parent can make another's page large.
 */
import { raw } from 'objection';
import { Classroom } from './models.js';
import { classroomResource, schoolResource } from './resources.js';
import { NotFound } from '../errors.js';
import { resolveLimit, resolveOffset } from '../resources/pagination.js';
import { resourceCall, type AnyQuery } from '../resources/resource.js';
import type { Row } from '../serializers/serializer.js';
import { batchLoad } from '../graphql/batch-loader.js';
import { asCaller, listMaximum, type ResolverMap } from '../graphql/bind.js';
import type { PageSize } from '../graphql/document-measure.js';
import type { GraphQLContext } from '../graphql/engine.js';
import { CHANGE_MODELS_EXTENSION, readsModels } from '../graphql/positions.js';

type Args = Record<string, unknown>;

/** Resolvers of `School.classrooms` and `Classroom.school`. */
export function demoRelationResolvers(): ResolverMap {
  const max = listMaximum(classroomResource);
  return {
    School: {
      classrooms: {
        resolve: (parent: Row, args: Args, ctx: GraphQLContext) => {
          const limit = resolveLimit(args.limit, { defaultLimit: max, maxLimit: max });
          const offset = resolveOffset(args.offset);
          const load = (ids: readonly number[]) => classroomsOfSchools(ctx, ids, limit, offset);
          return asCaller(ctx, async () => (await batchLoad(ctx, `School.classrooms ${limit} ${offset}`, Number(parent.id), load)) ?? []);
        },
        extensions: { pageSize: { max } satisfies PageSize, [CHANGE_MODELS_EXTENSION]: [classroomResource.modelName] },
      },
    },
    Classroom: {
      school: readsModels([schoolResource.modelName], (parent: Row, _args: Args, ctx: GraphQLContext) =>
        asCaller(ctx, async () => {
          const school = await batchLoad(ctx, 'Classroom.school', Number(parent.school), (ids: readonly number[]) => schoolsById(ctx, ids));
          if (!school) throw new NotFound();
          return school;
        }),
      ),
    },
  };
}

/** The classrooms of several schools, each school's from `offset`, at most `limit`, by id. */
async function classroomsOfSchools(
  ctx: GraphQLContext,
  schoolIds: readonly number[],
  limit: number,
  offset: number,
): Promise<Map<number, Row[]>> {
  const rows = await classroomResource.list(
    resourceCall(ctx.scope, {}, { hooks: { filterQueryset: (query) => pageEachSchool(query, schoolIds, limit, offset) } }),
  );
  const bySchool = new Map<number, Row[]>();
  for (const row of rows) {
    const school = Number(row.school);
    let list = bySchool.get(school);
    if (!list) bySchool.set(school, (list = []));
    list.push(row);
  }
  return bySchool;
}

/**
 * The caller's classrooms of those schools, numbered within each school by id (a window function,
 * SQLite and PostgreSQL alike), kept from `offset` to `offset + limit`. The outer query keeps the
 * table's name, so the resource still orders it by `classrooms.id`.
 */
function pageEachSchool(query: AnyQuery, schoolIds: readonly number[], limit: number, offset: number): AnyQuery {
  const ranked = query
    .whereIn('classrooms.school', [...schoolIds])
    .select('classrooms.*', raw('row_number() over (partition by ?? order by ??) as school_rank', ['classrooms.school', 'classrooms.id']));
  return Classroom.query()
    .from(ranked.toKnexQuery().as('classrooms'))
    .where('school_rank', '>', offset)
    .where('school_rank', '<=', offset + limit) as unknown as AnyQuery;
}

/** The caller's schools with these ids, by id. */
async function schoolsById(ctx: GraphQLContext, ids: readonly number[]): Promise<Map<number, Row>> {
  const rows = await schoolResource.list(
    resourceCall(ctx.scope, {}, { hooks: { filterQueryset: (query) => query.whereIn('schools.id', [...ids]) as AnyQuery } }),
  );
  return new Map(rows.map((row) => [Number(row.id), row]));
}
