// The browser viewer in a real browser: headless Chromium (Debian's) driven by puppeteer-core
// opens the page `pipit serve` serves at /view/IMAGE, zooms and pans, and compares the pixels
// of the fully refined view on the map's canvas with OpenJPEG's decode of the same region of the
// file (opj_decompress: exact for lossless files, and for lossy ones, since the page decodes
// with OpenJPEG too). Damaged input and a stopped server must show a message.
//
//   PIPIT_BIN=build/src/tools/pipit/pipit NODE_PATH=build/viewer-npm/node_modules \
//     node --test tests/viewer/viewer_test.cjs
//
// PIPIT_VIEWER_SHOTS=DIR also saves screenshots of a progressive refinement there (docs/img/).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const puppeteer = require('puppeteer-core');

const PIPIT = process.env.PIPIT_BIN || path.resolve(__dirname, '../../build/src/tools/pipit/pipit');
const CHROMIUM = process.env.PIPIT_CHROMIUM || '/usr/bin/chromium';

// ---- images made on the spot ------------------------------------------------------------------

function writePnm(file, w, h, channels, sample) {
  const header = Buffer.from(`${channels === 1 ? 'P5' : 'P6'}\n${w} ${h}\n255\n`);
  const data = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) data[(y * w + x) * channels + c] = sample(x, y, c);
  fs.writeFileSync(file, Buffer.concat([header, data]));
}

// A picture with structure at every scale: gradients, a checkerboard, rings.
function sample(x, y, c) {
  const ring = Math.floor(Math.hypot(x - 400, y - 300) / 9) % 2 ? 60 : 0;
  const check = ((x >> 5) + (y >> 5)) % 2 ? 40 : 0;
  if (c === 0) return (x * 255 / 900 + ring) & 255;
  if (c === 1) return (y * 255 / 700 + check) & 255;
  return ((x ^ y) + ring) & 255;
}

function readPnm(file) {
  const b = fs.readFileSync(file);
  let p = 2;
  const nums = [];
  while (nums.length < 3) {
    while (/\s/.test(String.fromCharCode(b[p]))) p++;
    if (b[p] === 0x23) { while (b[p] !== 0x0a) p++; continue; }
    let s = '';
    while (/[0-9]/.test(String.fromCharCode(b[p]))) s += String.fromCharCode(b[p++]);
    nums.push(Number(s));
  }
  p++;
  const channels = b[1] === 0x35 ? 1 : 3;
  return { width: nums[0], height: nums[1], channels, data: b.subarray(p, p + nums[0] * nums[1] * channels) };
}

// OpenJPEG's decode of the whole image at `d` discarded levels.
function opjDecode(dir, file, d) {
  const out = path.join(dir, `${path.basename(file)}.r${d}.ppm`);
  execFileSync('opj_decompress', ['-i', file, '-o', out, '-r', String(d)], { stdio: 'ignore' });
  return readPnm(out);
}

// ---- server and browser -------------------------------------------------------------------

function startServer(root, extra = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(PIPIT, ['serve', '--root', root, '--listen', '127.0.0.1:0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`pipit serve did not start: ${out}`)), 20000);
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1]), stop: () => new Promise((r) => { proc.once('exit', r); proc.kill('SIGKILL'); }) });
      }
    });
    proc.on('error', reject);
  });
}

let browser;
let server;
let dir;

