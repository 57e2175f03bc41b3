import { strategyForModel } from '../../service/service.js';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EXIT, type Command } from '../command.js';
import { configJsonSchema, loadConfig, type Config } from '../../config/index.js';

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
      const config = await loadConfig(args[0]);
      if (sub === 'show') {
        console.log(stringify(redacted(config)));
        return EXIT.ok;
      }
      strategyForModel(config.model);
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
 * often validated before models are built or recordings are copied in.
 */
async function missingFiles(config: Config): Promise<string[]> {
  const checks: [string, string][] = [['model.pack', join(config.model.pack, 'manifest.json')]];
  config.cameras.forEach((cam, i) => {
    if (cam.kind === 'file' && cam.enabled) checks.push([`cameras[${i}].url`, cam.url]);
  });
  const out: string[] = [];
  for (const [key, file] of checks) {
    try {
      await access(file);
    } catch {
      out.push(`${key}: ${file} does not exist (yet)`);
    }
  }
  return out;
}

function redacted(config: Config): unknown {
  const copy = structuredClone(config);
  if (copy.server.authToken !== undefined) copy.server.authToken = '<redacted>';
  for (const cam of copy.cameras) {
    // Camera URLs often carry credentials: rtsp://user:pass@host/...
    if (cam.kind !== 'file') cam.url = cam.url.replace(/^([a-z]+:\/\/)[^/@\s]*@/i, '$1<redacted>@');
  }
  return copy;
}
