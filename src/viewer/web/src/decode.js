// Decoding with OpenJPEG's WebAssembly build (@cornerstonejs/codec-openjpeg; OpenJPEG 2.5 also
// decodes HTJ2K code-blocks), one codestream at a time, into RGBA for a canvas.
import createOpenJpeg from '@cornerstonejs/codec-openjpeg/decodewasmjs';

let decoderPromise = null;

// The decoder, made once; the page calls it early so that compiling OpenJPEG's WebAssembly
// overlaps the first requests.
export function decoder() {
  if (!decoderPromise) {
    decoderPromise = createOpenJpeg({
      locateFile: (f) => new URL(f, import.meta.url).toString(),
      print() {},
      printErr() {},
    }).then((m) => new m.J2KDecoder());
  }
  return decoderPromise;
}

// Decodes `codestream` (Uint8Array) at `discardLevels` into {width, height, rgba}. Samples above
// 8 bits are scaled down to 8 for display; one component is grey, two grey and alpha, three RGB,
// four RGBA.
export async function decodeToRgba(codestream, discardLevels, expectedWidth, expectedHeight) {
  const dec = await decoder();
  const buf = dec.getEncodedBuffer(codestream.length);
  buf.set(codestream);
  try {
    dec.decodeSubResolution(discardLevels, 0);
  } catch (e) {
    throw new Error(`OpenJPEG cannot decode the rebuilt codestream (${e.message || e})`);
  }
  const info = dec.getFrameInfo();
  const out = dec.getDecodedBuffer();
  const nc = info.componentCount;
  const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
  const n = expectedWidth * expectedHeight;
  if (nc === 0 || out.length < n * nc * bytesPerSample)
    throw new Error(`OpenJPEG decoded ${out.length} bytes where ${n * nc * bytesPerSample} were expected`);
  const rgba = new Uint8ClampedArray(n * 4);
  if (bytesPerSample === 1) {
    if (nc >= 3) {
      for (let i = 0, j = 0; i < n; i++, j += nc) {
        rgba[4 * i] = out[j];
        rgba[4 * i + 1] = out[j + 1];
        rgba[4 * i + 2] = out[j + 2];
        rgba[4 * i + 3] = nc >= 4 ? out[j + 3] : 255;
      }
    } else {
      for (let i = 0, j = 0; i < n; i++, j += nc) {
        const v = out[j];
        rgba[4 * i] = v;
        rgba[4 * i + 1] = v;
        rgba[4 * i + 2] = v;
        rgba[4 * i + 3] = nc === 2 ? out[j + 1] : 255;
      }
    }
  } else {
    const view = info.isSigned
      ? new Int16Array(out.buffer, out.byteOffset, out.length >> 1)
      : new Uint16Array(out.buffer, out.byteOffset, out.length >> 1);
    const shift = info.bitsPerSample - 8;
    const offset = info.isSigned ? 1 << (info.bitsPerSample - 1) : 0;
    const get = (k) => (view[k] + offset) >> shift;
    for (let i = 0, j = 0; i < n; i++, j += nc) {
      const a = get(j);
      rgba[4 * i] = a;
      rgba[4 * i + 1] = nc >= 3 ? get(j + 1) : a;
      rgba[4 * i + 2] = nc >= 3 ? get(j + 2) : a;
      rgba[4 * i + 3] = nc === 4 ? get(j + 3) : nc === 2 ? get(j + 1) : 255;
    }
  }
  return { width: expectedWidth, height: expectedHeight, rgba };
}
