// Pipit's viewer page: OpenLayers shows a tile grid whose tiles are JPIP view-windows. One JPIP
// session per image; each visible tile is asked for in len-limited requests (so it sharpens as
// bytes arrive), the most central visible tile first; a tile that leaves the view is no longer
// asked for, and a request in flight for it is cut off. The WebAssembly core keeps the data-bin
// cache (nothing is fetched twice: every request declares what the cache holds) and rebuilds a
// codestream per JPEG 2000 tile, which OpenJPEG decodes.
import Map from 'ol/Map.js';
import View from 'ol/View.js';
import TileLayer from 'ol/layer/Tile.js';
import TileImage from 'ol/source/TileImage.js';
import TileGrid from 'ol/tilegrid/TileGrid.js';
import Projection from 'ol/proj/Projection.js';
import MousePosition from 'ol/control/MousePosition.js';
import ScaleLine from 'ol/control/ScaleLine.js';
import { defaults as defaultControls } from 'ol/control/defaults.js';
import { getCenter, getIntersection, isEmpty } from 'ol/extent.js';

import 'ol/ol.css';
import { JpipSession, JpipError } from './jpip.js';
import { decodeToRgba, decoder } from './decode.js';
import { readGeoJp2, readGmlJp2 } from './geojp2.js';

const TILE = 512; // OpenLayers tile size, in samples of the resolution shown
const FIRST_LEN = 16384; // len of a tile's first request; doubled on each next one
const MAX_LEN = 1 << 20;
const REDRAW_MS = 120; // at most this often a tile is redrawn while its bytes arrive

const statusEl = document.getElementById('status');
const messageEl = document.getElementById('message');

const state = {
  phase: 'starting', // starting, ready, error
  error: null,
  info: null,
  tilesDone: 0,
  firstPictureMs: null,
  decodeMs: 0, // time spent in OpenJPEG, and how many decodes
  decodes: 0,
  settledAt: null, // performance.now() when the view in use was last refined
  startedAt: performance.now(),
};

