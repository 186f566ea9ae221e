/**
 * APP_ID injection, done at deploy time (and by `reyna dev`) so one build serves many apps.
 * Pure string functions: no IO, so deploy, dev and tests share exactly one behaviour.
 */

/** The exact shapes of the script Reyna adds, so injecting again replaces it instead of adding a second one. */
const ID = '\\{"APP_ID":"(?:[^"\\\\]|\\\\.)*"\\}';
const OURS = new RegExp(
  `<script>window\\.ENV = (?:${ID}|Object\\.assign\\(window\\.ENV \\|\\| \\{\\}, ${ID}\\))</script>\\s*`,
  'g',
);

/** JSON that is safe inside an inline `<script>`: no `</script>`, no `<!--`, no JS line terminators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** The inside of a JS string literal (either quote), still safe inside an inline script. */
function escapeJsString(text: string): string {
  return scriptJson(text).slice(1, -1).replace(/'/g, "\\'");
}

/**
 * CSS escapes for every character but `[A-Za-z0-9_-]` and non-ASCII, so the id stays one token inside a CSS
 * string (either quote), a `url()` or an identifier, and cannot close the `<style>` (`<` becomes `\3c `).
 */
function escapeCss(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (code === 0) out += '\\fffd ';
    else if (/[A-Za-z0-9_-]/.test(ch) || code >= 0x80) out += ch;
    else out += `\\${code.toString(16)} `;
  }
  return out;
}

/** Where in the document a placeholder stands: HTML, an inline script, a style sheet, or a title/textarea. */
type Context = 'text' | 'script' | 'style' | 'rcdata';

const ESCAPE: Record<Exclude<Context, 'text'>, (text: string) => string> = {
  script: escapeJsString,
  style: escapeCss,
  // Their text is HTML text (entities are decoded), only tags are not.
  rcdata: escapeHtml,
};

/**
 * Replaces `{{APP_ID}}` escaped for where it stands: HTML text and attribute values get HTML escaping, inline
 * scripts JS string escaping, `<style>` CSS escaping; placeholders in comments are left alone.
 */
function replacePlaceholder(html: string, appId: string): string {
  if (!html.includes('{{')) return html;
  const placeholder = /\{\{\s*APP_ID\s*\}\}/g;
  let out = '';
  let i = 0;
  let context: Context = 'text';
  let rawEnd = '';
  while (i < html.length) {
    if (context !== 'text') {
      const end = html.toLowerCase().indexOf(rawEnd, i);
      const stop = end === -1 ? html.length : end;
      const escaped = ESCAPE[context](appId);
      out += html.slice(i, stop).replace(placeholder, () => escaped);
      i = stop;
      context = 'text';
      continue;
    }
    const lt = html.indexOf('<', i);
    const stop = lt === -1 ? html.length : lt;
    out += html.slice(i, stop).replace(placeholder, () => escapeHtml(appId));
    if (lt === -1) break;
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt);
      const close = end === -1 ? html.length : end + 3;
      out += html.slice(lt, close);
      i = close;
      continue;
    }
    // A tag: placeholders in attribute values get attribute escaping.
    const gt = findTagEnd(html, lt);
    const tag = html.slice(lt, gt);
    out += tag.replace(placeholder, () => escapeHtml(appId));
    i = gt;
    const name = /^<([a-zA-Z][\w-]*)/.exec(tag)?.[1]?.toLowerCase();
    if (name === 'script' || name === 'style' || name === 'textarea' || name === 'title') {
      context = name === 'script' ? 'script' : name === 'style' ? 'style' : 'rcdata';
      rawEnd = `</${name}`;
    }
  }
  return out;
}

/** The index just past the `>` that closes the tag opened at `start`, skipping quoted attribute values. */
function findTagEnd(html: string, start: number): number {
  let quote = '';
  for (let i = start + 1; i < html.length; i++) {
    const ch = html[i];
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '>') return i + 1;
  }
  return html.length;
}

/**
 * Puts `<script>window.ENV = {"APP_ID":"…"}</script>` before the first script in `<head>` (or at the end of
 * `<head>` when it has none), replaces `{{APP_ID}}` placeholders, and is idempotent: a second injection
 * replaces the first. A page that sets `window.ENV` itself keeps its other keys: ours then comes after it and
 * adds APP_ID to the object.
 * @example injectHtml('<html><head></head></html>', 'app_123')
 */
export function injectHtml(html: string, appId: string): string {
  const env = scriptJson({ APP_ID: appId });
  let doc = replacePlaceholder(html.replace(OURS, ''), appId);
  const headOpen = /<head(?:\s[^>]*)?>/i.exec(doc);
  if (!headOpen) {
    // No <head>: the HTML parser would make one right after <html> (or at the start), so that is where ours goes.
    const htmlOpen = /<html(?:\s[^>]*)?>/i.exec(doc);
    const doctype = /^\s*<!doctype[^>]*>/i.exec(doc);
    const at = htmlOpen ? htmlOpen.index + htmlOpen[0].length : doctype ? doctype[0].length : 0;
    return `${doc.slice(0, at)}<script>window.ENV = ${env}</script>${doc.slice(at)}`;
  }
  const headStart = headOpen.index + headOpen[0].length;
  const headClose = doc.toLowerCase().indexOf('</head>', headStart);
  const headEnd = headClose === -1 ? doc.length : headClose;
  const head = doc.slice(headStart, headEnd);
  const ownEnv = [...head.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)].filter((m) =>
    /\bwindow\.ENV\s*=/.test(m[1] ?? ''),
  );
  const last = ownEnv[ownEnv.length - 1];
  if (last?.index !== undefined) {
    const at = headStart + last.index + last[0].length;
    const tag = `<script>window.ENV = Object.assign(window.ENV || {}, ${env})</script>`;
    return `${doc.slice(0, at)}${tag}${doc.slice(at)}`;
  }
  const firstScript = /<script\b/i.exec(head);
  const at = firstScript ? headStart + firstScript.index : headEnd;
  const indent = firstScript ? (/\n([ \t]*)$/.exec(head.slice(0, firstScript.index))?.[1] ?? '') : '';
  const tag = `<script>window.ENV = ${env}</script>${firstScript ? `\n${indent}` : ''}`;
  doc = `${doc.slice(0, at)}${tag}${doc.slice(at)}`;
  return doc;
}

/** True for the files injection applies to. */
export function isHtmlPath(path: string): boolean {
  return /\.html?$/i.test(path);
}

/** The Worker's plain-text binding, in the Workers API's shape. */
export function appIdBinding(appId: string): { type: 'plain_text'; name: 'APP_ID'; text: string } {
  return { type: 'plain_text', name: 'APP_ID', text: appId };
}
