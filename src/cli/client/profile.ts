import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GazoClient } from '../../client/index.ts';

/** What `gazo login` saves: the server and token the client commands use. */
export interface Profile {
  server: string;
  /** Only when uploads go to another origin than the API (gyazo.com: upload.gyazo.com). */
  upload_url?: string;
  token: string;
}

export class NotLoggedInError extends Error {}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'gazo', 'config.json');
}

export async function readProfile(env: NodeJS.ProcessEnv = process.env): Promise<Partial<Profile>> {
  const file = configFile(env);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  try {
    return JSON.parse(text) as Partial<Profile>;
  } catch {
    throw new NotLoggedInError(`${file} is not valid JSON; run \`gazo login SERVER_URL\` again`);
  }
}

/**
 * Writes the profile readable by its owner only (it holds a token): a temp file created with
 * mode 0600, then renamed over the old one, so that no reader ever sees half a file.
 */
export async function saveProfile(profile: Profile, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = configFile(env);
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await fs.open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(profile, null, 2)}\n`);
    await handle.chmod(0o600); // in case the file already existed with a wider mode
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  return file;
}

/** The profile with `GAZO_SERVER` / `GAZO_TOKEN` laid over it. */
export async function resolveProfile(env: NodeJS.ProcessEnv = process.env): Promise<Profile> {
  const saved = await readProfile(env);
  const server = env.GAZO_SERVER || saved.server;
  // What was saved belongs to the saved server: its token must never go to another one.
  const sameServer = server !== undefined && trimSlash(server) === trimSlash(saved.server ?? '');
  const token = env.GAZO_TOKEN || (sameServer ? saved.token : undefined);
  if (!server || !token)
    throw new NotLoggedInError(
      'not logged in: run `gazo login SERVER_URL` (or set GAZO_SERVER and GAZO_TOKEN)',
    );
  const uploadUrl = sameServer ? saved.upload_url : undefined;
  return { server, token, ...(uploadUrl ? { upload_url: uploadUrl } : {}) };
}

export function clientFor(profile: Profile, onRetry?: (waitMs: number, reason: string) => void): GazoClient {
  return new GazoClient({
    apiUrl: profile.server,
    uploadUrl: profile.upload_url,
    accessToken: profile.token,
    onRetry: onRetry && ((r) => onRetry(r.waitMs, r.reason)),
  });
}

/** The client of the logged-in profile; tells the user on stderr when it waits for a retry. */
export async function profileClient(): Promise<GazoClient> {
  return clientFor(await resolveProfile(), (waitMs, reason) =>
    process.stderr.write(`gazo: ${reason}; retrying in ${Math.ceil(waitMs / 1000)} s\n`),
  );
}
