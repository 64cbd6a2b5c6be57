import type { Cleanups } from './e2e.js';
import { closeTestPostgres, testPostgres, type TestPostgres } from './postgres.js';

/**
 * The test PostgreSQL ({@link testPostgres}) for one test file, its pool closed by `file` when
 * the file's tests end. Call in the file's `beforeAll`.
 */
export async function testPostgresForFile(file: Cleanups): Promise<TestPostgres> {
  const db = await testPostgres();
  file.add(() => closeTestPostgres());
  return db;
}