test.before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipit-viewer-'));
  writePnm(path.join(dir, 'src.ppm'), 900, 700, 3, sample);
  writePnm(path.join(dir, 'grey.pgm'), 1013, 771, 1, (x, y) => (x * 3 + y * 5) & 255);
  const opj = (args) => execFileSync('opj_compress', args, { stdio: 'ignore' });
  // lossless 5/3, 256x256 tiles, 3 layers, RPCL
  opj(['-i', path.join(dir, 'src.ppm'), '-o', path.join(dir, 'lossless.j2k'), '-t', '256,256', '-n', '4', '-r', '40,10,1', '-p', 'RPCL']);
  // lossy 9/7 JP2, one tile, 2 layers
  opj(['-i', path.join(dir, 'src.ppm'), '-o', path.join(dir, 'lossy.jp2'), '-I', '-n', '5', '-r', '30,8']);
  opj(['-i', path.join(dir, 'grey.pgm'), '-o', path.join(dir, 'grey.jp2'), '-n', '3']);
  // damaged: cut inside SIZ, which no reader can go past (a file cut in its tile data is now
  // read with warnings, as OpenJPEG reads it, so it would show a picture)
  const good = fs.readFileSync(path.join(dir, 'lossless.j2k'));
  const bad = Buffer.from(good.subarray(0, 40));
  fs.writeFileSync(path.join(dir, 'damaged.j2k'), bad);
  // HTJ2K (OpenJPH; opj_compress 2.5.0 writes no HT code-blocks), reversible, 256x256 tiles
  execFileSync('ojph_compress', ['-i', path.join(dir, 'src.ppm'), '-o', path.join(dir, 'ht.j2c'), '-reversible', 'true',
    '-num_decomps', '4', '-tile_size', '{256,256}'], { stdio: 'ignore' });
  // georeferenced: GMLJP2 only, and GeoJP2 only (gdal_translate), lossless
  execFileSync('gdal_translate', ['-q', '-of', 'GTiff', '-a_srs', 'EPSG:32631', '-a_ullr', '500000', '4600000', '509000', '4593000',
    path.join(dir, 'src.ppm'), path.join(dir, 'geo.tif')]);
  for (const [name, gml] of [['gml.jp2', 'YES'], ['geojp2.jp2', 'NO']])
    execFileSync('gdal_translate', ['-q', '-of', 'JP2OpenJPEG', '-co', `GMLJP2=${gml}`, '-co', `GeoJP2=${gml === 'YES' ? 'NO' : 'YES'}`,
      '-co', 'REVERSIBLE=YES', '-co', 'QUALITY=100', path.join(dir, 'geo.tif'), path.join(dir, name)]);
  fs.renameSync(path.join(dir, 'geo.tif'), path.join(dir, 'geo.tif.src'));
  // cut in its tile data: served with warnings (damaged-codestream leniency)
  fs.writeFileSync(path.join(dir, 'cut.j2k'), good.subarray(0, Math.floor(good.length * 0.6)));
  // a header declaring 39,375 tiles (4x4 on 900x700): more index memory than a server allowed
  // 1 MiB for index builds may spend
  const many = Buffer.from(good);
  many.writeUInt32BE(4, 24); // XTsiz
  many.writeUInt32BE(4, 28); // YTsiz
  fs.writeFileSync(path.join(dir, 'manytiles.j2k'), many);
  for (const f of ['src.ppm', 'grey.pgm']) fs.renameSync(path.join(dir, f), path.join(dir, f + '.src'));
  server = await startServer(dir);
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-proxy-server', '--force-device-scale-factor=1'],
  });
});

