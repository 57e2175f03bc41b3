import type { Command } from '../command.js';
import { watchCommand } from './watch.js';
import { configCommand } from './config.js';
import { detectCommand } from './detect.js';
import { serveCommand } from './serve.js';
import { benchPackCommand } from './bench-pack.js';

/** Every subcommand; each lives in its own file beside this one. */
export const commands: Command[] = [serveCommand, detectCommand, benchPackCommand, configCommand, watchCommand];
