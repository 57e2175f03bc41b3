import { commands } from './commands/index.js';
import { EXIT } from './command.js';
import { NeulensError, errorMessage } from '../core/errors.js';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return ['usage: neulens <command> [options]', '', 'commands:', ...lines, '', 'neulens <command> --help for details'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(help());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`neulens: unknown command '${name}'\n\n${help()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return EXIT.ok;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    // Typed errors carry a message meant for the user; anything else is a bug.
    if (err instanceof NeulensError) {
      console.error(`neulens ${name}: ${err.message}`);
      return err.code === 'CONFIG_INVALID' || err.code === 'INPUT_INVALID' ? EXIT.usage : EXIT.failure;
    }
    console.error(`neulens ${name}: ${errorMessage(err)}`);
    if (err instanceof Error && err.stack) console.error(err.stack);
    return EXIT.failure;
  }
}
