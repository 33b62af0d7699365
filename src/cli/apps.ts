import { Command } from 'commander';
import type { OAuthService } from '../services/oauth.service.ts';
import { configFrom, iso, printTable, withDataDir } from './options.ts';

interface DataDirOptions {
  dataDir?: string;
}

/** Opens only the metadata store, for the app commands. */
async function withOAuth<T>(options: DataDirOptions, work: (oauth: OAuthService) => Promise<T>): Promise<T> {
  const [{ openStore }, { AccountsService }, { OAuthService }] = await Promise.all([
    import('../store/index.ts'),
    import('../services/accounts.service.ts'),
    import('../services/oauth.service.ts'),
  ]);
  const config = configFrom(options);
  const store = await openStore(config.database, config.dataDir);
  try {
    return await work(new OAuthService(store, new AccountsService(store)));
  } finally {
    await store.close();
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `gazo app create|list|delete`: OAuth applications, as the Applications page makes them. */
export function appCommand(): Command {
  const app = new Command('app').description('manage OAuth applications');
  withDataDir(
    app
      .command('create <user> <name>')
      .description(
        'register an OAuth application owned by USER; prints its client_id and client_secret as JSON (the secret only this once)',
      )
      .requiredOption(
        '--redirect-uri <uri>',
        'a redirect URI (repeat for several); matched exactly',
        collect,
      ),
  ).action(async (userName: string, name: string, options: DataDirOptions & { redirectUri: string[] }) => {
    await withOAuth(options, async (oauth) => {
      const { app: created, clientSecret } = await oauth.createAppFor(userName, name, options.redirectUri);
      process.stdout.write(
        `${JSON.stringify({ client_id: created.client_id, client_secret: clientSecret })}\n`,
      );
    });
  });
  withDataDir(app.command('list [user]').description("list applications (all users', or USER's)")).action(
    async (userName: string | undefined, options: DataDirOptions) => {
      await withOAuth(options, async (oauth) => {
        const apps = (await oauth.listApps()).filter(
          (a) => userName === undefined || a.user_name === userName,
        );
        printTable(
          ['ID', 'USER', 'NAME', 'CLIENT ID', 'REDIRECT URIS', 'CREATED'],
          apps.map((a) => [
            a.id,
            a.user_name,
            a.name,
            a.client_id,
            a.redirect_uris.split('\n').join(' '),
            iso(a.created_at),
          ]),
        );
      });
    },
  );
  withDataDir(
    app
      .command('delete <id-or-client-id>')
      .description(
        'delete an application by its listed ID or its client_id, revoking every token granted to it',
      ),
  ).action(async (which: string, options: DataDirOptions) => {
    await withOAuth(options, async (oauth) => {
      const deleted = await oauth.deleteApp(undefined, /^\d+$/.test(which) ? Number(which) : which);
      process.stdout.write(`deleted ${deleted.name}\n`);
    });
  });
  return app;
}
