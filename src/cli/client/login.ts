import { Command } from 'commander';
import { clientFor, type Profile, saveProfile } from './profile.ts';
import { httpUrl, UsageError } from './usage.ts';

/** Reads a line from the terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  // Echo off before the question shows, or what is typed right after it could still be echoed.
  stdin.setRawMode(true);
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new UsageError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.resume();
    stdin.on('data', onData);
  });
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

/** The token: from --token, typed at a hidden prompt on a terminal, or piped on stdin. */
async function askToken(): Promise<string> {
  const token = process.stdin.isTTY ? await promptHidden('Access token: ') : await readAll(process.stdin);
  return token.trim();
}

export function loginCommand(): Command {
  return new Command('login')
    .description('save the server and access token the client commands use')
    .argument('<server_url>', 'the Gazo server (or https://api.gyazo.com)')
    .option('--token <token>', 'access token (asked for when not given; read from stdin when piped)')
    .option('--upload-url <url>', 'upload origin, when it is not the server (gyazo.com: found by itself)')
    .action(async (serverUrl: string, options: { token?: string; uploadUrl?: string }) => {
      const server = httpUrl(serverUrl, 'SERVER_URL');
      const uploadUrl =
        options.uploadUrl === undefined ? undefined : httpUrl(options.uploadUrl, '--upload-url');
      const token = options.token?.trim() || (await askToken());
      if (!token) throw new UsageError('no access token given');
      const profile: Profile = { server, token, ...(uploadUrl ? { upload_url: uploadUrl } : {}) };
      // Saved only once the server has accepted the token.
      const { user } = await clientFor(profile).me();
      const file = await saveProfile(profile);
      process.stdout.write(`logged in to ${server} as ${user.name}; saved in ${file}\n`);
    });
}
