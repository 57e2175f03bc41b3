import { parseArgs } from 'node:util';
import { loadConfig, resolveFleet, type FleetConfig } from '../../config/index.js';
import { LoggingSchema, ServerSchema, ViewerSchema } from '../../config/schema.js';
import { createLogger } from '../../core/log.js';
import { InputError } from '../../core/errors.js';
import { FleetGateway } from '../../fleet/gateway.js';
import { parseNumber } from '../args.js';
import { EXIT, type Command } from '../command.js';

const usage = `usage: neulens gateway --fleet nats://host:4222 [--config <file.yaml>] [--host H] [--port N]

Serve every camera of a fleet (see README: Scaling out) from its NATS
subjects: the same WebSocket protocol, HTTP routes and viewer as
\`neulens serve\`, for all the fleet's cameras; /api/stats names each
camera's instance. The cameras are the fleet's list (the instances publish
it); a camera whose frames stop for its stallTimeoutMs is marked offline.

  --fleet <url>    the NATS server (sets fleet.url)
  --config <file>  the fleet's config: its server:, viewer: and fleet:
                   sections are used (its cameras come from the fleet)
  --host, --port   override server.host / server.port
SIGINT or SIGTERM stops it gracefully.`;

export const gatewayCommand: Command = {
  name: 'gateway',
  summary: "serve a fleet's cameras from NATS: one WebSocket, HTTP stats and viewer for all",
  usage,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { fleet: { type: 'string' }, config: { type: 'string', short: 'c' }, host: { type: 'string' }, port: { type: 'string' } } });
    const base = values.config
      ? await loadConfig(values.config, process.env)
      : { server: ServerSchema.parse({}), viewer: ViewerSchema.parse({}), logging: LoggingSchema.parse({}), fleet: undefined as FleetConfig | undefined };
    const fleet = resolveFleet(base.fleet, values.fleet);
    if (!fleet) {
      console.error(`neulens gateway: needs --fleet <url> or a config with a fleet: section\n\n${usage}`);
      return EXIT.usage;
    }
    const config = { ...base, fleet };
    const server = {
      ...config.server,
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(values.port !== undefined ? { port: parseNumber('--port', values.port, { integer: true, min: 0, max: 65535 }) } : {}),
    };
    if (server.host.length === 0) throw new InputError('--host must not be empty');
    const log = createLogger(config.logging.level);

    let stop!: (why: string) => void;
    const stopped = new Promise<string>((resolve) => (stop = resolve));
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      if (++signals > 1) process.exit(EXIT.failure);
      log.info(`${sig}: shutting down`);
      stop(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const gw = await FleetGateway.start({ server, viewer: config.viewer, fleet: config.fleet }, log);
      log.info('gateway serving', { ws: gw.url, http: gw.server.httpUrl });
      if (gw.server.viewerUrl) log.info(`viewer at ${gw.server.viewerUrl}`);
      void gw.server.died.then((err) => {
        log.error('server died', { error: err.message });
        stop('server died');
      });
      await stopped;
      await gw.close();
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return EXIT.ok;
  },
};
