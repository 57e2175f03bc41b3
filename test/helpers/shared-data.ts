/**
 * The development data beside the repository (`../shared/data`, never
 * committed). A user's fresh clone may lack it: tests that need it skip with
 * a visible message. CI always has it, so there its absence fails the file
 * instead of skipping it silently.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED_DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data');

/** `rel` under ../shared/data, or undefined (after saying why) when it is absent outside CI. */
export function sharedData(rel: string): string | undefined {
  const file = path.join(SHARED_DATA, rel);
  if (existsSync(file)) return file;
  const why = `${file} is missing (development data, ../shared/data beside the repository)`;
  if (process.env.CI) throw new Error(`${why}; CI must have it`);
  console.warn(`skipping: ${why}`);
  return undefined;
}