test.after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function openViewer(name, port = server.port) {
  const page = await browser.newPage();
  await page.setViewport({ width: 800, height: 600, deviceScaleFactor: 1 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${port}/view/${name}`, { waitUntil: 'load' });
  page.errors = errors;
  return page;
}

async function waitSettled(page, timeout = 60000) {
  await page.waitForFunction(() => window.pipitViewer && window.pipitViewer.settled(), { timeout, polling: 100 });
  const err = await page.evaluate(() => window.pipitViewer.state.error);
  assert.strictEqual(err, null, `the page shows an error: ${err}`);
}

// Moves the view to `d` discarded levels with the frame sample (fx0, fy0) at the map's top-left
// corner, waits for the refined picture, and returns the map canvas' samples and their size.
async function viewAt(page, d, fx0, fy0) {
  await page.evaluate((d, fx0, fy0) => new Promise((resolve) => {
    const v = window.pipitViewer;
    const [w, h] = v.map.getSize();
    const r = 2 ** d;
    v.map.getView().setResolution(r);
    v.map.getView().setCenter([(fx0 + w / 2) * r, -(fy0 + h / 2) * r]);
    v.map.once('rendercomplete', resolve);
  }), d, fx0, fy0);
  await waitSettled(page);
  return page.evaluate(() => new Promise((resolve) => {
    const v = window.pipitViewer;
    v.map.once('rendercomplete', () => {
      const canvas = document.querySelector('#map canvas');
      const ctx = canvas.getContext('2d');
      const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      resolve({ width: canvas.width, height: canvas.height, data: Array.from(img.data) });
    });
    v.map.render();
  }));
}

// Compares the canvas with the oracle's frame at d, from frame sample (fx0, fy0).
function compare(shot, ref, fx0, fy0) {
  let compared = 0, differing = 0, first = null;
  for (let y = 0; y < shot.height && fy0 + y < ref.height; y++) {
    for (let x = 0; x < shot.width && fx0 + x < ref.width; x++) {
      const s = (y * shot.width + x) * 4;
      const r = ((fy0 + y) * ref.width + fx0 + x) * ref.channels;
      for (let c = 0; c < 3; c++) {
        const want = ref.data[r + (ref.channels === 1 ? 0 : c)];
        compared++;
        if (shot.data[s + c] !== want) {
          differing++;
          if (!first) first = `sample (${fx0 + x}, ${fy0 + y}) channel ${c}: page ${shot.data[s + c]}, OpenJPEG ${want}`;
        }
      }
    }
  }
  return { compared, differing, first };
}

async function checkView(file, d, fx0, fy0) {
  const page = await openViewer(file);
  try {
    await waitSettled(page);
    const shot = await viewAt(page, d, fx0, fy0);
    const ref = opjDecode(dir, path.join(dir, file), d);
    const cmp = compare(shot, ref, fx0, fy0);
    assert.ok(cmp.compared > 10000, `too few samples compared: ${cmp.compared}`);
    assert.strictEqual(cmp.differing, 0, `${cmp.differing} of ${cmp.compared} samples differ; first: ${cmp.first}`);
    assert.deepStrictEqual(page.errors, []);
  } finally {
    await page.close();
  }
}

test('the index at /view/ lists the served images with links to their viewers', async () => {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.port}/view/`);
  const links = await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href')));
  assert.ok(links.includes('/view/lossless.j2k'), links.join(' '));
  assert.ok(links.includes('/view/lossy.jp2'), links.join(' '));
  await page.close();
});

test('lossless tiled file: refined views at two levels equal OpenJPEG exactly', async () => {
  await checkView('lossless.j2k', 1, 30, 20);
  await checkView('lossless.j2k', 0, 250, 140);
});

test('lossy 9/7 JP2: the refined full-resolution view equals OpenJPEG', async () => {
  await checkView('lossy.jp2', 0, 100, 100);
});

test('grey image with an odd size: its bottom-right corner at level 0 equals OpenJPEG', async () => {
  await checkView('grey.jp2', 0, 500, 400);
});

test('browsing fetches nothing twice: zoom in, pan, zoom out, pan back', async () => {
  const page = await openViewer('lossless.j2k');
  try {
    await waitSettled(page);
    await viewAt(page, 0, 0, 0);
    await viewAt(page, 0, 300, 200);
    await viewAt(page, 2, 0, 0);
    await viewAt(page, 0, 0, 0);
    await viewAt(page, 0, 300, 200);
    const received = await page.evaluate(() => window.pipitViewer.jpip.bytesReceived);
    const fileSize = fs.statSync(path.join(dir, 'lossless.j2k')).size;
    // every byte of the file at most once, plus message headers
    assert.ok(received < fileSize * 1.1, `received ${received} bytes of a ${fileSize}-byte file`);
  } finally {
    await page.close();
  }
});

test('a damaged file shows a message naming the problem, not a blank canvas', async () => {
  const page = await openViewer('damaged.j2k');
  try {
    await page.waitForFunction(() => !document.getElementById('message').hidden, { timeout: 30000 });
    const text = await page.$eval('#message', (e) => e.textContent);
    assert.match(text, /JPIP|damaged|codestream|server answered/i, text);
  } finally {
    await page.close();
  }
});

