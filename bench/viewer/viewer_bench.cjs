// The browser viewer on a 6007x4001 image over loopback: headless Chromium opens /view/IMAGE from
// `pipit serve`, and the script times, for the opening view and three moves (zoom in one level,
// zoom to full resolution, pan half a screen there), the first picture, the whole view covered
// and the whole view refined, then prints a table. Beside each step, two references measured in
// the same run: `opj_decompress` decoding the region of the view at the same reduction from the
// local file, and `curl` fetching the view-window in one stateless JPIP request from the same
// server.
//
//   NODE_PATH=build/viewer-npm/node_modules PIPIT_BIN=build/src/tools/pipit/pipit \
//   PIPIT_VIEWER_DIR=build/viewer node bench/viewer/viewer_bench.cjs [--tiles N] [--data DIR]
//
// The image is bench/server/make_browse_codestream.sh's (one tile, 9/7, 6 resolutions, 256x256
// precincts, RPCL, 5 layers, PLT; ~18 MB), made once in DIR (default build/bench-viewer/).
// `--tiles N` re-encodes the same picture with NxN tiles.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const puppeteer = require('puppeteer-core');

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const tiles = Number(opt('--tiles', '0'));
const repo = path.resolve(__dirname, '../..');
const dataDir = path.resolve(opt('--data', path.join(repo, 'build/bench-viewer')));
const PIPIT = process.env.PIPIT_BIN || path.join(repo, 'build/src/tools/pipit/pipit');
const W = 6007, H = 4001;
const VIEW_W = 1280, VIEW_H = 800;

