import { parseArgs } from 'node:util';
import { parseConfig, readConfigText, resolveFleet } from '../../config/index.js';
import { ConfigError, errorMessage } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/log.js';
import { FleetInstance } from '../../fleet/instance.js';
import { NeulensService } from '../../service/service.js';
import { EXIT, type Command } from '../command.js';

const usage = `usage: neulens serve --config <file.yaml> [--fleet nats://host:4222]

Start the cameras of a pipeline config and serve detections:
  Viewer     http://<host>:<port>/     (live cameras, boxes and tile plans; config viewer:)
  WebSocket  ws://<host>:<port>/ws   (see README: WebSocket protocol)
  HTTP       /healthz /readyz /api/stats /metrics /api/events /api/cameras
SIGINT or SIGTERM stops it gracefully (a second one forces the exit).
SIGHUP reads the config file again and applies its cameras (added, changed,
removed; the others run on); a bad file is refused whole, naming the key;
other changed keys are logged and wait for a restart. (In a fleet the camera
list lives in the fleet's KV bucket: SIGHUP is ignored there, and
/api/cameras on any instance changes that list.)

--fleet <url>  join a fleet on a NATS server with JetStream (sets fleet.url;
               see README: Scaling out): this instance runs only the cameras
               it holds leases for, publishes them on NATS for
               \`neulens gateway\`, and hands them to the others when it stops.
               An unreachable server at start-up exits 1 naming fleet.url.`;

/** SIGHUP: the file read again, its cameras applied; what happened (or why nothing did) is logged. */
async function reload(service: NeulensService, file: string, log: Logger): Promise<void> {
  log.info('SIGHUP: reading the config again', { file });
  try {
    const c = await service.reloadConfig(await readConfigText(file));
    log.info('config reloaded', { added: c.added.join(','), removed: c.removed.join(','), changed: c.changed.join(','), needsRestart: c.needsRestart.join(',') });
  } catch (err) {
    log.error('config reload refused', { ...(err instanceof ConfigError && err.path ? { key: err.path } : {}), error: errorMessage(err) });
  }
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the cameras of a config and serve detections over WebSocket (--fleet: share them with other instances)',
  usage,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, fleet: { type: 'string' } } });
    if (!values.config) {
      console.error(usage);
      return EXIT.usage;
    }
    const deprecated: string[] = [];
    const file = values.config;
    const text = await readConfigText(file);
    const config = parseConfig(text, file, process.env, { onDeprecated: (_key, message) => deprecated.push(message) });
    const fleetConfig = resolveFleet(config.fleet, values.fleet);
    const log = createLogger(config.logging.level);
    for (const message of deprecated) log.warn(message);

    // Signals are handled from the start: one that arrives while the model
    // loads stops the service as soon as it is up (nothing is left half-started).
    let stop!: (why: string) => void;
    const stopped = new Promise<string>((resolve) => (stop = resolve));
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        log.warn(`second ${sig}: exiting now`);
        process.exit(EXIT.failure);
      }
      log.info(`${sig}: shutting down`);
      stop(sig);
    };
    // Registered now: SIGHUP's default would end the process. Reloads run one at a time, once the service is up.
    let service: NeulensService | undefined;
    let owner: { close(): Promise<void> } | undefined;
    let reloading: Promise<void> = Promise.resolve();
    const onHup = () => {
      if (fleetConfig) return log.warn('SIGHUP: ignored in a fleet (its camera list lives in the fleet KV bucket; see README: Scaling out)');
      if (!service) return log.warn('SIGHUP before the cameras started: ignored (start-up reads the file)');
      const s = service;
      reloading = reloading.then(() => reload(s, file, log));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onHup);
    try {
      const fleet = fleetConfig ? await FleetInstance.start({ ...config, fleet: fleetConfig }, log, { text, name: file, env: process.env }) : undefined;
      // Alone, the file's cameras can change at runtime (SIGHUP, /api/cameras); in a fleet they are the KV bucket's (/api/cameras edits it, checked against this file's text).
      service = fleet?.service ?? (await NeulensService.start(config, { log, source: { text, name: file, env: process.env } }));
      owner = fleet ?? service;
      if (fleet) log.info('serving as a fleet instance', { instance: fleet.instance, ws: service.url, http: service.server.httpUrl, fleetCameras: config.cameras.length });
      else log.info('serving', { ws: service.url, http: service.server.httpUrl, cameras: config.cameras.filter((c) => c.enabled).length });
      if (service.server.viewerUrl) log.info(`viewer at ${service.server.viewerUrl}`);
      void service.server.died.then((err) => {
        log.error('server died', { error: err.message });
        stop('server died');
      });
      await stopped;
      await owner.close();
      await reloading;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onHup);
    }
    return EXIT.ok;
  },
};
