import { parseArgs } from 'node:util';
import { loadConfig, resolveFleet } from '../../config/index.js';
import { createLogger } from '../../core/log.js';
import { FleetInstance } from '../../fleet/instance.js';
import { NeulensService } from '../../service/service.js';
import { EXIT, type Command } from '../command.js';

const usage = `usage: neulens serve --config <file.yaml> [--fleet nats://host:4222]

Start the cameras of a pipeline config and serve detections:
  Viewer     http://<host>:<port>/     (live cameras, boxes and tile plans; config viewer:)
  WebSocket  ws://<host>:<port>/ws   (see README: WebSocket protocol)
  HTTP       /healthz /readyz /api/stats /metrics
SIGINT or SIGTERM stops it gracefully (a second one forces the exit).

--fleet <url>  join a fleet on a NATS server with JetStream (sets fleet.url;
               see README: Scaling out): this instance runs only the cameras
               it holds leases for, publishes them on NATS for
               \`neulens gateway\`, and hands them to the others when it stops.
               An unreachable server at start-up exits 1 naming fleet.url.`;

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
    const config = await loadConfig(values.config, process.env, { onDeprecated: (_key, message) => deprecated.push(message) });
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
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const fleet = fleetConfig ? await FleetInstance.start({ ...config, fleet: fleetConfig }, log) : undefined;
      const service = fleet?.service ?? (await NeulensService.start(config, { log }));
      const owner = fleet ?? service;
      if (fleet) log.info('serving as a fleet instance', { instance: fleet.instance, ws: service.url, http: service.server.httpUrl, fleetCameras: config.cameras.length });
      else log.info('serving', { ws: service.url, http: service.server.httpUrl, cameras: config.cameras.filter((c) => c.enabled).length });
      if (service.server.viewerUrl) log.info(`viewer at ${service.server.viewerUrl}`);
      void service.server.died.then((err) => {
        log.error('server died', { error: err.message });
        stop('server died');
      });
      await stopped;
      await owner.close();
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return EXIT.ok;
  },
};
