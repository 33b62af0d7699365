import { Command } from 'commander';
import { notFound } from '../services/errors.ts';
import { iso, printTable, withAccounts, withDataDir } from './options.ts';

interface DataDirOptions {
  dataDir?: string;
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
        ['ID', 'NAME', 'EMAIL', 'IMAGES', 'CREATED'],
        users.map((u) => [u.id, u.name, u.email, u.image_count, iso(u.created_at)]),
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
    token.command('revoke <id-or-token>').description('revoke a token by its listed ID or by the token'),
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
    device
      .command('revoke <id-or-device-id>')
      .description('revoke a device by its listed ID or by the device id'),
  ).action(async (idOrDevice: string, options: DataDirOptions) => {
    await withAccounts(options, async (accounts) => {
      if (!(await accounts.revokeDevice(idOrDevice))) throw notFound('No such device');
      process.stdout.write('revoked\n');
    });
  });
  return device;
}

export const accountCommands = () => [userCommand(), tokenCommand(), deviceCommand()];
