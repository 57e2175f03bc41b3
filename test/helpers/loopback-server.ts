/**
 * One owner for a real server process a test starts on a loopback port
 * (mosquitto, nats-server): spawn, wait until it accepts connections, stop
 * it (the server going away) and start it again on the same port and files
 * (it coming back), and kill it and remove its folder at the end, or when
 * the test process exits, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';

export interface LoopbackServer {
  port: number;
  url: string;
  pid: number | undefined;
  /** Stop it (SIGTERM by default) and wait for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same port and files. */
  restart(): Promise<void>;
  /** Kill it and remove its folder (idempotent). */
  dispose(): Promise<void>;
  /** Its output so far, for failure messages. */
  log(): string;
}

export interface LoopbackServerOptions {
  /** For messages: 'mosquitto', 'nats-server'. */
  name: string;
  command: string;
  args: readonly string[];
  port: number;
  url: string;
  /** Its temporary folder, removed by dispose(). */
  dir: string;
}

const cleanups = new Set<() => void>();
process.once('exit', () => {
  for (const c of cleanups) c();
});

/** Starts the server and resolves once it accepts connections on `port` (10 s at most). */
export async function startLoopbackServer(o: LoopbackServerOptions): Promise<LoopbackServer> {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let out = '';
  const signal = (sig: NodeJS.Signals): void => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  const cleanup = (): void => {
    signal('SIGKILL');
    rmSync(o.dir, { recursive: true, force: true });
  };
  cleanups.add(cleanup);
  const start = async (): Promise<void> => {
    const c = spawn(o.command, o.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    exited = new Promise((resolve) => c.once('close', () => resolve()));
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    const deadline = Date.now() + 10_000;
    while (!(await accepts(o.port))) {
      if (c.exitCode !== null) throw new Error(`${o.name} exited (${c.exitCode}): ${out}`);
      if (Date.now() > deadline) throw new Error(`${o.name} did not listen on ${o.port} in 10 s: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await start();
  return {
    port: o.port,
    url: o.url,
    get pid() {
      return child?.pid;
    },
    async stop(sig: NodeJS.Signals = 'SIGTERM') {
      signal(sig);
      await exited;
    },
    restart: start,
    async dispose() {
      signal('SIGKILL');
      await exited;
      cleanup();
      cleanups.delete(cleanup);
    },
    log: () => out,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
