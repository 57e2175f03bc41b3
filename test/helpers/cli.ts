/**
 * The real CLI in its own process (`node bin/neulens.js ...`, the compiled
 * dist/), for tests that send it signals or run it as another user. Its
 * output is kept whole (the service logs no line per frame) for assertions
 * and failure messages; whatever a test leaves running is killed by
 * `dispose`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, getJson, waitForAsync } from './service.js';

export const BIN = path.join(REPO_ROOT, 'bin/neulens.js');

export interface Running {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
  /** Kills it if it still runs, and waits for it. */
  dispose: () => Promise<void>;
}

/** `prefix` runs before node (e.g. setpriv to drop to another user). */
export function runCli(args: string[], prefix: string[] = []): Running {
  const [cmd, ...rest] = [...prefix, process.execPath, BIN, ...args] as [string, ...string[]];
  const child = spawn(cmd, rest, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return {
    child,
    exited,
    output: () => out,
    dispose: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Waits for /readyz 200 on `port`; fails at once, with its output, if the process exits first. */
export async function waitReady(cli: Running, port: number, timeoutMs = 60_000): Promise<void> {
  let exited = false;
  void cli.exited.then(() => (exited = true));
  await waitForAsync(
    async () => {
      if (exited) throw new Error(`neulens exited before it was ready:\n${cli.output()}`);
      return getJson(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
    },
    timeoutMs,
    '/readyz 200',
    100,
  );
}

/** Waits until the output matches `re` (from `from` on). */
export async function waitOutput(cli: Running, re: RegExp, timeoutMs: number, what: string, from = 0): Promise<string> {
  let m: RegExpExecArray | null = null;
  await waitForAsync(async () => (m = re.exec(cli.output().slice(from))) !== null, timeoutMs, what);
  return (m as unknown as RegExpExecArray)[0];
}
