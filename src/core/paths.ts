import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (works from src/ under tsx/vitest and from dist/ once built). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const DEFAULT_PACK_DIR = path.join(PACKAGE_ROOT, 'models', 'nanodet-g');
