import { html, type SafeHtml } from './html.ts';

/** A time as pages write it: UTC, to the minute. */
export const utcMinute = (ms: number) =>
  `${new Date(Number(ms)).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** A time as pages show it, machine-readable in `datetime`. */
export function timeTag(ms: number): SafeHtml {
  return html`<time datetime="${new Date(Number(ms)).toISOString()}">${utcMinute(ms)}</time>`;
}