test('a server that stops while bytes arrive shows a message', async () => {
  const own = await startServer(dir);
  const page = await browser.newPage();
  await page.setViewport({ width: 800, height: 600, deviceScaleFactor: 1 });
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: 30 * 1024, uploadThroughput: 1 << 20 });
  try {
    await page.goto(`http://127.0.0.1:${own.port}/view/lossless.j2k`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.pipitViewer && window.pipitViewer.state.firstPictureMs !== null, { timeout: 60000 });
    assert.strictEqual(await page.evaluate(() => window.pipitViewer.settled()), false, 'the view was refined before the server stopped');
    await own.stop();
    await page.waitForFunction(() => !document.getElementById('message').hidden, { timeout: 30000 });
    const text = await page.$eval('#message', (e) => e.textContent);
    assert.match(text, /cannot be reached|stopped|cut off/i, text);
  } finally {
    await page.close();
  }
});

test('progressive refinement: the picture sharpens while bytes arrive (screenshots)', async () => {
  const page = await browser.newPage();
  await page.setViewport({ width: 800, height: 600, deviceScaleFactor: 1 });
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: 60 * 1024, uploadThroughput: 1 << 20 });
  await page.goto(`http://127.0.0.1:${server.port}/view/lossy.jp2`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.pipitViewer && window.pipitViewer.state.firstPictureMs !== null, { timeout: 60000 });
  const layers = [];
  const shots = process.env.PIPIT_VIEWER_SHOTS;
  for (let i = 0; i < 40; i++) {
    const l = await page.evaluate(() => document.getElementById('status').textContent);
    layers.push(l);
    if (shots && i % 4 === 0) await page.screenshot({ path: path.join(shots, `viewer-progressive-${i / 4}.png`) });
    if (await page.evaluate(() => window.pipitViewer.settled())) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await waitSettled(page);
  if (shots) await page.screenshot({ path: path.join(shots, 'viewer.png') });
  // the status line went through more than one state before the view was refined
  assert.ok(new Set(layers).size > 1, layers.join('\n'));
  await page.close();
});

// ---- navigation, download, formats, messages ----------------------------------------------

const viewOf = (page) => page.evaluate(() => {
  const v = window.pipitViewer.map.getView();
  return { x: v.getCenter()[0], y: v.getCenter()[1], r: v.getResolution(), animating: v.getAnimating() };
});

// Waits until the view has stopped moving and `pred(view)` holds; returns the view.
async function waitView(page, pred, what) {
  for (let i = 0; i < 100; i++) {
    const v = await viewOf(page);
    if (!v.animating && pred(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`the view did not ${what}: ${JSON.stringify(await viewOf(page))}`);
}

test('keyboard and mouse: arrow keys pan, + and - zoom, a mouse drag pans the map unfocused', async () => {
  const page = await openViewer('lossless.j2k');
  try {
    await waitSettled(page);
    const a = await viewOf(page);
    await page.keyboard.press('ArrowRight');
    const b = await waitView(page, (v) => v.x > a.x, 'pan right on ArrowRight');
    await page.keyboard.press('ArrowDown');
    const c = await waitView(page, (v) => v.y < b.y, 'pan down on ArrowDown');
    assert.strictEqual(c.x, b.x);
    await page.keyboard.press('+');
    const d = await waitView(page, (v) => v.r < c.r, 'zoom in on +');
    assert.ok(Math.abs(d.r - c.r / 2) < 1e-9 * c.r, `${d.r} after + from ${c.r}`);
    await page.keyboard.press('-');
    const e = await waitView(page, (v) => v.r > d.r, 'zoom out on -');
    assert.ok(Math.abs(e.r - c.r) < 1e-9 * c.r, `${e.r} after - from ${d.r}`);
    // a mouse drag, the map never focused (with a tabindex on it, OpenLayers' drag pan waited
    // for focus, and the first drag did nothing)
    await page.mouse.move(400, 300);
    await page.mouse.down();
    for (let i = 1; i <= 5; i++) await page.mouse.move(400 - 20 * i, 300);
    await page.mouse.up();
    await waitView(page, (v) => v.x > e.x, 'pan on a mouse drag');
    await waitSettled(page);
  } finally {
    await page.close();
  }
});

// With OpenLayers' touch-action (pan-x pan-y) Chromium took the drag for its own panning and
// cancelled the pointer: the map did not move.
test('touch: a one-finger drag pans, a pinch zooms in', async () => {
  const page = await browser.newPage();
  await page.setViewport({ width: 800, height: 600, deviceScaleFactor: 1, hasTouch: true, isMobile: false });
  await page.goto(`http://127.0.0.1:${server.port}/view/lossless.j2k`, { waitUntil: 'load' });
  const cdp = await page.createCDPSession();
  const touch = async (type, points) => {
    await cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map(([x, y], id) => ({ x, y, id })) });
    await new Promise((r) => setTimeout(r, 16));
  };
  try {
    await waitSettled(page);
    const a = await viewOf(page);
    await touch('touchStart', [[400, 300]]);
    for (let i = 1; i <= 10; i++) await touch('touchMove', [[400 - 10 * i, 300 - 6 * i]]);
    await touch('touchEnd', []);
    // the finger moved left and up: the view's centre moved right and down (map y grows upwards)
    const b = await waitView(page, (v) => v.x > a.x && v.y < a.y, 'pan on a drag');
    await touch('touchStart', [[360, 300], [440, 300]]);
    for (let i = 1; i <= 10; i++) await touch('touchMove', [[360 - 12 * i, 300], [440 + 12 * i, 300]]);
    await touch('touchEnd', []);
    await waitView(page, (v) => v.r < b.r, 'zoom in on a pinch');
    await waitSettled(page);
  } finally {
    await page.close();
  }
});

