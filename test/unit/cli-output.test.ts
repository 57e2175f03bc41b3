/** Output options are checked before any work: a bad path is a usage error naming the option. */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareOutput } from '../../src/cli/args.js';
import { main } from '../../src/cli/main.js';
import { InputError } from '../../src/core/errors.js';

describe('prepareOutput', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'neulens-out-'));
    await writeFile(path.join(dir, 'a-file'), 'x');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the folder of a new file', async () => {
    await prepareOutput('--json', path.join(dir, 'new', 'deeper', 'r.json'));
    expect((await stat(path.join(dir, 'new', 'deeper'))).isDirectory()).toBe(true);
  });

  it('refuses a path under a file, and a folder, naming the option', async () => {
    await expect(prepareOutput('--json', path.join(dir, 'a-file', 'r.json'))).rejects.toThrow(InputError);
    await expect(prepareOutput('--plot', path.join(dir, 'a-file', 'p.svg'))).rejects.toThrow(/^--plot .*a-file\/p\.svg: cannot write there/);
    await expect(prepareOutput('--json', dir)).rejects.toThrow(/is a folder, not a file/);
  });

  it('bench and eval-images stop with exit 2 before loading anything', async () => {
    const bad = path.join(dir, 'a-file', 'r.json');
    expect(await main(['bench', 'samples/parade.mp4', '--strategies', 'full', '--json', bad])).toBe(2);
    expect(await main(['eval-images', 'samples', '--labels', 'x', '--json', bad])).toBe(2);
  });
});
