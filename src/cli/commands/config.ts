import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EXIT, type Command } from '../command.js';
import { configJsonSchema, loadConfig, type Config } from '../../config/index.js';
import { redactCredentials } from '../../core/redact.js';
import { loadPackFor } from '../../service/service.js';
import { formatSpec, isAdaptive, isTiled } from '../../strategy/spec.js';

const usage = `usage:
  neulens config validate <file.yaml>   check a config; prints "ok: N cameras" or one error line (exit 2)
  neulens config show <file.yaml>       print the effective config: defaults filled, paths resolved
  neulens config schema                 print the JSON Schema (draft 2020-12) of the config format

Relative paths in a config (model.pack, file cameras) are resolved against the
config file's directory. \${VAR} and \${VAR:-default} are replaced from the
environment; $\${ writes a literal \${.`;

export const configCommand: Command = {
  name: 'config',
  summary: 'validate a config file, show it with defaults, or print its JSON Schema',
  usage,
  async run(argv: string[]): Promise<number> {
    const [sub, ...args] = argv;
    if (sub === 'schema' && args.length === 0) {
      console.log(JSON.stringify(configJsonSchema(), null, 2));
      return EXIT.ok;
    }
    if ((sub === 'validate' || sub === 'show') && args.length === 1 && args[0]) {
      // A bad config throws ConfigError; main() prints it and exits 2.
      const config = await loadConfig(args[0], process.env, { onDeprecated: (_key, message) => console.error(`warning: ${message}`) });
      if (sub === 'show') {
        console.log(stringify(shown(config)));
        return EXIT.ok;
      }
      // The model pack is part of the config: `serve` cannot run without it (exit 2 there too).
      await loadPackFor(config);
      for (const warning of await missingFiles(config)) console.error(`warning: ${warning}`);
      const disabled = config.cameras.filter((c) => !c.enabled).length;
      const n = config.cameras.length;
      console.log(`ok: ${n} camera${n === 1 ? '' : 's'}${disabled > 0 ? ` (${disabled} disabled)` : ''}`);
      return EXIT.ok;
    }
    console.error(usage);
    return EXIT.usage;
  },
};

/**
 * Files the config points at but that are absent. Only warnings: a config is
 * often validated before recordings are copied in.
 */
async function missingFiles(config: Config): Promise<string[]> {
  const out: string[] = [];
  for (const [i, cam] of config.cameras.entries()) {
    if (cam.kind !== 'file' || !cam.enabled) continue;
    try {
      await access(cam.url);
    } catch {
      out.push(`cameras[${i}].url: ${join(cam.url)} does not exist (yet)`);
    }
  }
  return out;
}

/** The config as YAML a user could write back: the strategy as its keys, secrets redacted. */
function shown(config: Config): unknown {
  const copy = structuredClone(config) as Config & { model: Record<string, unknown> };
  const spec = config.model.strategy;
  const model: Record<string, unknown> = { ...copy.model, strategy: formatSpec(spec, { yamlKeys: true }) };
  if (isTiled(spec)) model.grid = [spec.grid.cols, spec.grid.rows];
  if (isAdaptive(spec)) model.refresh = { ...spec.refresh };
  if (copy.server.authToken !== undefined) copy.server.authToken = '<redacted>';
  if (copy.mqtt?.password !== undefined) copy.mqtt.password = '<redacted>';
  if (copy.fleet?.password !== undefined) copy.fleet.password = '<redacted>';
  // Camera URLs often carry credentials: rtsp://user:pass@host/...
  for (const cam of copy.cameras) cam.url = redactCredentials(cam.url);
  return { ...copy, model };
}