function showError(text) {
  state.phase = 'error';
  state.error = text;
  messageEl.textContent = text;
  messageEl.hidden = false;
  document.body.classList.add('failed');
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(2)} MiB`;
}

async function main() {
  const prefix = '/view/';
  const name = decodeURIComponent(location.pathname.slice(location.pathname.indexOf(prefix) + prefix.length));
  document.title = `${name} · Pipit`;
  document.getElementById('name').textContent = name;
  const imagePath = '/' + name.split('/').map(encodeURIComponent).join('/');

  // compiles while the core loads and the header arrives; errors show on first use
  decoder().then(() => { state.decoderReadyMs = performance.now(); }, () => {});
  // The core is Emscripten's ES module beside this script (built by the same CMake target).
  const coreUrl = new URL('./pipit_core.js', import.meta.url).href;
  const { default: createPipitCore } = await import(/* webpackIgnore: true */ coreUrl);
  const wasm = await createPipitCore({
    locateFile: (f) => new URL(f, import.meta.url).toString(),
  });
  const core = new wasm.ViewerCore();
  const jpip = new JpipSession(core, imagePath);
  jpip.onWarnings = (list) => {
    const el = document.getElementById('warnings');
    el.textContent = `The server read this file with warnings: ${list.join('; ')}`;
    el.hidden = false;
  };

  // The main header (and metadata-bin 0) first: requests without a view-window.
  let len = 4096;
  for (let round = 0; !core.ready(); round++) {
    if (round > 12) throw new JpipError('the server sent no usable main header for this image');
    const eor = await jpip.request(`len=${len}`);
    len *= 2;
    if (!core.ready() && (eor === 1 || eor === 2)) throw new JpipError('the image has no usable main header');
  }
  const info = core.info();
  state.info = info;
  if (info.subsampled) throw new JpipError('images with sub-sampled components are not shown yet');

  const width = info.Xsiz - info.XOsiz;
  const height = info.Ysiz - info.YOsiz;
  const levels = info.levels;
  // GMLJP2 first, then GeoJP2, as GDAL reads them
  const jp2Header = info.isJp2 ? core.jp2Header() : null;
  const geo = jp2Header ? readGmlJp2(jp2Header) || readGeoJp2(jp2Header) : null;
  state.geo = geo;

  // Map units per full-resolution pixel, and the image's extent in map units.
  const unit = geo ? geo.pixelSize : 1;
  const extent = geo
    ? [geo.originX, geo.originY - height * unit, geo.originX + width * unit, geo.originY]
    : [0, -height, width, 0];
  const projection = new Projection({
    code: geo ? geo.code : 'pipit-pixels',
    units: geo ? geo.units : 'pixels',
    extent,
  });
  // Resolutions from 2^levels (the smallest frame) down to 1, then magnified views of level 0.
  const resolutions = [];
  for (let d = levels; d >= 0; d--) resolutions.push(unit * 2 ** d);
  const tileGrid = new TileGrid({ extent, origin: [extent[0], extent[3]], resolutions, tileSize: TILE });

  // frame size at d discarded levels (15444-9 C.4.2)
  const frame = (d) => {
    const s = 2 ** d;
    return [Math.ceil(info.Xsiz / s) - Math.ceil(info.XOsiz / s), Math.ceil(info.Ysiz / s) - Math.ceil(info.YOsiz / s)];
  };

  // One job per OpenLayers tile: a view-window (d, x, y, w, h) of the frame at d.
  const jobs = new globalThis.Map();
  let current = null; // {job, abort}

  function jobFor(tile) {
    const [z, tx, ty] = tile.getTileCoord();
    const job = jobAt(z, tx, ty);
    job.tiles.add(tile);
    return job;
  }

  function jobAt(z, tx, ty) {
    const d = levels - z;
    const [fx, fy] = frame(d);
    const x = tx * TILE;
    const y = ty * TILE;
    const key = `${z}/${tx}/${ty}`;
    let job = jobs.get(key);
    if (!job) {
      job = {
        key, z, d, x, y,
        w: Math.max(0, Math.min(TILE, fx - x)),
        h: Math.max(0, Math.min(TILE, fy - y)),
        done: false,
        canvas: document.createElement('canvas'),
        tiles: new Set(),
        drawnVersion: -1,
        firstDrawAt: null, // performance.now() of its first picture
      };
      job.canvas.width = TILE;
      job.canvas.height = TILE;
      jobs.set(key, job);
    }
    return job;
  }

  // The coarsest level's tiles in the view that have no picture yet. They are asked for first, in
  // one 16 KiB request, and shown magnified in the tiles of the level in use until those arrive
  // (placeholder()): a first picture costs the decoding of the smallest frame, not of the level
  // in use.
  function previewJobs() {
    const view = map.getView();
    const size = map.getSize();
    if (!size || tileGrid.getZForResolution(view.getResolution(), 0) === 0) return [];
    const ext = getIntersection(view.calculateExtent(size), extent);
    if (isEmpty(ext)) return [];
    const out = [];
    tileGrid.forEachTileCoord(ext, 0, ([, tx, ty]) => {
      const j = jobAt(0, tx, ty);
      if (!j.previewed && !j.done && j.drawnVersion < 0 && j.w > 0 && j.h > 0) out.push(j);
    });
    return out;
  }

  // A tile with no picture of its own yet shows the finest coarser level that has one, magnified.
  function placeholder(job) {
    if (job.drawnVersion >= 0 || job.z === 0) return false;
    for (let z = job.z - 1; z >= 0; z--) {
      const s = 2 ** (job.z - z);
      const over = [];
      for (const p of jobs.values())
        if (p.z === z && p.drawnVersion >= 0 && p.x * s < job.x + job.w && job.x < (p.x + p.w) * s && p.y * s < job.y + job.h && job.y < (p.y + p.h) * s) over.push(p);
      if (over.length === 0) continue;
      const ctx = job.canvas.getContext('2d');
      ctx.save();
      ctx.beginPath();
      ctx.rect(0, 0, job.w, job.h);
      ctx.clip();
      ctx.imageSmoothingEnabled = false;
      for (const p of over) ctx.drawImage(p.canvas, 0, 0, p.w, p.h, p.x * s - job.x, p.y * s - job.y, p.w * s, p.h * s);
      ctx.restore();
      for (const t of job.tiles) if (t.getImage() !== job.canvas) t.setImage(job.canvas);
      job.placeheld = true;
      return true;
    }
    return false;
  }

  // Decodes what the cache holds for view-window `win` ({d, x, y, w, h}) and draws it into the
  // canvas of each job of `members` (OpenLayers tiles inside `win`, at the same level). Each
  // JPEG 2000 tile the window meets is decoded once for all of them: an image of one big tile is
  // decoded once per round, not once per OpenLayers tile.
  async function draw(win, members) {
    const version = core.version();
    const todo = members.filter((j) => j.drawnVersion !== version);
    if (todo.length === 0) return;
    const started = performance.now();
    const parts = core.prepareWindow(win.d, win.x, win.y, win.w, win.h);
    for (const p of parts) {
      const over = todo.filter((j) => j.x < p.x1 && p.x0 < j.x + j.w && j.y < p.y1 && p.y0 < j.y + j.h);
      if (over.length === 0) continue;
      const cs = core.tileCodestream(p.tile).slice();
      if (cs.length === 0) continue;
      const w = p.x1 - p.x0;
      const h = p.y1 - p.y0;
      const t0 = performance.now();
      const img = await decodeToRgba(cs, win.d, w, h);
      state.decodeMs += performance.now() - t0;
      state.decodes += 1;
      const data = new ImageData(img.rgba, w, h);
      for (const j of over) {
        j.canvas.getContext('2d').putImageData(data, p.x0 - j.x, p.y0 - j.y, Math.max(0, j.x - p.x0), Math.max(0, j.y - p.y0), Math.min(w, j.x + j.w - p.x0), Math.min(h, j.y + j.h - p.y0));
      }
    }
    const now = performance.now();
    lastDrawMs = now - started;
    for (const j of todo) {
      j.drawnVersion = version;
      for (const t of j.tiles) if (t.getImage() !== j.canvas) t.setImage(j.canvas);
      if (j.firstDrawAt === null) j.firstDrawAt = now;
    }
    // since the page's navigation started
    if (state.firstPictureMs === null) state.firstPictureMs = now;
    map.render();
  }
  let lastDrawMs = 0;

  // The smallest view-window holding every job of `jobs` (same level).
  function windowOf(list) {
    const x0 = Math.min(...list.map((j) => j.x)), y0 = Math.min(...list.map((j) => j.y));
    const x1 = Math.max(...list.map((j) => j.x + j.w)), y1 = Math.max(...list.map((j) => j.y + j.h));
    return { d: list[0].d, x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  }

  // The visible tiles at the zoom in use, nearest to the centre first.
  function visibleJobs() {
    const view = map.getView();
    const size = map.getSize();
    if (!size) return [];
    const ext = getIntersection(view.calculateExtent(size), extent);
    if (isEmpty(ext)) return [];
    const z = tileGrid.getZForResolution(view.getResolution(), 0);
    const c = getCenter(ext);
    const out = [];
    tileGrid.forEachTileCoord(ext, z, (coord) => {
      const job = jobs.get(coord.join('/'));
      if (job && !job.done && job.w > 0 && job.h > 0) {
        const e = tileGrid.getTileCoordExtent(coord);
        const dist = Math.hypot((e[0] + e[2]) / 2 - c[0], (e[1] + e[3]) / 2 - c[1]);
        out.push([dist, job]);
      }
    });
    out.sort((a, b) => a[0] - b[0]);
    return out.map((e) => e[1]);
  }

  // The visible part of the image at the level in use is one view-window: each round is one
  // len-limited request for the tiles not yet refined, the first of a view 16 KiB, each next one
  // twice as long (to 1 MiB), so the whole view sharpens at an even quality.
  let pumping = false;
  let viewLen = FIRST_LEN;
  async function pump() {
    if (pumping || state.phase === 'error') return;
    pumping = true;
    try {
      for (;;) {
        const preview = previewJobs();
        if (preview.length > 0) {
          for (const j of preview) j.previewed = true;
          await serve({ ...windowOf(preview), len: FIRST_LEN }, preview);
          let shown = false;
          for (const j of jobs.values()) if (!j.placeheld && j.w > 0 && j.h > 0) shown = placeholder(j) || shown;
          if (shown) map.render();
          continue;
        }
        const members = visibleJobs();
        if (members.length === 0) break;
        const win = { ...windowOf(members), len: viewLen };
        await serve(win, members);
        // where decoding a round costs more than half a second (a large tile at a fine level),
        // fewer, longer rounds
        viewLen = lastDrawMs > 500 ? Math.min(MAX_LEN, win.len * 4) : win.len;
        updateStatus();
      }
    } catch (e) {
      showError(e instanceof JpipError ? `JPIP: ${e.message}` : `${e.message || e}`);
    } finally {
      pumping = false;
      updateStatus();
    }
  }

  // One len-limited request for view-window `win`, drawn into `members` while its bytes arrive
  // (at most every REDRAW_MS, and no more often than twice the time the last drawing took).
  async function serve(win, members) {
    const complete = (j) => core.windowState(j.d, j.x, j.y, j.w, j.h).complete;
    if (complete(win)) {
      await draw(win, members);
      members.forEach(finish);
      return;
    }
    const query = core.viewRequest(win.d, win.x, win.y, win.w, win.h, false) + `&len=${win.len}`;
    const abort = new AbortController();
    current = { members, abort };
    let drawing = null;
    let lastDraw = performance.now();
    let eor;
    try {
      eor = await jpip.request(query, {
        signal: abort.signal,
        onProgress: () => {
          const now = performance.now();
          if (!drawing && now - lastDraw > Math.max(REDRAW_MS, 2 * lastDrawMs)) {
            drawing = draw(win, members).finally(() => { drawing = null; lastDraw = performance.now(); });
          }
        },
      });
    } catch (e) {
      if (e.name !== 'AbortError') throw e;
      jpip.reset(); // the server's model of our cache now holds bytes we never read
      return;
    } finally {
      current = null;
      if (drawing) await drawing;
    }
    win.len = Math.min(MAX_LEN, win.len * 2);
    await draw(win, members);
    for (const j of members) if (eor === 1 || eor === 2 || complete(j)) finish(j);
  }

  function finish(job) {
    if (!job.done) {
      job.done = true;
      state.tilesDone += 1;
    }
  }

  const source = new TileImage({
    projection,
    tileGrid,
    transition: 0,
    interpolate: false,
    tileUrlFunction: (coord) => coord.join('/'),
    tileLoadFunction: (tile) => {
      const job = jobFor(tile);
      if (job.drawnVersion >= 0 || job.placeheld || placeholder(job)) tile.setImage(job.canvas);
      queueMicrotask(pump);
    },
  });

  const mousePosition = new MousePosition({
    coordinateFormat: (c) => {
      if (!c) return '';
      const px = Math.floor((c[0] - extent[0]) / unit);
      const py = Math.floor((extent[3] - c[1]) / unit);
      const pix = `pixel ${px}, ${py}`;
      return geo ? `${c[0].toFixed(geo.units === 'degrees' ? 6 : 2)}, ${c[1].toFixed(geo.units === 'degrees' ? 6 : 2)} (${geo.code}) · ${pix}` : pix;
    },
    className: 'pipit-position',
    target: document.getElementById('position'),
  });
  const controls = defaultControls().extend([mousePosition]);
  if (geo) controls.push(new ScaleLine({ units: 'metric', bar: true, text: true, minWidth: 120 }));

  const map = new Map({
    target: 'map',
        layers: [new TileLayer({ source, preload: 0 })],
    controls,
    pixelRatio: 1,
    keyboardEventTarget: document,
    view: new View({
      projection,
      resolutions: resolutions.concat([unit / 2, unit / 4, unit / 8]),
      extent,
      constrainOnlyCenter: true,
      showFullExtent: true,
    }),
  });
  map.getView().fit(extent, { size: map.getSize(), nearest: false });

  // Preemption: when the view moves on, a request for a tile no longer visible is cut off.
  map.on('moveend', () => {
    state.settledAt = null;
    viewLen = FIRST_LEN;
    const visible = visibleJobs();
    if (current && current.members[0].key !== 'download' && !current.members.some((j) => visible.includes(j))) current.abort.abort();
    pump();
  });

  function updateStatus() {
    const view = map.getView();
    const z = tileGrid.getZForResolution(view.getResolution(), 0);
    const d = levels - z;
    const [fx, fy] = frame(d);
    const visible = [];
    const ext = getIntersection(view.calculateExtent(map.getSize()), extent);
    let visibleCount = 0;
    if (!isEmpty(ext)) tileGrid.forEachTileCoord(ext, z, (coord) => {
      visibleCount += 1;
      const j = jobs.get(coord.join('/'));
      if (j) visible.push(j);
    });
    let bins = 0, complete = 0, minLayers = info.layers;
    for (const j of visible) {
      if (j.w === 0 || j.h === 0) continue;
      const s = core.windowState(j.d, j.x, j.y, j.w, j.h);
      bins += s.bins;
      complete += s.completeBins;
      minLayers = Math.min(minLayers, s.layers);
    }
    state.visibleComplete = visible.length === visibleCount && visible.every((j) => j.done || j.w === 0 || j.h === 0);
    if (state.visibleComplete && !pumping && current === null && state.settledAt === null) state.settledAt = performance.now();
    statusEl.textContent =
      `${width}×${height} · level ${d} of ${levels} (${fx}×${fy}) · ` +
      `layers ${minLayers}/${info.layers} · bins ${complete}/${bins} complete · ` +
      `${formatBytes(jpip.bytesReceived)} received in ${jpip.requests} requests` +
      (state.visibleComplete ? ' · refined' : ' · refining…');
  }
  map.on('moveend', updateStatus);

  document.getElementById('download').addEventListener('click', () => downloadView().catch((e) => showError(`download: ${e.message || e}`)));

  // The visible region at full resolution, as a PNG (at most 8192 samples a side).
  async function downloadView() {
    const ext = map.getView().calculateExtent(map.getSize());
    const x0 = Math.max(0, Math.floor((ext[0] - extent[0]) / unit));
    const y0 = Math.max(0, Math.floor((extent[3] - ext[3]) / unit));
    const x1 = Math.min(width, Math.ceil((ext[2] - extent[0]) / unit));
    const y1 = Math.min(height, Math.ceil((extent[3] - ext[1]) / unit));
    const w = x1 - x0, h = y1 - y0;
    if (w <= 0 || h <= 0) return;
    if (w > 8192 || h > 8192) throw new Error(`the view is ${w}×${h} samples at full resolution; zoom in to at most 8192 a side`);
    const job = { key: 'download', d: 0, x: x0, y: y0, w, h, done: false, canvas: document.createElement('canvas'), tiles: new Set(), drawnVersion: -1, firstDrawAt: null };
    const win = { d: 0, x: x0, y: y0, w, h, len: FIRST_LEN };
    job.canvas.width = w;
    job.canvas.height = h;
    const button = document.getElementById('download');
    button.disabled = true;
    try {
      while (!pumpIdle()) await new Promise((r) => setTimeout(r, 50));
      pumping = true;
      while (!job.done) {
        button.textContent = `Downloading… ${formatBytes(core.windowState(0, x0, y0, w, h).bytes)}`;
        await serve(win, [job]);
      }
      await draw(win, [job]);
    } finally {
      pumping = false;
      button.disabled = false;
      button.textContent = 'Save full-resolution PNG';
    }
    const blob = await new Promise((r) => job.canvas.toBlob(r, 'image/png'));
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${name.replace(/.*\//, '').replace(/\.[^.]*$/, '')}-${x0}-${y0}-${w}x${h}.png`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    pump();
  }
  const pumpIdle = () => !pumping;

  state.phase = 'ready';
  updateStatus();

  // For tests and scripts: the page's state, and the samples of a view-window once refined.
  window.pipitViewer = {
    state,
    map,
    core,
    jpip,
    tileGrid,
    settled: () => {
      if (state.phase === 'error') return true;
      if (pumping || current !== null) return false;
      updateStatus();
      return state.visibleComplete === true;
    },
    frame,
    // The OpenLayers tiles of the view at the zoom in use: {key, d, firstDrawAt, done}.
    viewTiles: () => {
      const view = map.getView();
      const ext = getIntersection(view.calculateExtent(map.getSize()), extent);
      const z = tileGrid.getZForResolution(view.getResolution(), 0);
      const out = [];
      if (!isEmpty(ext)) tileGrid.forEachTileCoord(ext, z, (coord) => {
        const j = jobs.get(coord.join('/'));
        out.push({ key: coord.join('/'), d: levels - z, firstDrawAt: j ? j.firstDrawAt : null, done: j ? j.done : false });
      });
      return out;
    },
  };
}

main().catch((e) => showError(e instanceof JpipError ? `JPIP: ${e.message}` : `${e.message || e}`));
