import type { Command } from '../command.js';
import { watchCommand } from './watch.js';
import { configCommand } from './config.js';
import { detectCommand } from './detect.js';
import { serveCommand } from './serve.js';
import { gatewayCommand } from './gateway.js';
import { benchPackCommand } from './bench-pack.js';
import { serveBenchCommand } from './serve-bench.js';
import { serveSloCommand } from './serve-slo.js';
import { labelCommand } from './label.js';
import { benchCommand, replayCommand } from './replay.js';
import { evalImagesCommand } from './eval-images.js';

/** Every subcommand; each lives in its own file beside this one. */
export const commands: Command[] = [serveCommand, gatewayCommand, detectCommand, replayCommand, benchCommand, evalImagesCommand, benchPackCommand, serveBenchCommand, serveSloCommand, labelCommand, configCommand, watchCommand];
