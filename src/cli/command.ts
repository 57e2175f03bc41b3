/** One CLI subcommand. `run` returns the process exit code; it never calls process.exit. */
export interface Command {
  name: string;
  /** One line for `neulens help`. */
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

/** Exit codes shared by all commands. */
export const EXIT = {
  ok: 0,
  failure: 1,
  /** Bad configuration or bad usage: the user must change what they typed. */
  usage: 2,
} as const;
