// Speed of the private mode's WebAssembly module (the detector, tracker and fast model of
// `ferrite export --format web`), run by Node's V8 (Chromium's engine) on one thread.
// Usage: node bench/private_mode.mjs SITE_DIR PHOTO FRAME.rgba [ROUNDS]
// Prints the module's load time, a photo's decode + detect + classify time and a webcam
// frame's (480x360, faces followed by the tracker), as medians over ROUNDS (default 20).
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [site, photo, frameFile, roundsArg] = process.argv.slice(2);
if (!site || !photo || !frameFile) {
  console.error("usage: node bench/private_mode.mjs SITE_DIR PHOTO FRAME.rgba [ROUNDS]");
  process.exit(2);
}
const rounds = Number(roundsArg || 20);
const dir = join(site, "assets/private");
const wasm = readFileSync(join(dir, "ferrite.wasm"));
const card = readFileSync(join(dir, "model/card.json"));
const weights = readFileSync(join(dir, "model/model.safetensors"));

const t0 = performance.now();
const { instance } = await WebAssembly.instantiate(wasm, {});
const x = instance.exports;
const put = (parts) => {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const at = x.ferrite_input(n);
  let o = 0;
  for (const p of parts) { new Uint8Array(x.memory.buffer, at + o, p.length).set(p); o += p.length; }
};
const answer = () => JSON.parse(new TextDecoder().decode(new Uint8Array(x.memory.buffer, x.ferrite_output_ptr(), x.ferrite_output_len())));
put([card, weights]);
if (x.ferrite_load(card.length) !== 0) throw new Error(answer().error);
const loadMs = performance.now() - t0;

const median = (f) => {
  const times = [];
  for (let i = 0; i < rounds; i++) { const t = performance.now(); f(); times.push(performance.now() - t); }
  return times.sort((a, b) => a - b)[Math.floor(rounds / 2)];
};
const name = new TextEncoder().encode("photo");
const bytes = readFileSync(photo);
let faces = 0;
const photoMs = median(() => {
  put([name, bytes]);
  if (x.ferrite_predict(name.length, 0) !== 0) throw new Error(JSON.stringify(answer()));
  faces = answer().faces.length;
});

// A webcam frame: FRAME holds 480x360 RGBA pixels (the photo scaled, by bench/private_mode.sh),
// the same frame each time, so the tracker carries its faces between detections as it does
// for a still face in front of a camera.
const rgba = readFileSync(frameFile);
if (rgba.length !== 480 * 360 * 4) throw new Error(`${frameFile}: not 480x360 RGBA`);
x.ferrite_live_start(48);
let t = 0;
let frameFaces = 0;
const frameMs = median(() => {
  put([rgba]);
  if (x.ferrite_live_frame(480, 360, (t += 1 / 30)) !== 0) throw new Error(answer().error);
  frameFaces = answer().faces.length;
});
console.log(`module ${(wasm.length / 1e6).toFixed(2)} MB + model ${((card.length + weights.length) / 1e6).toFixed(2)} MB; load ${loadMs.toFixed(0)} ms`);
console.log(`photo, ${faces} faces: ${photoMs.toFixed(1)} ms (decode + detect + classify)`);
console.log(`webcam frame 480x360, ${frameFaces} faces followed: ${frameMs.toFixed(1)} ms (${(1000 / frameMs).toFixed(0)} frames/s)`);
