// The websocket: connects, reconnects with backoff, decodes the binary envelope of docs/protocol.md.

const MAX_BACKOFF_MS = 8000;
// The server closed an idle session (docs/protocol.md): reconnecting by itself would undo that,
// so the page waits for the person to resume.
export const CLOSE_IDLE = 4000;

// Bytes per element of each dtype of docs/protocol.md; an f64 array also starts 8-byte aligned.
const DTYPES = {
  f32: { size: 4, align: 4 },
  f64: { size: 8, align: 8 },
  u8: { size: 1, align: 4 },
};
// Typed arrays use the machine's byte order; the envelope is little-endian.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes one binary message: uint32 LE header length, JSON header, then aligned arrays (4 bytes;
 * 8 before an f64). Returns {header, arrays} where arrays maps name → {data, shape, range?, dtype}.
 */
export function decodeEnvelope(buffer) {
  const view = new DataView(buffer);
  const headerLength = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headerLength)));
  const arrays = new Map();
  let offset = align(4 + headerLength, 4);
  for (const spec of header.arrays ?? []) {
    const dtype = DTYPES[spec.dtype];
    if (!dtype) throw new Error(`envelope: unknown dtype "${spec.dtype}" of array ${spec.name}`);
    offset = align(offset, dtype.align);
    const count = spec.shape.reduce((product, size) => product * size, 1);
    const end = offset + count * dtype.size;
    if (end > buffer.byteLength) throw new Error(`envelope: array ${spec.name} runs past the end`);
    const data = readArray(buffer, spec.dtype, offset, count);
    arrays.set(spec.name, { data, shape: spec.shape, range: spec.range, dtype: spec.dtype });
    offset = end;
  }
  return { header, arrays };
}

/** One array's values: a copy for floats (so each owns an aligned buffer), a view for bytes. */
function readArray(buffer, dtype, offset, count) {
  if (dtype === "u8") return new Uint8Array(buffer, offset, count);
  const Type = dtype === "f64" ? Float64Array : Float32Array;
  if (LITTLE_ENDIAN) return new Type(buffer.slice(offset, offset + count * Type.BYTES_PER_ELEMENT));
  const view = new DataView(buffer, offset);
  const out = new Type(count);
  for (let k = 0; k < count; k++) {
    out[k] = dtype === "f64" ? view.getFloat64(8 * k, true) : view.getFloat32(4 * k, true);
  }
  return out;
}

function align(offset, bytes) {
  return Math.ceil(offset / bytes) * bytes;
}

/**
 * A reconnecting websocket. `handlers`: onOpen(), onClose(retryMs, event), onIdle(event),
 * onText(msg), onBinary(decoded). After a drop it reconnects with the session's `token`
 * (?resume=...), so the server hands back the very session it kept.
 */
export class Socket {
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.backoff = 250;
    this.ws = null;
    this.closedByUs = false;
    this.token = null; // the session's resume token, from hello
    this.retry = 0; // the pending reconnect's timer
    this.connect();
  }

  connect() {
    clearTimeout(this.retry);
    const url = this.token ? `${this.url}?resume=${encodeURIComponent(this.token)}` : this.url;
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    ws.addEventListener("open", () => {
      this.backoff = 250;
      this.handlers.onOpen?.();
    });
    ws.addEventListener("message", (event) => this.receive(event.data));
    ws.addEventListener("close", (event) => this.scheduleReconnect(ws, event));
    this.ws = ws;
  }

  receive(data) {
    if (typeof data === "string") this.handlers.onText?.(JSON.parse(data));
    else this.handlers.onBinary?.(decodeEnvelope(data));
  }

  scheduleReconnect(ws, event) {
    if (ws !== this.ws || this.closedByUs) return;
    if (event.code === CLOSE_IDLE) return this.handlers.onIdle?.(event);
    this.handlers.onClose?.(this.backoff, event);
    this.retry = setTimeout(() => this.connect(), this.backoff);
    // Exponential backoff so a restarting server is not hammered by every open tab.
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  get open() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  close() {
    this.closedByUs = true;
    this.ws?.close();
  }
}
