import { captureMigration } from '../../events/capture/migration.js';
import { Classroom, Thing } from '../models.js';

/**
 * Things and classrooms are captured by the database (their models say `capture = 'database'`): a write
 * from `psql`, the `sqlite3` shell or another service reaches their subscribers like one made through
 * the gateway.
 */
export const capture = captureMigration('0005-capture', [Thing, Classroom]);
