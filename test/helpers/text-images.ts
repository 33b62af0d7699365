import { execFileSync } from 'node:child_process';
import sharp from 'sharp';

/** Screenshots with known text, rendered here from SVG with real fonts (never committed files). */

export const SANS = 'DejaVu Sans';
export const MONO = 'DejaVu Sans Mono';
export const CJK = 'Noto Sans CJK JP';

/**
 * Fails loudly when a font the text images need is not installed: a Japanese screenshot rendered
 * without a CJK font is boxes, and a test reading it would fail for the wrong reason.
 */
export function requireFonts(): void {
  for (const family of [SANS, MONO, CJK]) {
    const found = execFileSync('fc-list', [`:family=${family}`, 'family'], { encoding: 'utf8' }).trim();
    if (!found) {
      throw new Error(
        `font "${family}" is not installed; the OCR tests render text with it (apt-get install -y fonts-dejavu-core fonts-noto-cjk)`,
      );
    }
  }
}

export interface TextLine {
  text: string;
  x: number;
  /** Baseline. */
  y: number;
  size: number;
  font?: string;
  color?: string;
  bold?: boolean;
}

export interface Screenshot {
  width: number;
  height: number;
  background: string;
  /** Flat boxes drawn under the text: title bars, sidebars, buttons. */
  boxes?: Array<{ x: number; y: number; width: number; height: number; fill: string }>;
  lines: TextLine[];
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function toSvg(shot: Screenshot): string {
  const boxes = (shot.boxes ?? []).map(
    (b) => `<rect x="${b.x}" y="${b.y}" width="${b.width}" height="${b.height}" fill="${b.fill}"/>`,
  );
  const lines = shot.lines.map(
    (l) =>
      `<text x="${l.x}" y="${l.y}" font-family="${l.font ?? SANS}" font-size="${l.size}" font-weight="${l.bold ? 'bold' : 'normal'}" fill="${l.color ?? '#202020'}" xml:space="preserve">${escapeXml(l.text)}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${shot.width}" height="${shot.height}"><rect width="100%" height="100%" fill="${shot.background}"/>${boxes.join('')}${lines.join('')}</svg>`;
}

export function renderPng(shot: Screenshot): Promise<Buffer> {
  return sharp(Buffer.from(toSvg(shot)))
    .png()
    .toBuffer();
}

/** Lines of text one under another, in one colour, from (x, y). */
export function block(
  texts: string[],
  at: { x: number; y: number; size: number; font?: string; color?: string; spacing?: number },
): TextLine[] {
  return texts.map((text, i) => ({
    text,
    x: at.x,
    y: at.y + i * Math.round(at.size * (at.spacing ?? 1.6)),
    size: at.size,
    font: at.font,
    color: at.color,
  }));
}