function makeImage() {
  fs.mkdirSync(dataDir, { recursive: true });
  const browse = execFileSync('bash', [path.join(repo, 'bench/server/make_browse_codestream.sh'), dataDir, String(W), String(H)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  if (tiles <= 0) return browse;
  const out = path.join(dataDir, `browse-${W}x${H}-t${tiles}.j2k`);
  if (fs.existsSync(out)) return out;
  const ppm = path.join(dataDir, 'image.ppm');
  execFileSync('/usr/bin/python3', [path.join(repo, 'bench/make_ppm.py'), String(W), String(H), '6', ppm]);
  execFileSync('opj_compress', ['-i', ppm, '-o', out, '-I', '-n', '6', '-c', '[256,256]', '-p', 'RPCL', '-b', '64,64',
    '-r', '64,32,16,8,4', '-PLT', '-t', `${tiles},${tiles}`], { stdio: 'ignore' });
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

const ms = (f) => { const t = process.hrtime.bigint(); f(); return Number(process.hrtime.bigint() - t) / 1e6; };

// The references for a view: region (x0, y0, x1, y1) of the full-resolution image at d.
function references(file, port, d, region) {
  const [x0, y0, x1, y1] = region;
  const out = path.join(dataDir, 'region.ppm');
  const opj = ms(() => execFileSync('opj_decompress', ['-i', file, '-o', out, '-r', String(d), '-d', `${x0},${y0},${x1},${y1}`], { stdio: 'ignore' }));
  fs.rmSync(out, { force: true });
  const s = 2 ** d;
  const fx = Math.ceil(W / s), fy = Math.ceil(H / s);
  const rx = Math.floor(x0 / s), ry = Math.floor(y0 / s);
  const url = `http://127.0.0.1:${port}/${path.basename(file)}?type=jpp-stream&fsiz=${fx},${fy}&roff=${rx},${ry}&rsiz=${Math.ceil(x1 / s) - rx},${Math.ceil(y1 / s) - ry}`;
  let bytes = 0;
  const curl = ms(() => { bytes = Number(execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{size_download}', url], { encoding: 'utf8' })); });
  return { opj, curl, curlBytes: bytes };
}

(async () => {
  const file = makeImage();
  const size = fs.statSync(file).size;
  const server = await startServer(dataDir);
  const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'], protocolTimeout: 600000 });
  const rows = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: VIEW_W, height: VIEW_H, deviceScaleFactor: 1 });
    const viewer = '`/view/' + path.basename(file) + '`';
    await page.goto(`http://127.0.0.1:${server.port}/view/${path.basename(file)}`);
    await page.waitForFunction(() => (window.pipitViewer && window.pipitViewer.settled()) || !document.getElementById('message').hidden, { timeout: 300000, polling: 250 });
    const failed = await page.evaluate(() => document.getElementById('message').hidden ? null : document.getElementById('message').textContent);
    if (failed) throw new Error(`the page shows: ${failed}`);
    const measure = async (label, t0) => {
      // t0: performance.now() in the page when the step began (0: navigation start)
      const m = await page.evaluate((t0) => {
        const v = window.pipitViewer;
        const tiles = v.viewTiles();
        const drawn = tiles.map((t) => t.firstDrawAt).filter((x) => x !== null);
        const ext = v.map.getView().calculateExtent(v.map.getSize());
        return {
          first: Math.max(0, Math.min(...drawn) - t0),
          covered: Math.max(0, Math.max(...drawn) - t0),
          refined: v.state.settledAt - t0,
          d: tiles[0].d,
          bytes: v.jpip.bytesReceived,
          requests: v.jpip.requests,
          decodeMs: v.state.decodeMs,
          decodes: v.state.decodes,
          region: [Math.max(0, Math.floor(ext[0])), Math.max(0, Math.floor(-ext[3])), Math.min(6007, Math.ceil(ext[2])), Math.min(4001, Math.ceil(-ext[1]))],
        };
      }, t0);
      if (label === 'open') m.first = await page.evaluate(() => window.pipitViewer.state.firstPictureMs);
      const prev = rows.length ? rows[rows.length - 1].m : { bytes: 0, requests: 0, decodeMs: 0, decodes: 0 };
      rows.push({ label, m, prev, ref: references(file, server.port, m.d, m.region) });
      console.error(`${label}: ${JSON.stringify(m)}`);
    };
    await measure('open (fit the window)', 0);
    for (const [label, move] of [
      ['zoom in one level', (v) => { v.getView().setResolution(v.getView().getResolution() / 2); }],
      ['zoom to full resolution', (v) => { v.getView().setResolution(1); }],
      ['pan half a screen', (v) => { const c = v.getView().getCenter(); v.getView().setCenter([c[0] + 640, c[1] - 400]); }],
    ]) {
      const t0 = await page.evaluate((src) => {
        const t = performance.now();
        (0, eval)(src)(window.pipitViewer.map);
        return t;
      }, `(${move.toString()})`);
      await new Promise((r) => setTimeout(r, 50));
      await page.waitForFunction(() => window.pipitViewer.settled(), { timeout: 300000, polling: 250 });
      await measure(label, t0);
    }
    const err = await page.evaluate(() => window.pipitViewer.state.error);
    if (err) throw new Error(err);
  } finally {
    await browser.close();
    server.proc.kill('SIGTERM');
  }
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1];
  console.log(`image ${W}x${H} RGB, ${tiles > 0 ? `${tiles}x${tiles} tiles` : 'one tile'}, ${size} bytes; viewport ${VIEW_W}x${VIEW_H}; ` +
    `${require('node:os').cpus().length} cores (${cpu}), load average ${require('node:os').loadavg()[0].toFixed(1)}`);
  console.log('| step | level | first picture ms | view covered ms | view refined ms | bytes | requests | decoding ms (decodes) | opj_decompress region ms | curl view ms (bytes) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const r0 = (x) => Math.round(x);
  for (const { label, m, prev, ref } of rows)
    console.log(`| ${label} | ${m.d} | ${r0(m.first)} | ${r0(m.covered)} | ${r0(m.refined)} | ${m.bytes - prev.bytes} | ${m.requests - prev.requests} | ` +
      `${r0(m.decodeMs - prev.decodeMs)} (${m.decodes - prev.decodes}) | ${r0(ref.opj)} | ${r0(ref.curl)} (${ref.curlBytes}) |`);
})().catch((e) => { console.error(e); process.exit(1); });
