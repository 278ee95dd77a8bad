// The websocket: connects, reconnects with backoff, decodes the binary envelope of docs/protocol.md.

const MAX_BACKOFF_MS = 8000;

/**
 * Decodes one binary message: uint32 LE header length, JSON header, then 4-byte aligned arrays.
 * Returns {header, arrays} where arrays maps name → {data, shape, range?, dtype}.
 */
export function decodeEnvelope(buffer) {
  const view = new DataView(buffer);
  const headerLength = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headerLength)));
  const arrays = new Map();
  let offset = align4(4 + headerLength);
  for (const spec of header.arrays ?? []) {
    const count = spec.shape.reduce((product, size) => product * size, 1);
    const data =
      spec.dtype === "f32"
        ? new Float32Array(buffer.slice(offset, offset + count * 4))
        : new Uint8Array(buffer, offset, count);
    arrays.set(spec.name, { data, shape: spec.shape, range: spec.range, dtype: spec.dtype });
    offset = align4(offset + count * (spec.dtype === "f32" ? 4 : 1));
  }
  return { header, arrays };
}

function align4(offset) {
  return (offset + 3) & ~3;
}

/** A reconnecting websocket. `handlers`: onOpen(), onClose(), onText(msg), onBinary(decoded). */
export class Socket {
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.backoff = 250;
    this.ws = null;
    this.closedByUs = false;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    ws.addEventListener("open", () => {
      this.backoff = 250;
      this.handlers.onOpen?.();
    });
    ws.addEventListener("message", (event) => this.receive(event.data));
    ws.addEventListener("close", () => this.scheduleReconnect(ws));
    this.ws = ws;
  }

  receive(data) {
    if (typeof data === "string") this.handlers.onText?.(JSON.parse(data));
    else this.handlers.onBinary?.(decodeEnvelope(data));
  }

  scheduleReconnect(ws) {
    if (ws !== this.ws || this.closedByUs) return;
    this.handlers.onClose?.(this.backoff);
    setTimeout(() => this.connect(), this.backoff);
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
