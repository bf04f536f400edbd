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
import { decodeToRgba } from './decode.js';
import { readGeoJp2 } from './geojp2.js';

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

  // The core is Emscripten's ES module beside this script (built by the same CMake target).
  const coreUrl = new URL('./pipit_core.js', import.meta.url).href;
  const { default: createPipitCore } = await import(/* webpackIgnore: true */ coreUrl);
  const wasm = await createPipitCore({
    locateFile: (f) => new URL(f, import.meta.url).toString(),
  });
  const core = new wasm.ViewerCore();
  const jpip = new JpipSession(core, imagePath);

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
  const geo = info.isJp2 ? readGeoJp2(core.jp2Header()) : null;
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
        len: FIRST_LEN,
        done: false,
        canvas: document.createElement('canvas'),
        tiles: new Set(),
        drawnVersion: -1,
        lastDraw: 0,
      };
      job.canvas.width = TILE;
      job.canvas.height = TILE;
      jobs.set(key, job);
    }
    job.tiles.add(tile);
    return job;
  }

  // Decodes what the cache holds for the job's window into its canvas.
  async function draw(job) {
    const version = core.version();
    if (version === job.drawnVersion) return;
    job.drawnVersion = version;
    const ctx = job.canvas.getContext('2d');
    const parts = core.prepareWindow(job.d, job.x, job.y, job.w, job.h);
    for (const p of parts) {
      const cs = core.tileCodestream(p.tile).slice();
      if (cs.length === 0) continue;
      const w = p.x1 - p.x0;
      const h = p.y1 - p.y0;
      const img = await decodeToRgba(cs, job.d, w, h);
      ctx.putImageData(new ImageData(img.rgba, w, h), p.x0 - job.x, p.y0 - job.y, Math.max(0, job.x - p.x0), Math.max(0, job.y - p.y0), Math.min(w, job.x + job.w - p.x0), Math.min(h, job.y + job.h - p.y0));
    }
    for (const t of job.tiles) if (t.getImage() !== job.canvas) t.setImage(job.canvas);
    if (state.firstPictureMs === null) state.firstPictureMs = performance.now() - state.startedAt;
    map.render();
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

  let pumping = false;
  async function pump() {
    if (pumping || state.phase === 'error') return;
    pumping = true;
    try {
      for (;;) {
        const job = visibleJobs()[0];
        if (!job) break;
        await serve(job);
        updateStatus();
      }
    } catch (e) {
      showError(e instanceof JpipError ? `JPIP: ${e.message}` : `${e.message || e}`);
    } finally {
      pumping = false;
      updateStatus();
    }
  }

  // One len-limited request for the job's window, drawn while its bytes arrive.
  async function serve(job) {
    if (core.windowState(job.d, job.x, job.y, job.w, job.h).complete) {
      await draw(job);
      finish(job);
      return;
    }
    const query = core.viewRequest(job.d, job.x, job.y, job.w, job.h, false) + `&len=${job.len}`;
    const abort = new AbortController();
    current = { job, abort };
    let drawing = null;
    let eor;
    try {
      eor = await jpip.request(query, {
        signal: abort.signal,
        onProgress: () => {
          const now = performance.now();
          if (!drawing && now - job.lastDraw > REDRAW_MS) {
            job.lastDraw = now;
            drawing = draw(job).finally(() => { drawing = null; });
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
    job.len = Math.min(MAX_LEN, job.len * 2);
    await draw(job);
    if (eor === 1 || eor === 2 || core.windowState(job.d, job.x, job.y, job.w, job.h).complete) finish(job);
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
      if (job.drawnVersion >= 0) tile.setImage(job.canvas);
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
    if (current && !visibleJobs().includes(current.job)) current.abort.abort();
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
    const job = { key: 'download', d: 0, x: x0, y: y0, w, h, len: FIRST_LEN, done: false, canvas: document.createElement('canvas'), tiles: new Set(), drawnVersion: -1, lastDraw: 0 };
    job.canvas.width = w;
    job.canvas.height = h;
    const button = document.getElementById('download');
    button.disabled = true;
    try {
      while (!pumpIdle()) await new Promise((r) => setTimeout(r, 50));
      pumping = true;
      while (!job.done) {
        button.textContent = `Downloading… ${formatBytes(core.windowState(0, x0, y0, w, h).bytes)}`;
        await serve(job);
      }
      await draw(job);
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
  };
}

main().catch((e) => showError(e instanceof JpipError ? `JPIP: ${e.message}` : `${e.message || e}`));
