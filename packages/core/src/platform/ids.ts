import { v7 } from 'uuid';

/** UUIDv7: time-ordered, so "newest first" is "highest id first" and ids make stable cursors. */
export const newId = (): string => v7();

/**
 * The one check that a string can be one of our ids, before it reaches a
 * `uuid` column: PostgreSQL refuses anything else with an error (a 500), while
 * a malformed id is simply an id we do not have (a 404). Any case, as
 * PostgreSQL compares uuids without it.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** The id inside a cursor, or null when the cursor is not one of ours. */
export function decodeCursor(cursor: string): string | null {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  return isUuid(id) ? id : null;
}

/** A cursor over text keys (template keys, user ids): the last key of the page. */
export function encodeKeyCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

/**
 * The key inside a key cursor, or null when it cannot be one of ours: empty,
 * not UTF-8, or holding a NUL (which PostgreSQL text refuses with an error).
 */
export function decodeKeyCursor(cursor: string): string | null {
  const bytes = Buffer.from(cursor, 'base64url');
  const key = bytes.toString('utf8');
  if (key === '' || key.includes('\0') || key.includes('\uFFFD') || key.length > 1000) return null;
  return key;
}
