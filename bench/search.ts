/**
 * Search latency at scale: `node --import tsx bench/search.ts`.
 *
 * Builds a data dir with the real schema (the server's migrations and FTS triggers) holding
 * BENCH_SEARCH_IMAGES (100,000) images of one user, each with OCR-like text (English words drawn
 * with a Zipf distribution from a 20,000-word vocabulary, Japanese sentences for a third of
 * them, titles, apps and URLs), plus 10,000 of another user. Then runs a mix of queries through
 * ImagesService.search (the code GET /api/search calls; page 1, 20 a page, total counted), and
 * the same mix over HTTP through a real server, one request at a time, and prints p50, p95 and
 * p99 per kind of query and overall.
 *
 * Settings (environment): BENCH_SEARCH_IMAGES (100000), BENCH_SEARCH_QUERIES (40 per kind),
 * BENCH_KEEP (keep the data dir and print where it is), BENCH_SEARCH_DIR (use this data dir,
 * built by an earlier run with BENCH_KEEP, instead of building one), BENCH_VERBOSE (print each
 * query and its total).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { loadConfig } from '../src/config.ts';
import { buildApp } from '../src/http/app.ts';
import { openRuntime } from '../src/runtime.ts';
import { principalOf } from '../src/services/principal.ts';
import { SQLITE_FILE } from '../src/store/index.ts';

const IMAGES = Number(process.env.BENCH_SEARCH_IMAGES ?? 100_000);
const PER_KIND = Number(process.env.BENCH_SEARCH_QUERIES ?? 40);

/** mulberry32: a small PRNG with a long period, so that the corpus does not repeat itself. */
let state = 12345;
const rand = () => {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(items: readonly T[]) => items[Math.floor(rand() * items.length)] as T;

/** Letters by their frequency in English text, so that trigrams are as common as in real words. */
const LETTERS =
  'eeeeeeeeeeeetttttttttaaaaaaaaooooooooiiiiiiinnnnnnnsssssshhhhhhrrrrrrddddlllluuucccmmmwwffggyyppbbvkjxqz';
const VOCAB = Array.from({ length: 20_000 }, (_, i) => {
  let w = '';
  for (let k = 0, n = 3 + Math.floor(rand() * 7); k < n; k++) w += pick([...LETTERS]);
  return `${w}${i % 11 === 0 ? i : ''}`;
});
/** Zipf: rank r drawn with probability ∝ 1/r. */
const HARMONIC = VOCAB.reduce((s, _, i) => s + 1 / (i + 1), 0);
function zipfWord(): string {
  let u = rand() * HARMONIC;
  for (let i = 0; i < VOCAB.length; i++) {
    u -= 1 / (i + 1);
    if (u <= 0) return VOCAB[i] as string;
  }
  return VOCAB[VOCAB.length - 1] as string;
}
const KANA = 'あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん';
const KATAKANA = 'アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン';
const KANJI = '会議録東京請求書設定保存画面表示確認送信完了失敗成功開始終了時間日付名前住所電話番号金額合計';
const JA_WORDS = Array.from({ length: 3000 }, (_, i) => {
  const pool = i % 3 === 0 ? KANJI : i % 3 === 1 ? KATAKANA : KANA;
  let w = '';
  for (let k = 0, n = 2 + (i % 4); k < n; k++) w += pick([...pool]);
  return w;
});
const APPS = ['Google Chrome', 'Firefox', 'Slack', 'Visual Studio Code', 'Terminal', 'Figma', null];

function ocrText(i: number): string {
  const lines: string[] = [];
  const japanese = i % 3 === 0;
  const n = 3 + Math.floor(rand() * 12);
  for (let l = 0; l < n; l++) {
    const words: string[] = [];
    for (let w = 0, m = 3 + Math.floor(rand() * 8); w < m; w++) {
      words.push(japanese && rand() < 0.8 ? pick(JA_WORDS) : zipfWord());
    }
    lines.push(words.join(japanese ? '' : ' '));
  }
  return lines.join('\n');
}

async function build(dataDir: string) {
  const rt = await openRuntime(loadConfig({ dataDir, host: '127.0.0.1', port: 0 }, {}));
  const users: Array<{ id: number; token: string }> = [];
  for (const name of ['bench-search', 'bench-other']) {
    const id = (await rt.accounts.createUser(name)).id;
    users.push({ id, token: (await rt.accounts.createToken(name, 'bench')).token });
  }
  await rt.close();
  const db = new SQLite(path.join(dataDir, SQLITE_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insert = db.prepare(`INSERT INTO images
    (image_id, user_id, blob_key, type, byte_size, width, height, created_at, uploaded_at,
     app, title, url, "desc", metadata_is_public, access_policy, ocr_locale, ocr_text)
    VALUES (?, ?, ?, 'png', 1000, 1280, 720, ?, ?, ?, ?, ?, '', 0, 'anyone', ?, ?)`);
  const texts: string[] = [];
  const start = Date.UTC(2020, 0, 1);
  const total = IMAGES + Math.round(IMAGES / 10);
  db.transaction(() => {
    for (let i = 0; i < total; i++) {
      const owner = i < IMAGES ? users[0] : users[1];
      const at = start + i * 600_000; // ten minutes apart: about two years of screenshots
      const text = ocrText(i);
      if (i < IMAGES && texts.length < 2000 && i % 37 === 0) texts.push(text);
      insert.run(
        `${i.toString(16).padStart(32, '0')}`,
        owner?.id,
        `${i.toString(16).padStart(64, '0')}`,
        at,
        at,
        pick(APPS),
        i % 4 === 0 ? `Screenshot ${new Date(at).toISOString().slice(0, 10)}` : null,
        i % 5 === 0 ? `https://example.com/${pick(VOCAB)}/${i}` : null,
        i % 3 === 0 ? 'ja' : 'en',
        text,
      );
    }
  })();
  db.prepare('UPDATE users SET image_count = (SELECT count(*) FROM images WHERE user_id = users.id)').run();
  db.close();
  return { users, texts };
}

/** Queries of each kind, drawn from the corpus so that they find something. */
function queries(texts: string[]): Record<string, string[]> {
  const words = (t: string) => t.split(/\s+/).filter((w) => /^[a-z]+\d*$/.test(w));
  const en = texts.filter((t) => words(t).length > 4);
  const ja = texts.filter((t) => /[ぁ-んァ-ン一-龯]{4}/.test(t));
  const jaRun = (t: string, len: number) => {
    const runs = t.match(/[ぁ-んァ-ン一-龯]+/g)?.filter((r) => r.length >= len) ?? [];
    const run = pick(runs);
    const at = Math.floor(rand() * (run.length - len + 1));
    return run.slice(at, at + len);
  };
  const kinds: Record<string, () => string> = {
    'word (common, rank 10–100)': () => VOCAB[10 + Math.floor(rand() * 90)] as string,
    'rare word (rank 100–20000)': () => VOCAB[100 + Math.floor(rand() * 19_900)] as string,
    'word from a screenshot': () => pick(words(pick(en))),
    'two words': () => {
      const t = words(pick(en));
      return `${pick(t)} ${pick(t)}`;
    },
    '"phrase"': () => {
      const t = pick(en).split('\n')[0]?.split(' ') ?? [];
      const at = Math.floor(rand() * Math.max(1, t.length - 1));
      return `"${t.slice(at, at + 2).join(' ')}"`;
    },
    'Japanese, 3–5 characters': () => jaRun(pick(ja), 3 + Math.floor(rand() * 3)),
    'app:"…" + word': () => `app:"${pick(APPS.filter(Boolean))}" ${pick(words(pick(en)))}`,
    'since:/until: + word': () => `since:2020-06-01 until:2021-06-30 ${pick(words(pick(en)))}`,
    'title: + date:': () =>
      `title:screenshot date:2021-0${1 + Math.floor(rand() * 9)}-1${Math.floor(rand() * 9)}`,
    'Japanese, 1–2 characters': () => jaRun(pick(ja), 1 + Math.floor(rand() * 2)),
    'two ASCII characters': () => pick(VOCAB.slice(0, 50)).slice(0, 2),
  };
  return Object.fromEntries(
    Object.entries(kinds).map(([k, make]) => [k, Array.from({ length: PER_KIND }, make)]),
  );
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
const fmt = (ms: number) => ms.toFixed(2).padStart(7);

function report(title: string, results: Record<string, { times: number[]; hits: number[] }>) {
  console.log(`\n${title}`);
  console.log(`${'query kind'.padEnd(30)}    p50      p95      p99   median total`);
  const all: number[] = [];
  for (const [kind, { times, hits }] of Object.entries(results)) {
    const sorted = [...times].sort((a, b) => a - b);
    all.push(...times);
    const medianHits = [...hits].sort((a, b) => a - b)[Math.floor(hits.length / 2)];
    console.log(
      `${kind.padEnd(30)} ${fmt(percentile(sorted, 50))}  ${fmt(percentile(sorted, 95))}  ${fmt(percentile(sorted, 99))}   ${medianHits}`,
    );
  }
  const sorted = all.sort((a, b) => a - b);
  console.log(
    `${'all'.padEnd(30)} ${fmt(percentile(sorted, 50))}  ${fmt(percentile(sorted, 95))}  ${fmt(percentile(sorted, 99))}   (ms)`,
  );
}

/** A data dir an earlier run kept: new tokens for its users, and texts sampled from its rows. */
async function reuse(dataDir: string) {
  const rt = await openRuntime(loadConfig({ dataDir, host: '127.0.0.1', port: 0 }, {}));
  const users: Array<{ id: number; token: string }> = [];
  for (const name of ['bench-search', 'bench-other']) {
    const id = (await rt.store.users.findByName(name))?.id as number;
    users.push({ id, token: (await rt.accounts.createToken(name, 'bench')).token });
  }
  await rt.close();
  const db = new SQLite(path.join(dataDir, SQLITE_FILE), { readonly: true });
  const texts = (
    db
      .prepare('SELECT ocr_text FROM images WHERE user_id = ? AND seq % 37 = 0 LIMIT 2000')
      .all(users[0]?.id) as Array<{
      ocr_text: string;
    }>
  ).map((r) => r.ocr_text);
  db.close();
  return { users, texts };
}

async function main() {
  const reused = process.env.BENCH_SEARCH_DIR;
  const dataDir = reused ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-bench-search-')));
  try {
    const t0 = performance.now();
    const { users, texts } = reused ? await reuse(dataDir) : await build(dataDir);
    if (!reused) {
      console.log(
        `built ${IMAGES} images (+${Math.round(IMAGES / 10)} of another user) with OCR text in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
    const mix = queries(texts);
    const rt = await openRuntime(loadConfig({ dataDir, host: '127.0.0.1', port: 0 }, {}));
    const row = await rt.store.users.findById(users[0]?.id as number);
    if (!row) throw new Error('no user');
    const user = principalOf(row, 'local');

    const service: Record<string, { times: number[]; hits: number[] }> = {};
    for (const [kind, list] of Object.entries(mix)) {
      for (const q of list.slice(0, 3)) await rt.images.search(user, q, 1, 20); // warm
      service[kind] = { times: [], hits: [] };
      for (const q of list) {
        const t = performance.now();
        const page = await rt.images.search(user, q, 1, 20);
        service[kind].times.push(performance.now() - t);
        service[kind].hits.push(page.total);
        if (process.env.BENCH_VERBOSE) console.log(kind, JSON.stringify(q), page.total);
      }
    }
    report('ImagesService.search, page 1 of 20 with the total', service);

    const app = await buildApp(rt);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const http: Record<string, { times: number[]; hits: number[] }> = {};
    for (const [kind, list] of Object.entries(mix)) {
      http[kind] = { times: [], hits: [] };
      for (const q of list) {
        const t = performance.now();
        const res = await fetch(
          `http://127.0.0.1:${port}/api/search?access_token=${users[0]?.token}&query=${encodeURIComponent(q)}`,
        );
        await res.arrayBuffer();
        http[kind].times.push(performance.now() - t);
        http[kind].hits.push(Number(res.headers.get('x-total-count')));
        if (res.status !== 200) throw new Error(`${q}: ${res.status}`);
      }
    }
    report('GET /api/search over HTTP, one request at a time', http);
    await app.close();
    await rt.close();
  } finally {
    if (process.env.BENCH_KEEP) console.log(`data dir kept: ${dataDir}`);
    else if (!reused) await fs.rm(dataDir, { recursive: true, force: true });
  }
}

await main();
