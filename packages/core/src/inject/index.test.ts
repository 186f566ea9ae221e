import { describe, expect, it } from 'vitest';
import { appIdBinding, injectHtml, isHtmlPath, scriptJson } from './index.js';

const TAG = '<script>window.ENV = {"APP_ID":"app_123"}</script>';

/** Runs the injected scripts the way a browser would, and returns window.ENV. */
function envOf(html: string): unknown {
  const window: { ENV?: unknown } = {};
  for (const match of html.matchAll(/<script>([\s\S]*?)<\/script>/g)) {
    new Function('window', match[1] as string)(window);
  }
  return window.ENV;
}

describe('injectHtml', () => {
  it('puts window.ENV before the first script in <head>', () => {
    const html =
      '<!doctype html>\n<html>\n  <head>\n    <meta charset="utf-8">\n    <script type="module" src="/a.js"></script>\n  </head>\n</html>';
    const out = injectHtml(html, 'app_123');
    expect(out).toBe(
      `<!doctype html>\n<html>\n  <head>\n    <meta charset="utf-8">\n    ${TAG}\n    <script type="module" src="/a.js"></script>\n  </head>\n</html>`,
    );
  });

  it('goes at the end of a <head> without scripts, even when <body> has some', () => {
    const out = injectHtml(
      '<html><head><title>t</title></head><body><script src="/b.js"></script></body></html>',
      'app_123',
    );
    expect(out).toBe(`<html><head><title>t</title>${TAG}</head><body><script src="/b.js"></script></body></html>`);
  });

  it('works without <head>, and without <html>', () => {
    expect(injectHtml('<!DOCTYPE html><html lang="en"><body>x</body></html>', 'app_123')).toBe(
      `<!DOCTYPE html><html lang="en">${TAG}<body>x</body></html>`,
    );
    expect(injectHtml('<!doctype html><p>hi</p>', 'app_123')).toBe(`<!doctype html>${TAG}<p>hi</p>`);
    expect(injectHtml('<p>hi</p>', 'app_123')).toBe(`${TAG}<p>hi</p>`);
  });

  it('is idempotent: a second injection replaces the first', () => {
    const html = '<html><head>\n  <script src="/a.js"></script>\n</head></html>';
    const once = injectHtml(html, 'app_1');
    const twice = injectHtml(once, 'app_2');
    expect(twice).toBe(injectHtml(html, 'app_2'));
    expect(twice.match(/window\.ENV/g)).toHaveLength(1);
    expect(envOf(twice)).toEqual({ APP_ID: 'app_2' });
  });

  it("keeps a page's own window.ENV keys and adds APP_ID after them", () => {
    const html =
      '<html><head><script>window.ENV = { API: "/v2", APP_ID: "stale" }</script><script src="/a.js"></script></head></html>';
    const out = injectHtml(html, 'app_123');
    expect(envOf(out)).toEqual({ API: '/v2', APP_ID: 'app_123' });
    expect(injectHtml(out, 'app_9')).toBe(injectHtml(html, 'app_9'));
  });

  it('escapes the id so it cannot leave the script', () => {
    const evil = '</script><script>alert(1)</script>\u2028"';
    const out = injectHtml('<html><head></head></html>', evil);
    expect(out).not.toContain('</script><script>alert(1)');
    expect(envOf(out)).toEqual({ APP_ID: evil });
    expect(injectHtml(out, 'ok')).toBe(injectHtml('<html><head></head></html>', 'ok'));
  });

  it('replaces {{APP_ID}} escaped for text, attributes and scripts', () => {
    const html =
      '<html><head><meta name="app" content="{{APP_ID}}"><script>const id = "{{ APP_ID }}"; const b = \'{{APP_ID}}\';</script></head><body><p>{{APP_ID}}</p></body></html>';
    const id = `a"b'<c>&`;
    const out = injectHtml(html, id);
    expect(out).toContain('<meta name="app" content="a&quot;b&#39;&lt;c&gt;&amp;">');
    expect(out).toContain('<p>a&quot;b&#39;&lt;c&gt;&amp;</p>');
    const script = /<script>const id = ([\s\S]*?)<\/script>/.exec(out)?.[1] as string;
    const values: string[] = [];
    new Function('values', `const id = ${script}; values.push(id, b);`)(values);
    expect(values).toEqual([id, id]);
    expect(out).not.toContain('{{');
  });

  it('replaces {{APP_ID}} in <style> with CSS escapes, and in <title> with HTML escapes', () => {
    const html =
      '<html><head><title>{{APP_ID}}</title><style>.app::after { content: "{{APP_ID}}" } .i { background: url(\'/i/{{APP_ID}}.png\') }</style></head></html>';
    expect(injectHtml(html, 'app_123-x')).toContain(
      '<style>.app::after { content: "app_123-x" } .i { background: url(\'/i/app_123-x.png\') }</style>',
    );
    const evil = `a"b'</style><script>alert(1)</script>\\ é`;
    const out = injectHtml(html, evil);
    const style = /<style>([\s\S]*?)<\/style>/.exec(out)?.[1] as string;
    expect(style).not.toMatch(/[<>"']app|<\/|alert\(/);
    // What a CSS parser reads back from the string and the url: the id exactly.
    const cssUnescape = (css: string) =>
      css.replace(/\\([0-9a-f]{1,6}) ?/gi, (_, hex) => String.fromCodePoint(parseInt(hex, 16)));
    expect(cssUnescape(/content: "([^"]*)"/.exec(style)?.[1] as string)).toBe(evil);
    expect(cssUnescape(/url\('\/i\/([^']*)\.png'\)/.exec(style)?.[1] as string)).toBe(evil);
    expect(out).toContain('<title>a&quot;b&#39;&lt;/style&gt;&lt;script&gt;alert(1)&lt;/script&gt;\\ é</title>');
  });

  it('knows which files are HTML', () => {
    expect(isHtmlPath('about/index.html')).toBe(true);
    expect(isHtmlPath('a.htm')).toBe(true);
    expect(isHtmlPath('A.HTML')).toBe(true);
    expect(isHtmlPath('app.js')).toBe(false);
  });
});

describe('scriptJson and appIdBinding', () => {
  it('keeps JSON valid while closing every way out of a script', () => {
    const text = scriptJson({ a: '</script><!--&\u2028' });
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual({ a: '</script><!--&\u2028' });
    expect(appIdBinding('x')).toEqual({ type: 'plain_text', name: 'APP_ID', text: 'x' });
  });
});
