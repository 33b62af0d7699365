import { Command, CommanderError } from 'commander';
import { GazoApiError } from '../client/errors.ts';
import { ConfigError } from '../config.ts';
import { OcrSetupError } from '../ocr/languages.ts';
import { ServiceError } from '../services/errors.ts';
import { accountCommands } from './accounts.ts';
import { appCommand } from './apps.ts';
import { backupCommand } from './backup.ts';
import { imageCommands } from './client/images.ts';
import { importCommand } from './client/import.ts';
import { loginCommand } from './client/login.ts';
import { NotLoggedInError } from './client/profile.ts';
import { UsageError } from './client/usage.ts';
import { exportCommand } from './export.ts';
import { fsckCommand } from './fsck.ts';
import { migrateDataCommand } from './migrate-data.ts';
import { ocrCommand } from './ocr.ts';
import { serveCommand } from './serve.ts';
import { workerCommand } from './worker.ts';

export function buildProgram(): Command {
  const program = new Command('gazo')
    .description('Gazo: a self-hosted image host that speaks the Gyazo API')
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(serveCommand());
  program.addCommand(workerCommand());
  for (const command of accountCommands()) program.addCommand(command);
  program.addCommand(appCommand());
  program.addCommand(backupCommand());
  program.addCommand(fsckCommand());
  program.addCommand(migrateDataCommand());
  program.addCommand(loginCommand());
  for (const command of imageCommands()) program.addCommand(command);
  program.addCommand(importCommand());
  program.addCommand(exportCommand());
  program.addCommand(ocrCommand());
  // Commands made with `new Command` do not inherit these: without exitOverride a usage error
  // would exit(1) inside commander, and scripts need 2 for it.
  const everyCommand = (c: Command): Command[] => [c, ...c.commands.flatMap(everyCommand)];
  for (const command of everyCommand(program)) command.exitOverride().showHelpAfterError();
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    // Exit codes scripts can rely on: 0 ok, 1 failure, 2 usage (help and --version are 0).
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`gazo: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    if (
      err instanceof ServiceError ||
      err instanceof ConfigError ||
      err instanceof OcrSetupError ||
      err instanceof GazoApiError ||
      err instanceof NotLoggedInError ||
      isFileError(err)
    ) {
      process.stderr.write(`gazo: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

/** A file the user named could not be read or written (ENOENT, EACCES…): their mistake, no stack. */
function isFileError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string' && 'path' in err;
}
