import {
  block,
  CJK,
  MONO,
  renderPng,
  SANS,
  type Screenshot,
  type TextLine,
} from '../test/helpers/text-images.ts';

/**
 * The OCR benchmark's corpus: 1280×720 screenshots made in code with known text. UI chrome,
 * code, small text, Japanese chat and mixed pages, in light and dark themes.
 */

export interface CorpusImage {
  name: string;
  kind: string;
  png: Buffer;
  /** Every line of text drawn, with its language. */
  truth: Array<{ text: string; lang: 'en' | 'ja' }>;
}

const WIDTH = 1280;
const HEIGHT = 720;

const WORDS = `account settings profile security privacy notifications display language region backup
restore storage devices network connected available update download upload install version release
project repository branch commit merge request review comment issue milestone label assign owner
meeting calendar schedule invite agenda minutes summary report invoice payment billing subscription
customer support ticket priority status pending approved rejected closed archive folder document
preview shared private public team member role admin editor viewer permission password email address
phone number street city country today yesterday tomorrow morning evening weekly monthly yearly
search filter sort export import print share delete rename move copy paste undo redo refresh
dashboard analytics traffic visitors sessions conversion revenue growth quarter target forecast
server database cluster instance memory processor latency throughput errors warnings logs alerts`.split(
  /\s+/,
);

const JA = [
  '明日の会議は十時からです',
  '了解しました。資料を準備します',
  'お疲れ様です。今週の進捗を共有します',
  'レビューありがとうございます',
  'この件は来週までに対応します',
  '画面のデザインを少し変更しました',
  'サーバーの再起動が完了しました',
  '昼ご飯は何にしますか',
  '駅の近くに新しい店ができました',
  '申し訳ありませんが、少し遅れます',
  '添付のファイルを確認してください',
  '週末は雨が降るそうです',
  '新しい機能のテストをお願いします',
  '先ほどの質問に回答しました',
  'お客様から問い合わせがありました',
  '会議室の予約を変更しました',
  '明後日の打ち合わせは延期になりました',
  '来月の予定表を送ります',
  'ログイン画面でエラーが出ています',
  '修正版を本番環境に反映しました',
  '写真をアルバムに追加しました',
  '東京は今日とても暑いです',
  '新幹線の切符を予約しました',
  '報告書の締め切りは金曜日です',
];

const NAMES_JA = ['田中', '佐藤', '鈴木', '高橋', '伊藤', '山本'];

const THEMES = {
  light: { bg: '#ffffff', panel: '#f0f2f5', bar: '#e3e6ea', text: '#1f2328', muted: '#57606a' },
  dark: { bg: '#1e1f22', panel: '#2b2d31', bar: '#111214', text: '#e6e6e6', muted: '#a0a4ab' },
};
type Theme = (typeof THEMES)['light'];

