/**
 * The viewer's page over real HTTP: its committed files served from memory
 * by name (never a path into the file system), revalidated by ETag, the HTML
 * under a content security policy that allows only the page's own scripts
 * and connections; its config says what the page needs and nothing secret.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type ServeHandle } from '../../src/serve/server.js';
import { loadViewerAssets, WEB_DIR } from '../../src/viewer/assets.js';
import { ConfigError } from '../../src/core/errors.js';

const open: ServeHandle[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function serve(token?: string): Promise<ServeHandle> {
  const s = await createServer({ port: 0, closeTimeoutMs: 500, ...(token ? { token } : {}), viewer: { assets: await loadViewerAssets(), fps: 5, maxWidth: 960 } });
  open.push(s);
  return s;
}

function fetchRaw(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the viewer page over HTTP', () => {
  it('serves the page and its modules, with a strict content policy and ETags', async () => {
    const s = await serve();
    const page = await fetchRaw(`${s.httpUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<script type="module" src="/viewer/app.js"></script>');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');

    // Every module the page loads is served, as JavaScript.
    const modules = [...page.body.matchAll(/src="(\/viewer\/[^"]+\.js)"/g)].map((m) => m[1]!);
    const app = await fetchRaw(`${s.httpUrl}/viewer/app.js`);
    modules.push(...[...app.body.matchAll(/from '\.\/([^']+\.js)'/g)].map((m) => `/viewer/${m[1]!}`));
    expect(modules).toContain('/viewer/connection.js');
    for (const m of modules) {
      const r = await fetchRaw(`${s.httpUrl}${m}`);
      expect(r.status, m).toBe(200);
      expect(r.headers['content-type'], m).toBe('text/javascript; charset=utf-8');
    }
    expect((await fetchRaw(`${s.httpUrl}/viewer/style.css`)).headers['content-type']).toBe('text/css; charset=utf-8');

    // Unchanged: 304 without a body.
    const again = await fetchRaw(`${s.httpUrl}/viewer/app.js`, { headers: { 'if-none-match': String(app.headers.etag) } });
    expect(again).toMatchObject({ status: 304, body: '' });
    // HEAD: headers only.
    expect(await fetchRaw(`${s.httpUrl}/`, { method: 'HEAD' })).toMatchObject({ status: 200, body: '' });
  });

  it('serves nothing but its own files: no type declarations, no traversal, no writes', async () => {
    const s = await serve();
    for (const p of ['/viewer/tsconfig.json', '/viewer/wire.d.ts', '/viewer/../assets.ts', '/viewer/%2e%2e/assets.ts', '/index.html', '/viewer/']) {
      expect((await fetchRaw(`${s.httpUrl}${p}`)).status, p).toBe(404);
    }
    const post = await fetchRaw(`${s.httpUrl}/`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('its config tells the page where to connect and whether to ask for a token, and is open', async () => {
    const open = await serve();
    expect(JSON.parse((await fetchRaw(`${open.httpUrl}/viewer/config.json`)).body)).toEqual({ wsPath: '/ws', authRequired: false, protocol: 3, pictures: { fps: 5, maxWidth: 960 }, events: false });
    const locked = await serve('t0ken');
    const config = await fetchRaw(`${locked.httpUrl}/viewer/config.json`);
    expect(config.status).toBe(200);
    expect(JSON.parse(config.body)).toMatchObject({ authRequired: true });
    expect(config.body).not.toContain('t0ken');
    expect((await fetchRaw(`${locked.httpUrl}/`)).status).toBe(200);
    expect((await fetchRaw(`${locked.httpUrl}/api/stats`)).status).toBe(401);
  });

  it('an install without the page fails at start with an error naming viewer.enabled', async () => {
    const err = await loadViewerAssets(`${WEB_DIR}/no-such-folder`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^viewer\.enabled: the viewer's files are missing .*set viewer\.enabled: false/);
  });
});