// A PNG's samples (8 bits, RGB or RGBA, not interlaced), for the one the page saves.
function readPng(file) {
  const b = fs.readFileSync(file);
  assert.strictEqual(b.toString('latin1', 1, 4), 'PNG');
  let p = 8, w = 0, h = 0, ctype = 0;
  const idat = [];
  while (p + 8 <= b.length) {
    const len = b.readUInt32BE(p);
    const type = b.toString('latin1', p + 4, p + 8);
    const data = b.subarray(p + 8, p + 8 + len);
    if (type === 'IHDR') {
      w = data.readUInt32BE(0);
      h = data.readUInt32BE(4);
      ctype = data[9];
      assert.strictEqual(data[8], 8, 'PNG sample depth');
      assert.strictEqual(data[12], 0, 'PNG interlace');
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    p += 12 + len;
  }
  const bpp = { 2: 3, 6: 4 }[ctype];
  assert.ok(bpp, `PNG colour type ${ctype}`);
  const raw = require('node:zlib').inflateSync(Buffer.concat(idat));
  const stride = w * bpp;
  const out = Buffer.alloc(h * stride);
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= bpp ? out[y * stride + x - bpp] : 0;
      const up = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? out[(y - 1) * stride + x - bpp] : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = up;
      else if (f === 3) pred = (a + up) >> 1;
      else if (f === 4) {
        const q = a + up - c, pa = Math.abs(q - a), pb = Math.abs(q - up), pc = Math.abs(q - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
      }
      out[y * stride + x] = (v + pred) & 255;
    }
  }
  return { width: w, height: h, channels: bpp, data: out };
}