function random(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** Words joined into a line that fits `maxWidth` at `size` (average glyph width ≈ 0.6 em). */
function sentence(rand: () => number, size: number, maxWidth: number, capital = true): string {
  const words: string[] = [];
  let width = 0;
  for (;;) {
    const word = WORDS[Math.floor(rand() * WORDS.length)] ?? 'word';
    const w = (word.length + 1) * size * 0.6;
    if (width + w > maxWidth && words.length > 2) break;
    words.push(word);
    width += w;
  }
  if (capital && words[0]) words[0] = words[0][0]?.toUpperCase() + words[0].slice(1);
  return words.join(' ');
}

function uiPage(seed: number, theme: Theme, size: number): Screenshot & { truthLines: string[] } {
  const rand = random(seed);
  const sidebar = Array.from({ length: 8 }, () => {
    const w = WORDS[Math.floor(rand() * WORDS.length)] ?? 'menu';
    return w[0]?.toUpperCase() + w.slice(1);
  });
  const heading = sentence(rand, 24, 600);
  const body = Array.from({ length: Math.floor((HEIGHT - 220) / (size * 1.8)) }, () =>
    sentence(rand, size, 880),
  );
  const button = ['Save changes', 'Cancel', 'Continue', 'Sign out', 'Apply filter'][seed % 5] ?? 'OK';
  const lines: TextLine[] = [
    { text: `Gazo Console - ${sidebar[0]}`, x: 16, y: 26, size: 14, color: theme.muted },
    ...block(sidebar, { x: 24, y: 90, size, color: theme.text, spacing: 2.4 }),
    { text: heading, x: 300, y: 100, size: 24, color: theme.text, bold: true },
    ...block(body, { x: 300, y: 150, size, color: theme.text, spacing: 1.8 }),
    { text: button, x: 1100, y: 678, size, color: '#ffffff' },
  ];
  return {
    width: WIDTH,
    height: HEIGHT,
    background: theme.bg,
    boxes: [
      { x: 0, y: 0, width: WIDTH, height: 40, fill: theme.bar },
      { x: 0, y: 40, width: 260, height: HEIGHT - 40, fill: theme.panel },
      { x: 1080, y: 650, width: 170, height: 42, fill: '#1f6feb' },
    ],
    lines,
    truthLines: lines.map((l) => l.text),
  };
}

const CODE = [
  'import { readFile } from "node:fs/promises";',
  'export async function loadConfig(path) {',
  '  const text = await readFile(path, "utf8");',
  '  const config = JSON.parse(text);',
  '  if (!config.port) throw new Error("port missing");',
  '  return { ...defaults, ...config };',
  '}',
  'function parseInvoice(total, rate) {',
  '  return Math.round(total * (1 + rate) * 100) / 100;',
  'const server = createServer(handler);',
  'server.listen(8080, "127.0.0.1");',
  'for (const item of items) console.log(item.name);',
  'def fetch_user(user_id: int) -> dict:',
  '    row = db.execute("SELECT * FROM users WHERE id = ?", user_id)',
  '    return dict(row)',
  'SELECT name, email FROM accounts ORDER BY created_at DESC;',
];

function codePage(seed: number, theme: Theme): Screenshot & { truthLines: string[] } {
  const rand = random(seed);
  const code = Array.from({ length: 20 }, () => CODE[Math.floor(rand() * CODE.length)] ?? '}');
  const lines = block(code, { x: 70, y: 70, size: 15, font: MONO, color: theme.text, spacing: 1.6 });
  const numbers = code.map((_, i) => ({
    text: String(i + 1),
    x: 20,
    y: 70 + i * 24,
    size: 15,
    font: MONO,
    color: theme.muted,
  }));
  return {
    width: WIDTH,
    height: HEIGHT,
    background: theme.bg,
    lines: [...numbers, ...lines],
    truthLines: [...numbers, ...lines].map((l) => l.text),
  };
}

function chatPage(seed: number, theme: Theme, mixed: boolean): Screenshot & { truth: CorpusImage['truth'] } {
  const rand = random(seed);
  const lines: TextLine[] = [];
  const truth: CorpusImage['truth'] = [];
  let y = 60;
  for (let i = 0; y < HEIGHT - 40; i++) {
    const name = NAMES_JA[Math.floor(rand() * NAMES_JA.length)] ?? '田中';
    const time = `${10 + (i % 10)}:${String(Math.floor(rand() * 60)).padStart(2, '0')}`;
    const header = `${name}さん ${time}`;
    lines.push({ text: header, x: 40, y, size: 15, font: CJK, color: theme.muted, bold: true });
    truth.push({ text: header, lang: 'ja' });
    y += 30;
    const jp = JA[Math.floor(rand() * JA.length)] ?? JA[0] ?? '';
    lines.push({ text: jp, x: 40, y, size: 17, font: CJK, color: theme.text });
    truth.push({ text: jp, lang: 'ja' });
    y += 30;
    if (mixed) {
      const en = sentence(rand, 16, 700);
      lines.push({ text: en, x: 40, y, size: 16, font: SANS, color: theme.text });
      truth.push({ text: en, lang: 'en' });
      y += 30;
    }
    y += 14;
  }
  return { width: WIDTH, height: HEIGHT, background: theme.bg, lines, truth };
}

/** The corpus, the same on every run. */
export async function makeCorpus(): Promise<CorpusImage[]> {
  const images: CorpusImage[] = [];
  const en = (name: string, kind: string, shot: Screenshot & { truthLines: string[] }) =>
    renderPng(shot).then((png) =>
      images.push({ name, kind, png, truth: shot.truthLines.map((text) => ({ text, lang: 'en' as const })) }),
    );
  for (let i = 0; i < 6; i++) await en(`ui-light-${i}`, 'ui light', uiPage(100 + i, THEMES.light, 14));
  for (let i = 0; i < 4; i++) await en(`ui-dark-${i}`, 'ui dark', uiPage(200 + i, THEMES.dark, 14));
  for (let i = 0; i < 2; i++) await en(`small-light-${i}`, 'small text', uiPage(300 + i, THEMES.light, 11));
  for (let i = 0; i < 2; i++) await en(`small-dark-${i}`, 'small text', uiPage(400 + i, THEMES.dark, 11));
  for (let i = 0; i < 4; i++) await en(`code-light-${i}`, 'code', codePage(500 + i, THEMES.light));
  for (let i = 0; i < 4; i++) await en(`code-dark-${i}`, 'code', codePage(600 + i, THEMES.dark));
  for (let i = 0; i < 6; i++) {
    const shot = chatPage(700 + i, i % 2 ? THEMES.dark : THEMES.light, false);
    images.push({
      name: `chat-ja-${i}`,
      kind: 'japanese chat',
      png: await renderPng(shot),
      truth: shot.truth,
    });
  }
  for (let i = 0; i < 4; i++) {
    const shot = chatPage(800 + i, i % 2 ? THEMES.dark : THEMES.light, true);
    images.push({ name: `mixed-${i}`, kind: 'mixed', png: await renderPng(shot), truth: shot.truth });
  }
  return images;
}
