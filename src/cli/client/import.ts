import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { GazoClient } from '../../client/index.ts';
import { notFound } from '../../services/errors.ts';
import type { ImportSource, ImportSummary, ImportTarget } from '../../services/import/engine.ts';
import { withRuntime } from '../options.ts';
import { printJson } from './output.ts';
import { clientFor, resolveProfile } from './profile.ts';
import { progress } from './progress.ts';
import { httpUrl, positiveInt, UsageError } from './usage.ts';

interface ImportOptions {
  from?: string;
  token?: string;
  uploadUrl?: string;
  fromExport?: string;
  dataDir?: string;
  user?: string;
  dryRun?: boolean;
  json?: boolean;
  concurrency: number;
}

const tellRetry = (r: { waitMs: number; reason: string }) =>
  process.stderr.write(`gazo: ${r.reason}; retrying in ${Math.ceil(r.waitMs / 1000)} s\n`);

function checkUsage(o: ImportOptions) {
  if ((o.from === undefined) === (o.fromExport === undefined))
    throw new UsageError('give either --from API_URL or --from-export DEST');
  if (o.from !== undefined && !o.token)
    throw new UsageError('--from needs --token (the source account’s token)');
  if ((o.dataDir === undefined) !== (o.user === undefined))
    throw new UsageError('--data-dir and --user go together');
  if (o.dataDir !== undefined && o.uploadUrl !== undefined)
    throw new UsageError('--upload-url is for a server target, not --data-dir');
}

async function openSource(o: ImportOptions): Promise<ImportSource> {
  if (o.fromExport !== undefined) {
    const { openExport } = await import('../../services/import/export-source.ts');
    return openExport(o.fromExport);
  }
  const { ApiSource } = await import('../../services/import/api-source.ts');
  return new ApiSource(
    new GazoClient({ apiUrl: httpUrl(o.from ?? '', '--from'), accessToken: o.token, onRetry: tellRetry }),
  );
}

/** The logged-in server; what it already has from earlier runs is kept in a local journal. */
async function serverTarget(o: ImportOptions): Promise<ImportTarget> {
  const [{ HttpTarget }, { JournalLedger, journalFile }] = await Promise.all([
    import('../../services/import/http-target.ts'),
    import('../../services/import/journal.ts'),
  ]);
  const profile = await resolveProfile();
  const uploadUrl = o.uploadUrl === undefined ? profile.upload_url : httpUrl(o.uploadUrl, '--upload-url');
  const client = clientFor(
    { ...profile, ...(uploadUrl ? { upload_url: uploadUrl } : {}) },
    (waitMs, reason) => tellRetry({ waitMs, reason }),
  );
  const { user } = await client.me();
  const stateHome = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  const ledger = new JournalLedger(journalFile(stateHome, new URL(client.apiUrl).host, user.uid));
  return new HttpTarget(client, ledger);
}

function printSummary(s: ImportSummary) {
  const lines = s.dryRun ? [`would import ${s.wouldImport}`] : [`imported ${s.imported}`];
  lines.push(`skipped ${s.skipped} (already there)`, `unavailable ${s.unavailable} (no URL at the source)`);
  if (!s.dryRun) lines.push(`failed ${s.failed.length}`);
  process.stdout.write(`${lines.join(', ')}; ${s.listed} listed\n`);
  for (const f of s.failed) process.stdout.write(`  failed ${f.sourceId}: ${f.reason}\n`);
}

async function runWith(o: ImportOptions, target: ImportTarget, source: ImportSource) {
  const { runImport } = await import('../../services/import/engine.ts');
  const bar = progress(o.dryRun ? 'checking' : 'importing', source.total() ?? 0);
  let summary: ImportSummary;
  try {
    summary = await runImport(source, target, {
      concurrency: o.concurrency,
      dryRun: o.dryRun === true,
      onEvent: (e) => (e.kind === 'total' ? bar.setTotal(e.total) : bar.tick()),
    });
  } finally {
    bar.stop();
    await source.close?.();
    await target.close?.();
  }
  if (o.json) printJson(summary);
  else printSummary(summary);
  if (summary.failed.length > 0) process.exitCode = 1;
}

export function importCommand(): Command {
  return new Command('import')
    .description('import every image of a Gyazo (or Gazo) account, or of an export, into your account')
    .option('--from <api_url>', 'the source API, e.g. https://api.gyazo.com')
    .option('--token <token>', 'access token of the source account')
    .option('--upload-url <url>', 'upload origin of the server you import into, if not its own URL')
    .option('--from-export <dest>', 'a folder or zip written by gazo export')
    .option('--data-dir <dir>', 'import straight into this data dir (with --user), not over HTTP')
    .option('--user <name>', 'the data dir user to import into')
    .option('--dry-run', 'say what would be imported, import nothing')
    .option('--json', 'print the summary as JSON')
    .addOption(new Option('--concurrency <n>', 'downloads at once').argParser(positiveInt).default(4))
    .action(async (o: ImportOptions) => {
      checkUsage(o);
      const source = await openSource(o);
      if (o.dataDir === undefined) return runWith(o, await serverTarget(o), source);
      const { DataDirTarget } = await import('../../services/import/data-dir-target.ts');
      await withRuntime({ dataDir: o.dataDir }, async (rt) => {
        const user = await rt.store.users.findByName(o.user ?? '');
        if (!user) throw notFound(`No such user: ${o.user} (in ${rt.config.dataDir})`);
        await runWith(o, new DataDirTarget(rt.uploads, rt.store.importSources, user), source);
      });
    });
}