test('Save full-resolution PNG: the saved region equals OpenJPEG\'s decode of it (lossless)', async () => {
  const page = await openViewer('lossless.j2k');
  const saved = fs.mkdtempSync(path.join(os.tmpdir(), 'pipit-viewer-download-'));
  try {
    const cdp = await page.createCDPSession();
    await cdp.send('Page.setDownloadBehavior', { behavior: 'allow', downloadPath: saved });
    await waitSettled(page);
    await viewAt(page, 1, 20, 10); // half resolution: the download fetches the level-0 bytes
    await page.click('#download');
    let file = null;
    for (let i = 0; i < 600 && !file; i++) {
      file = fs.readdirSync(saved).find((f) => f.endsWith('.png'));
      if (!file) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(file, 'no PNG was saved');
    await new Promise((r) => setTimeout(r, 200)); // the download's last write
    const m = /-(\d+)-(\d+)-(\d+)x(\d+)\.png$/.exec(file);
    assert.ok(m, file);
    const [x0, y0, w, h] = m.slice(1).map(Number);
    assert.deepStrictEqual([x0, y0], [40, 20], file);
    assert.ok(w > 500 && h > 300, file);
    const png = readPng(path.join(saved, file));
    assert.deepStrictEqual([png.width, png.height], [w, h]);
    const ref = opjDecode(dir, path.join(dir, 'lossless.j2k'), 0);
    let differing = 0, first = null;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 3; c++) {
          const got = png.data[(y * w + x) * png.channels + c];
          const want = ref.data[((y0 + y) * ref.width + x0 + x) * 3 + c];
          if (got !== want) {
            differing++;
            if (!first) first = `(${x0 + x}, ${y0 + y}) channel ${c}: PNG ${got}, OpenJPEG ${want}`;
          }
        }
    assert.strictEqual(differing, 0, `${differing} samples differ; first: ${first}`);
    assert.deepStrictEqual(page.errors, []);
  } finally {
    await page.close();
    fs.rmSync(saved, { recursive: true, force: true });
  }
});

test('HTJ2K (OpenJPH, tiled, reversible): the refined full-resolution view equals OpenJPEG', async () => {
  await checkView('ht.j2c', 0, 250, 140);
});

for (const [file, kind] of [['gml.jp2', 'GMLJP2'], ['geojp2.jp2', 'GeoJP2']]) {
  test(`${kind} only: map coordinates under the cursor and a scale bar`, async () => {
    const page = await openViewer(file);
    try {
      await waitSettled(page);
      const geo = await page.evaluate(() => window.pipitViewer.state.geo);
      assert.deepStrictEqual(geo && [geo.code, geo.pixelSize, geo.originX, geo.originY], ['EPSG:32631', 10, 500000, 4600000]);
      assert.ok(await page.$('.ol-scale-bar'), 'no scale bar');
      // full resolution (10 m a sample), sample (0, 0) at the map's top-left corner
      await page.evaluate(() => new Promise((resolve) => {
        const v = window.pipitViewer;
        const [w, h] = v.map.getSize();
        v.map.getView().setResolution(10);
        v.map.getView().setCenter([500000 + (w / 2) * 10, 4600000 - (h / 2) * 10]);
        v.map.once('rendercomplete', resolve);
      }));
      const box = await page.$eval('#map', (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top]; });
      await page.mouse.move(box[0] + 123.5, box[1] + 45.5);
      const text = await page.$eval('#position', (e) => e.textContent);
      // pixel (123, 45): x 500000 + 10 * 123.5, y 4600000 - 10 * 45.5 (within a sample: the
      // map's height may be odd)
      const m = /^([\d.]+), ([\d.]+) \(EPSG:32631\) · pixel 123, 45$/.exec(text);
      assert.ok(m, text);
      assert.ok(Math.abs(Number(m[1]) - 501235) < 10 && Math.abs(Number(m[2]) - 4599545) < 10, text);
    } finally {
      await page.close();
    }
  });
}

test('a file whose header is over the server\'s limits: the message gives the server\'s reason', async () => {
  const own = await startServer(dir, ['--index-build-bytes', '1048576', '--index-threads', '1']);
  const page = await openViewer('manytiles.j2k', own.port);
  try {
    await page.waitForFunction(() => !document.getElementById('message').hidden, { timeout: 30000 });
    const text = await page.$eval('#message', (e) => e.textContent);
    assert.match(text, /39375 tiles would take \d+ MiB of index memory, above the limit of 1 MiB/, text);
  } finally {
    await page.close();
    await own.stop();
  }
});

test('a damaged file the server reads with warnings: the picture, and the server\'s warnings', async () => {
  const page = await openViewer('cut.j2k');
  try {
    await waitSettled(page);
    const text = await page.$eval('#warnings', (e) => (e.hidden ? '' : e.textContent));
    assert.match(text, /warnings: codestream 0: .*(cut|end)/i, text);
    assert.ok(await page.evaluate(() => window.pipitViewer.state.firstPictureMs !== null), 'no picture');
  } finally {
    await page.close();
  }
});
