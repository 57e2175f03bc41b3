/**
 * The folder-direction check (.dependency-cruiser.cjs, run by `npm test` as
 * `lint:deps`) must be able to fail: a deliberately reversed import in a
 * scratch tree is reported, the same import the right way round is not.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
// The package's exports do not include its bin, so it is found where npm puts it.
const depcruise = path.join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const dirs: string[] = [];

/** A scratch house: the project's rules, and `files` (path -> text) under src/. */
function house(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'neulens-house-'));
  dirs.push(dir);
  cpSync(path.join(root, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] }));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

async function cruise(dir: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [depcruise, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: dir });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('folder layers', () => {
  it('reports a lower layer importing a higher one (core -> cli)', async () => {
    const dir = house({
      'src/core/low.ts': "import { high } from '../cli/high.js';\nexport const low = high + 1;\n",
      'src/cli/high.ts': 'export const high = 1;\n',
    });
    const r = await cruise(dir);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('layer-core');
    expect(r.out).toContain('src/core/low.ts');
  });

  it('accepts the same import the right way round (cli -> core)', async () => {
    const dir = house({
      'src/cli/high.ts': "import { low } from '../core/low.js';\nexport const high = low + 1;\n",
      'src/core/low.ts': 'export const low = 1;\n',
    });
    const r = await cruise(dir);
    expect(r.out).toContain('no dependency violations');
    expect(r.code).toBe(0);
  });

  it('reports a folder that is not a layer, and a loop inside one', async () => {
    const dir = house({
      'src/misc/x.ts': 'export const x = 1;\n',
      'src/core/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/core/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    });
    const r = await cruise(dir);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('unknown-folder');
    expect(r.out).toContain('no-circular');
  });
});
