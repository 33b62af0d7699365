import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.ts';
import { ServiceError } from '../services/errors.ts';
import { accountCommands } from './accounts.ts';
import { backupCommand } from './backup.ts';
import { fsckCommand } from './fsck.ts';
import { serveCommand } from './serve.ts';

export function buildProgram(): Command {
  const program = new Command('gazo')
    .description('Gazo: a self-hosted image host that speaks the Gyazo API')
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(serveCommand());
  for (const command of accountCommands()) program.addCommand(command);
  program.addCommand(backupCommand());
  program.addCommand(fsckCommand());
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof ServiceError || err instanceof ConfigError) {
      process.stderr.write(`gazo: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
