// The browser viewer on a 6007x4001 image over loopback: headless Chromium opens
// /view/IMAGE from `pipit serve`, and the script times the first picture, the refined first view,
// a zoom to full resolution and a pan there, then prints a table.
//
//   NODE_PATH=build/viewer-npm/node_modules PIPIT_BIN=build/src/tools/pipit/pipit \
//     node bench/viewer/viewer_bench.cjs [--tiles 1024] [--keep DIR]
//
// The image is made on the spot (a synthetic RGB picture, opj_compress 9/7, 3 layers, 1024x1024
// tiles unless --tiles says otherwise; 0: one tile).
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const puppeteer = require('puppeteer-core');

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const tiles = Number(opt('--tiles', '1024'));
const PIPIT = process.env.PIPIT_BIN || path.resolve(__dirname, '../../build/src/tools/pipit/pipit');
const W = 6007, H = 4001;

function makeImage(dir) {
  const ppm = path.join(dir, 'big.ppm');
  const header = Buffer.from(`P6\n${W} ${H}\n255\n`);
  const data = Buffer.alloc(W * H * 3);
  for (let y = 0, i = 0; y < H; y++)
    for (let x = 0; x < W; x++, i += 3) {
      const ring = Math.floor(Math.hypot(x - 3000, y - 2000) / 23) % 2 ? 50 : 0;
      data[i] = (x * 255 / W + ring) & 255;
      data[i + 1] = (y * 255 / H + (((x >> 6) + (y >> 6)) % 2 ? 40 : 0)) & 255;
      data[i + 2] = ((x ^ y) >> 2) & 255;
    }
  fs.writeFileSync(ppm, Buffer.concat([header, data]));
  const out = path.join(dir, 'big.jp2');
  const a = ['-i', ppm, '-o', out, '-I', '-n', '6', '-r', '80,20,8', '-p', 'RPCL'];
  if (tiles > 0) a.push('-t', `${tiles},${tiles}`);
  execFileSync('opj_compress', a, { stdio: 'ignore' });
  fs.unlinkSync(ppm);
  return out;
}

function startServer(root) {
  return new Promise((resolve, reject) => {
    const proc = spawn(PIPIT, ['serve', '--root', root, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    proc.stdout.on('data', (c) => {
      out += c;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]) });
    });
    proc.on('error', reject);
  });
}

(async () => {
  const dir = opt('--keep', null) || fs.mkdtempSync(path.join(os.tmpdir(), 'pipit-viewer-bench-'));
  fs.mkdirSync(dir, { recursive: true });
  const file = fs.existsSync(path.join(dir, 'big.jp2')) ? path.join(dir, 'big.jp2') : makeImage(dir);
  const size = fs.statSync(file).size;
  const server = await startServer(dir);
  const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const rows = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800, deviceScaleFactor: 1 });
    const t0 = Date.now();
    await page.goto(`http://127.0.0.1:${server.port}/view/big.jp2`);
    await page.waitForFunction(() => window.pipitViewer && window.pipitViewer.state.firstPictureMs !== null, { timeout: 60000, polling: 10 });
    const first = Date.now() - t0;
    await page.waitForFunction(() => window.pipitViewer.settled(), { timeout: 120000, polling: 20 });
    const stats = () => page.evaluate(() => ({ bytes: window.pipitViewer.jpip.bytesReceived, requests: window.pipitViewer.jpip.requests }));
    let s = await stats();
    rows.push(['open: first picture', first, '', '']);
    rows.push(['open: whole view refined', Date.now() - t0, s.bytes, s.requests]);
    // zoom to full resolution at the centre, then pan by half a screen
    for (const [label, move] of [
      ['zoom to full resolution', (v) => { v.getView().setResolution(1); }],
      ['pan half a screen', (v) => { const c = v.getView().getCenter(); v.getView().setCenter([c[0] + 640, c[1] - 400]); }],
      ['zoom out two levels', (v) => { v.getView().setResolution(4); }],
    ]) {
      const before = await stats();
      await page.evaluate((src) => { window.__t = performance.now(); window.__v = window.pipitViewer.state.tilesDone; (0, eval)(src)(window.pipitViewer.map); }, `(${move.toString()})`);
      const t = Date.now();
      await page.waitForFunction(() => window.pipitViewer.state.tilesDone > window.__v, { timeout: 60000, polling: 10 }).catch(() => {});
      const firstTile = Date.now() - t;
      await page.waitForFunction(() => window.pipitViewer.settled(), { timeout: 120000, polling: 20 });
      s = await stats();
      rows.push([`${label}: first tile refined`, firstTile, '', '']);
      rows.push([`${label}: view refined`, Date.now() - t, s.bytes - before.bytes, s.requests - before.requests]);
    }
    const err = await page.evaluate(() => window.pipitViewer.state.error);
    if (err) throw new Error(err);
  } finally {
    await browser.close();
    server.proc.kill('SIGTERM');
  }
  console.log(`image ${W}x${H} RGB, ${tiles > 0 ? `${tiles}x${tiles} tiles` : 'one tile'}, ${size} bytes; viewport 1280x800`);
  console.log('| step | ms | bytes received | requests |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r[0]} | ${r[1]} | ${r[2]} | ${r[3]} |`);
  if (!opt('--keep', null)) fs.rmSync(dir, { recursive: true, force: true });
})().catch((e) => { console.error(e); process.exit(1); });
