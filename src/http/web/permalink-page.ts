import type { Runtime } from '../../runtime.ts';
import type { ImageRow } from '../../store/schema.ts';
import { html, type SafeHtml } from './html.ts';

const STYLE = `
  body { margin: 0; background: #1d1f21; color: #e8e8e8; font: 15px/1.5 system-ui, sans-serif; }
  main { max-width: 1200px; margin: 0 auto; padding: 24px; text-align: center; }
  img { max-width: 100%; height: auto; box-shadow: 0 2px 16px #000a; background: #fff; }
  h1 { font-size: 18px; font-weight: 600; margin: 16px 0 4px; }
  p { margin: 4px 0; color: #bbb; white-space: pre-wrap; }
  [dir=auto] { unicode-bidi: isolate; }
  a { color: #8ab4f8; }
`;

function page(title: string, head: SafeHtml | string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
${head}
<style>${STYLE}</style>
</head>
<body><main>${body}</main></body>
</html>
`.value;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what must not reach a tag.
const UNISOLABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u202A-\u202E\u2066-\u2069]/g;

/**
 * Text for `<title>` and attribute values, where no markup can isolate it: without bidi
 * embeddings, overrides and isolates (which would reorder what follows in a tab title or a
 * link preview) and without control characters (rows written before they were refused).
 */
const flat = (text: string) => text.replace(UNISOLABLE, '');
/** A link target keeps where it points: the same characters, percent-encoded. */
const flatUrl = (url: string) => url.replace(UNISOLABLE, encodeURIComponent);

/** The permalink page: the image, its public metadata, and the tags that make it embed well. */
export const permalinkPage = {
  render(rt: Runtime, row: ImageRow): string {
    const permalink = rt.urls.permalink(row.image_id);
    const raw = rt.urls.raw(row.image_id, row.type);
    // Title, description and source URL are shown only when the uploader made them public.
    const isPublic = row.metadata_is_public;
    // In the head and in attributes, flat text; in the body, user text sits in an element with
    // dir="auto" (isolated: a bidi control in it cannot reorder the page around it).
    const title = flat((isPublic && row.title) || 'Image on Gazo');
    const desc = isPublic ? row.desc : '';
    const flatDesc = flat(desc);
    const source = isPublic && row.url && /^https?:\/\//i.test(row.url) ? row.url : undefined;
    const head = html`
<link rel="alternate" type="application/json+oembed" href="${rt.urls.oembed(permalink)}" title="${title}">
<link rel="canonical" href="${permalink}">
<meta property="og:type" content="website">
<meta property="og:site_name" content="Gazo">
<meta property="og:title" content="${title}">
<meta property="og:url" content="${permalink}">
<meta property="og:image" content="${raw}">
<meta property="og:image:width" content="${row.width}">
<meta property="og:image:height" content="${row.height}">
${desc ? html`<meta property="og:description" content="${flatDesc}">` : ''}
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="${title}">
<meta name="twitter:image" content="${raw}">
${desc ? html`<meta name="twitter:description" content="${flatDesc}">` : ''}`;
    const body = html`
<a href="${raw}"><img src="${raw}" width="${row.width}" height="${row.height}" alt="${flat(row.alt_text) || title}"></a>
${isPublic && row.title ? html`<h1 dir="auto">${row.title}</h1>` : ''}
${desc ? html`<p dir="auto">${desc}</p>` : ''}
${source ? html`<p dir="auto"><a href="${flatUrl(source)}" rel="nofollow noopener noreferrer">${source}</a></p>` : ''}`;
    return page(title, head, body);
  },

  notFound(): string {
    return page('Not found - Gazo', '', html`<h1>This image does not exist, or is not yours to see.</h1>`);
  },

  /** Only our own images may load; no script at all. */
  csp(rt: Runtime): string {
    return `default-src 'none'; img-src ${rt.config.urls.image} 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'`;
  },
};
