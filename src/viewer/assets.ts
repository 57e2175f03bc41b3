/**
 * The viewer page's files: the HTML, a style sheet and plain ES modules in
 * src/viewer/web/, served as committed (the user runs no build step). Read
 * once when the server starts and served from memory by name: a request path
 * never reaches the file system.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Asset } from '../serve/viewer-types.js';

/** web/ beside this file: src/viewer/web/, or its copy in dist/viewer/web/ (`npm run build` copies it, so dist/ needs no src/). */
export const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** URL path -> file: index.html is `/`, every other file `/viewer/<name>`. Files of other types (the folder's tsconfig.json) are not served. */
export async function loadViewerAssets(dir = WEB_DIR): Promise<ReadonlyMap<string, Asset>> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    throw new ConfigError('viewer.enabled', `the viewer's files are missing (${errorMessage(err)}); reinstall, or set viewer.enabled: false`, { cause: err });
  }
  const assets = new Map<string, Asset>();
  for (const name of names) {
    const type = TYPES[path.extname(name)];
    if (!type) continue;
    const body = await readFile(path.join(dir, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name === 'index.html' ? '/' : `/viewer/${name}`, { body, type, etag });
  }
  if (!assets.has('/')) throw new ConfigError('viewer.enabled', `the viewer has no index.html in ${dir}; reinstall, or set viewer.enabled: false`);
  return assets;
}
