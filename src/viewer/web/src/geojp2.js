// Georeferencing from a GeoJP2 box (a uuid box holding a degenerate GeoTIFF): the model tie point
// and pixel scale (or the model transformation), the raster type, and the EPSG code of the
// projected or geographic coordinate system. Returns null when the header has none, or one this
// viewer does not place (rotated or sheared rasters).
const GEOJP2_UUID = 'b14bf8bd083d4b43a5ae8cd7d5a6ce03';

function* boxes(bytes, begin, end) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = begin;
  while (p + 8 <= end) {
    let len = dv.getUint32(p);
    const type = String.fromCharCode(bytes[p + 4], bytes[p + 5], bytes[p + 6], bytes[p + 7]);
    let header = 8;
    if (len === 1) {
      if (p + 16 > end) return;
      len = Number(dv.getBigUint64(p + 8));
      header = 16;
    } else if (len === 0) {
      len = end - p;
    }
    if (len < header || p + len > end) return;
    yield { type, start: p + header, end: p + len };
    p += len;
  }
}

function readTiff(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = bytes[0] === 0x49;
  const u16 = (o) => dv.getUint16(o, le);
  const u32 = (o) => dv.getUint32(o, le);
  if (u16(2) !== 42) return null;
  const ifd = u32(4);
  const n = u16(ifd);
  const tags = {};
  const sizes = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 11: 4, 12: 8, 16: 8 };
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + 12 * i;
    const tag = u16(e), type = u16(e + 2), count = u32(e + 4);
    const size = (sizes[type] || 1) * count;
    const at = size <= 4 ? e + 8 : u32(e + 8);
    if (at + size > bytes.length) continue;
    const values = [];
    for (let k = 0; k < count && k < 4096; k++) {
      if (type === 3) values.push(u16(at + 2 * k));
      else if (type === 4) values.push(u32(at + 4 * k));
      else if (type === 12) values.push(dv.getFloat64(at + 8 * k, le));
    }
    tags[tag] = values;
  }
  return tags;
}

export function readGeoJp2(header) {
  if (!header || header.length < 16) return null;
  const bytes = header.slice();
  for (const b of boxes(bytes, 0, bytes.length)) {
    if (b.type !== 'uuid' || b.end - b.start < 16) continue;
    const uuid = Array.from(bytes.subarray(b.start, b.start + 16), (v) => v.toString(16).padStart(2, '0')).join('');
    if (uuid !== GEOJP2_UUID) continue;
    const tags = readTiff(bytes.subarray(b.start + 16, b.end));
    if (!tags) return null;
    const keys = {};
    const dir = tags[34735];
    if (dir) for (let i = 4; i + 3 < dir.length; i += 4) keys[dir[i]] = dir[i + 3];
    let sx, sy, ox, oy;
    if (tags[33550] && tags[33922]) {
      const [i, j, , x, y] = tags[33922];
      [sx, sy] = tags[33550];
      ox = x - i * sx;
      oy = y + j * sy;
    } else if (tags[34264]) {
      const m = tags[34264];
      if (m[1] !== 0 || m[4] !== 0) return null;
      sx = m[0];
      sy = -m[5];
      ox = m[3];
      oy = m[7];
    } else {
      return null;
    }
    if (!(sx > 0) || !(sy > 0)) return null;
    if (keys[1025] === 2) {
      ox -= sx / 2; // PixelIsPoint: the tie point is the centre of the pixel
      oy += sy / 2;
    }
    const projected = keys[3072];
    const geographic = keys[2048];
    const epsg = projected && projected !== 32767 ? projected : geographic && geographic !== 32767 ? geographic : null;
    return {
      code: epsg ? `EPSG:${epsg}` : 'unknown CRS',
      units: projected || !geographic ? 'm' : 'degrees',
      pixelSize: sx,
      pixelSizeY: sy,
      originX: ox,
      originY: oy,
    };
  }
  return null;
}

// Georeferencing from a GMLJP2 box (an association box labelled `gml.data` whose
// `gml.root-instance` holds GML): the RectifiedGrid's origin (the centre of the first pixel),
// its offset vectors and the CRS named by srsName. Returns null when the header has none, or one
// this viewer does not place (rotated or sheared grids). EPSG geographic CRSs given as URNs list
// latitude first (their axis order), which is swapped here.
export function readGmlJp2(header) {
  if (!header || header.length < 16) return null;
  const bytes = header.slice();
  const text = (b) => new TextDecoder().decode(bytes.subarray(b.start, b.end)).replace(/\0+$/, '');
  const label = (b) => {
    for (const c of boxes(bytes, b.start, b.end)) return c.type === 'lbl ' ? text(c) : null;
    return null;
  };
  let xml = null;
  for (const b of boxes(bytes, 0, bytes.length)) {
    if (b.type !== 'asoc' || label(b) !== 'gml.data') continue;
    for (const c of boxes(bytes, b.start, b.end)) {
      if (c.type !== 'asoc' || label(c) !== 'gml.root-instance') continue;
      for (const x of boxes(bytes, c.start, c.end)) if (x.type === 'xml ') xml = text(x);
    }
  }
  if (!xml) return null;
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const grid = doc.getElementsByTagNameNS('*', 'RectifiedGrid')[0];
  if (!grid) return null;
  const numbers = (el) => (el ? el.textContent.trim().split(/\s+/).map(Number) : []);
  const point = grid.getElementsByTagNameNS('*', 'origin')[0];
  const pos = point && (point.getElementsByTagNameNS('*', 'pos')[0] || point.getElementsByTagNameNS('*', 'coordinates')[0]);
  const vectors = Array.from(grid.getElementsByTagNameNS('*', 'offsetVector'));
  if (!pos || vectors.length !== 2) return null;
  const srs = (pos.closest && pos.closest('[srsName]')) || vectors[0];
  const srsName = (srs && srs.getAttribute('srsName')) || '';
  const m = /EPSG:+(?:[\d.]*:)?(\d+)$/.exec(srsName) || /EPSG\/[\d.]+\/(\d+)$/.exec(srsName);
  const epsg = m ? Number(m[1]) : null;
  const geographic = epsg !== null && epsg >= 4000 && epsg < 5000;
  const swap = geographic && /^urn:|^http/.test(srsName);
  const xy = (v) => (swap ? [v[1], v[0]] : [v[0], v[1]]);
  const [px, py] = xy(numbers(pos));
  const [ax, ay] = xy(numbers(vectors[0]));
  const [bx, by] = xy(numbers(vectors[1]));
  if (![px, py, ax, ay, bx, by].every(Number.isFinite) || ay !== 0 || bx !== 0) return null;
  const sx = ax, sy = -by;
  if (!(sx > 0) || !(sy > 0)) return null;
  return {
    code: epsg ? `EPSG:${epsg}` : 'unknown CRS',
    units: geographic ? 'degrees' : 'm',
    pixelSize: sx,
    pixelSizeY: sy,
    originX: px - sx / 2, // the corner of the first pixel, whose centre is the origin
    originY: py + sy / 2,
  };
}
