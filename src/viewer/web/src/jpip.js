// One JPIP session of the page with the server it came from (15444-9 Annex F over HTTP): the
// first request opens a channel (cnew=http); later ones name it (cid=...). Each response's
// JPP-stream goes into the WebAssembly core's data-bin cache as its bytes arrive.

export class JpipError extends Error {}

export class JpipSession {
  // `core`: a ViewerCore; `imagePath`: the image's URL path ("/maps/a.jp2").
  constructor(core, imagePath) {
    this.core = core;
    this.imagePath = imagePath;
    this.cid = null;
    this.channelPath = null;
    this.requests = 0;
    this.bytesReceived = 0;
    this.warnings = []; // what the server says is wrong with the file (HTTP Warning headers)
    this.onWarnings = null;
  }

  // Forgets the channel (after a cut response the server's model of our cache is wrong): the
  // next request opens a new one and declares what the cache holds again.
  reset() {
    if (this.cid) {
      const url = `/${this.channelPath}?cid=${encodeURIComponent(this.cid)}&cclose=${encodeURIComponent(this.cid)}&len=0`;
      fetch(url, { cache: 'no-store' }).catch(() => {});
    }
    this.cid = null;
    this.channelPath = null;
    this.core.forgetDeclared();
  }

  // Sends one request with the query fields `query` (view-window, model, len) and feeds the
  // response into the cache; `onProgress(result)` after every chunk. Resolves to the EOR reason.
  async request(query, { signal, onProgress } = {}) {
    let url;
    if (this.cid) {
      url = `/${this.channelPath}?cid=${encodeURIComponent(this.cid)}&${query}`;
    } else {
      const tid = this.core.targetId() || '0';
      url = `${this.imagePath}?cnew=http&type=jpp-stream&tid=${encodeURIComponent(tid)}&stream=0&${query}`;
    }
    this.requests += 1;
    let response;
    try {
      response = await fetch(url, { cache: 'no-store', signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new JpipError(`the server at ${location.host} cannot be reached (${e.message})`);
    }
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).trim();
      if (this.cid && response.status !== 404) this.reset();
      throw new JpipError(`the server answered ${text || 'HTTP ' + response.status}`);
    }
    const cnew = response.headers.get('JPIP-cnew');
    if (cnew) {
      for (const item of cnew.split(',')) {
        const eq = item.indexOf('=');
        const k = item.slice(0, eq).trim();
        const v = item.slice(eq + 1).trim();
        if (k === 'cid') this.cid = v;
        else if (k === 'path') this.channelPath = v.replace(/^\/+/, '');
      }
      if (this.cid && !this.channelPath) this.channelPath = this.imagePath.replace(/^\/+/, '');
    }
    const warning = response.headers.get('Warning');
    if (warning) {
      // warn-values: code agent "text"[ date], comma-separated (RFC 9111 §5.5)
      for (const m of warning.matchAll(/\d{3} +\S+ +"((?:[^"\\]|\\.)*)"/g)) {
        const text = m[1].replace(/\\(.)/g, '$1');
        if (!this.warnings.includes(text)) this.warnings.push(text);
      }
      if (this.onWarnings) this.onWarnings(this.warnings);
    }
    const tid = response.headers.get('JPIP-tid');
    if (tid) this.core.setTargetId(tid);
    this.core.beginResponse();
    const reader = response.body.getReader();
    let eor = -1;
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (e.name === 'AbortError') throw e;
        throw new JpipError(`the response was cut off (${e.message}): the server stopped?`);
      }
      if (chunk.done) break;
      this.bytesReceived += chunk.value.length;
      const r = this.core.feed(chunk.value);
      if (r.error) throw new JpipError(r.error);
      if (r.eor >= 0) eor = r.eor;
      if (onProgress) onProgress(r);
    }
    if (eor < 0) throw new JpipError('the response ended before its end-of-response message: the server stopped?');
    return eor;
  }
}
