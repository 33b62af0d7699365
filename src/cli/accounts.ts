import { Command } from 'commander';
import { notFound } from '../services/errors.ts';
import { promptHidden, readAll } from './client/login.ts';
import { UsageError } from './client/usage.ts';
import { iso, printTable, withAccounts, withDataDir, withUsers } from './options.ts';

interface DataDirOptions {
  dataDir?: string;
}

/**
 * A revoke command whose argument may start with "-" (tokens made by older versions could):
 * an argument that is none of the command's options is the credential, not an unknown option,
 * so it is neither refused nor printed back in an error.
 */
class RevokeCommand extends Command {
  override parseOptions(args: string[]) {
    const credentials: string[] = [];
    const rest: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const arg = args[i] as string;
      if (arg === '--') {
        rest.push(...args.slice(i));
        break;
      }
      const flag = arg.split('=')[0];
      const option = this.options.find((o) => o.long === flag || o.short === flag);
      const isHelp = arg === '-h' || arg === '--help';
      if (option || isHelp || !arg.startsWith('-') || arg.length < 3) {
        rest.push(arg);
        // An option's value may start with "-" too: leave it with its option.
        if (option?.required && !arg.includes('=') && i + 1 < args.length) rest.push(args[++i] as string);
      } else {
        credentials.push(arg);
      }
    }
    const parsed = super.parseOptions(rest);
    return { operands: [...credentials, ...parsed.operands], unknown: parsed.unknown };
  }
}

/** `PARENT revoke <argument>`, made as `parent.command()` would make it. */
function revokeCommand(parent: Command, argument: string): Command {
  const revoke = new RevokeCommand('revoke').copyInheritedSettings(parent).argument(argument);
  parent.addCommand(revoke);
  return revoke;
}

function userCommand(): Command {
  const user = new Command('user').description('manage users');
  withDataDir(
    user
      .command('create <name>')
      .description('create a user')
      .option('--email <email>', 'email address')
      .option('--password <password>', 'password for signing in on the web (8+ characters)'),
  ).action(async (name: string, options: DataDirOptions & { email?: string; password?: string }) => {
    await withAccounts(options, async (accounts) => {
      const row = await accounts.createUser(name, { email: options.email, password: options.password });
      process.stdout.write(`created user ${row.name} (id ${row.id})\n`);
    });
  });
  withDataDir(user.command('list').description('list users')).action(async (options: DataDirOptions) => {
    await withAccounts(options, async (accounts) => {
      const users = await accounts.listUsers();
      printTable(
        ['ID', 'NAME', 'EMAIL', 'IMAGES', 'CREATED', 'ADMIN', 'DISABLED'],
        users.map((u) => [
          u.id,
          u.name,
          u.email,
          u.image_count,
          iso(u.created_at),
          u.is_admin === 1 ? 'yes' : 'no',
          u.disabled_at === null ? 'no' : iso(u.disabled_at),
        ]),
      );
    });
  });
  withDataDir(
    user
      .command('disable <name>')
      .description('disable a user: their sessions end, and their tokens and devices stop working'),
  ).action(async (name: string, options: DataDirOptions) => {
    await withUsers(options, async (users) => {
      await users.disable('operator', (await users.byName(name)).id);
      process.stdout.write(`disabled user ${name}\n`);
    });
  });
  withDataDir(user.command('enable <name>').description('enable a disabled user again')).action(
    async (name: string, options: DataDirOptions) => {
      await withUsers(options, async (users) => {
        await users.enable('operator', (await users.byName(name)).id);
        process.stdout.write(`enabled user ${name}\n`);
      });
    },
  );
  withDataDir(
    user
      .command('password <name>')
      .description("set a user's web password (asked for, or read from stdin); their sessions all end")
      .option('--password <password>', 'the new password (8+ characters)'),
  ).action(async (name: string, options: DataDirOptions & { password?: string }) => {
    const password =
      options.password ??
      (process.stdin.isTTY
        ? await promptHidden('New password: ')
        : (await readAll(process.stdin)).replace(/\r?\n$/, ''));
    if (!password) throw new UsageError('no password given (--password, or on stdin)');
    await withUsers(options, async (users) => {
      const { endedSessions } = await users.resetPassword(name, password);
      process.stdout.write(
        `password of ${name} changed; ${endedSessions} session${endedSessions === 1 ? '' : 's'} ended\n`,
      );
    });
  });
  return user;
}

function tokenCommand(): Command {
  const token = new Command('token').description('manage API access tokens');
  withDataDir(
    token
      .command('create <user>')
      .description('create an access token for USER and print it (it is shown only this once)')
      .option('--name <name>', 'a note to tell tokens apart'),
  ).action(async (userName: string, options: DataDirOptions & { name?: string }) => {
    await withAccounts(options, async (accounts) => {
      const { token: secret } = await accounts.createToken(userName, options.name ?? null);
      process.stdout.write(`${secret}\n`);
    });
  });
  withDataDir(token.command('list [user]').description("list tokens (all users', or USER's)")).action(
    async (userName: string | undefined, options: DataDirOptions) => {
      await withAccounts(options, async (accounts) => {
        const rows = await accounts.listTokens(userName);
        printTable(
          ['ID', 'USER', 'TOKEN', 'NAME', 'CREATED', 'LAST USED'],
          rows.map((t) => [
            t.id,
            t.user_name,
            `${t.token_prefix}…`,
            t.name,
            iso(t.created_at),
            iso(t.last_used_at),
          ]),
        );
      });
    },
  );
  withDataDir(
    revokeCommand(token, '<id-or-token>').description('revoke a token by its listed ID or by the token'),
  ).action(async (idOrToken: string, options: DataDirOptions) => {
    await withAccounts(options, async (accounts) => {
      if (!(await accounts.revokeToken(idOrToken))) throw notFound('No such token');
      process.stdout.write('revoked\n');
    });
  });
  return token;
}

function deviceCommand(): Command {
  const device = new Command('device').description('manage legacy desktop-client device ids (upload.cgi)');
  withDataDir(
    device
      .command('create <user>')
      .description('create a device id for USER and print it (shown only this once)'),
  ).action(async (userName: string, options: DataDirOptions) => {
    await withAccounts(options, async (accounts) => {
      const { deviceId } = await accounts.createDevice(userName);
      process.stdout.write(`${deviceId}\n`);
    });
  });
  withDataDir(device.command('list [user]').description("list device ids (all users', or USER's)")).action(
    async (userName: string | undefined, options: DataDirOptions) => {
      await withAccounts(options, async (accounts) => {
        const rows = await accounts.listDevices(userName);
        printTable(
          ['ID', 'USER', 'DEVICE', 'CREATED', 'LAST USED'],
          rows.map((d) => [d.id, d.user_name, `${d.device_prefix}…`, iso(d.created_at), iso(d.last_used_at)]),
        );
      });
    },
  );
  withDataDir(
    revokeCommand(device, '<id-or-device-id>').description(
      'revoke a device by its listed ID or by the device id',
    ),
  ).action(async (idOrDevice: string, options: DataDirOptions) => {
    await withAccounts(options, async (accounts) => {
      if (!(await accounts.revokeDevice(idOrDevice))) throw notFound('No such device');
      process.stdout.write('revoked\n');
    });
  });
  return device;
}

export const accountCommands = () => [userCommand(), tokenCommand(), deviceCommand()];
