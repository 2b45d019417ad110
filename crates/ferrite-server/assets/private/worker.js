// Ferrite's private mode: the face detector and the fast model, compiled to WebAssembly
// (crates/ferrite-wasm), run in this worker, inside the browser. Photos and webcam frames
// reach it from the page by postMessage and go nowhere else: the only requests it makes are
// for the module and the model's two files, once (the browser keeps them).
//
// Messages: { id, op, ... } with op "predict" (name, bytes, tta), "pixels" (name, rgba,
// width, height, tta), "liveStart" (minFace) or "liveFrame" (rgba, width, height, timeS);
// answers: { id, ok: true, result } or { id, ok: false, error }.
"use strict";

const FILES = { wasm: "ferrite.wasm", card: "model/card.json", weights: "model/model.safetensors" };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

// The module's exports, once loaded: bytes go in through its input buffer, answers (JSON)
// come out of its output buffer (crates/ferrite-wasm/src/abi.rs).
async function load() {
  const started = performance.now();
  const [wasm, card, weights] = await Promise.all([fetchBytes(FILES.wasm), fetchBytes(FILES.card), fetchBytes(FILES.weights)]);
  const { instance } = await WebAssembly.instantiate(wasm, {});
  const x = instance.exports;
  const call = (parts, run) => {
    const length = parts.reduce((n, p) => n + p.length, 0);
    const at = x.ferrite_input(length);
    const input = new Uint8Array(x.memory.buffer, at, length);
    let offset = 0;
    for (const p of parts) { input.set(p, offset); offset += p.length; }
    const code = run();
    const answer = JSON.parse(decoder.decode(new Uint8Array(x.memory.buffer, x.ferrite_output_ptr(), x.ferrite_output_len())));
    return { code, answer };
  };
  const loaded = call([card, weights], () => x.ferrite_load(card.length));
  if (loaded.code !== 0) throw new Error(loaded.answer.error);
  return { x, call, bytes: wasm.length + card.length + weights.length, ms: performance.now() - started };
}

let module = null;
const ready = () => module || (module = load().catch((e) => { module = null; throw e; }));

// The module's code for each test-time augmentation (`tta_of` in crates/ferrite-wasm/src/abi.rs).
const TTA_CODES = { off: 0, flip: 1, crops: 2, zoom: 3 };
const ttaCode = (tta) => TTA_CODES[tta] ?? 0;

const ops = {
  async info() {
    const m = await ready();
    return { bytes: m.bytes, load_ms: m.ms };
  },
  async predict({ name, bytes, tta }) {
    const m = await ready();
    const nameBytes = encoder.encode(name);
    const { code, answer } = m.call([nameBytes, new Uint8Array(bytes)], () => m.x.ferrite_predict(nameBytes.length, ttaCode(tta)));
    if (code === 1) throw new Error(answer.error);
    return answer; // a report, or { needs_pixels: FORMAT } (code 2)
  },
  async pixels({ name, rgba, width, height, tta }) {
    const m = await ready();
    const nameBytes = encoder.encode(name);
    const { code, answer } = m.call([nameBytes, new Uint8Array(rgba)], () => m.x.ferrite_predict_pixels(nameBytes.length, width, height, ttaCode(tta)));
    if (code !== 0) throw new Error(answer.error);
    return answer;
  },
  async liveStart({ minFace }) {
    const m = await ready();
    const { code, answer } = m.call([], () => m.x.ferrite_live_start(minFace));
    if (code !== 0) throw new Error(answer.error);
    return answer;
  },
  async liveFrame({ rgba, width, height, timeS }) {
    const m = await ready();
    const { code, answer } = m.call([new Uint8Array(rgba)], () => m.x.ferrite_live_frame(width, height, timeS));
    if (code !== 0) throw new Error(answer.error);
    return answer;
  },
};

self.onmessage = async ({ data }) => {
  const { id, op } = data;
  try {
    if (!ops[op]) throw new Error(`unknown operation ${op}`);
    self.postMessage({ id, ok: true, result: await ops[op](data) });
  } catch (e) {
    // A trap inside the module leaves its state unknown: load a fresh one for the next call.
    if (e instanceof WebAssembly.RuntimeError) module = null;
    self.postMessage({ id, ok: false, error: e instanceof WebAssembly.RuntimeError ? `internal error in the private-mode module (${e.message})` : e.message });
  }
};
