// Ferrite dashboard: plain JavaScript, Chart.js for charts, everything served by `ferrite serve`.
"use strict";

const $ = (sel) => document.querySelector(sel);
const LABELS = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"];
const COLOURS = {
  angry: "#dc2626", disgust: "#65a30d", fear: "#9333ea", happy: "#eab308",
  neutral: "#64748b", sad: "#2563eb", surprise: "#f97316",
};
const charts = {};
const pct = (v) => `${(100 * v).toFixed(1)}%`;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function chart(id, config) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart(document.getElementById(id), config);
  return charts[id];
}

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function csvField(v) {
  const s = String(v ?? "");
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// ---------- which model answers ----------
// The header's selector: a shipped model (`?model=` on every request), or the server's own
// model when it was started with a folder. The choice is kept for the next visit.
const MODEL_KEY = "ferrite.model";
const modelChoice = () => $("#model-select").value;

function withModel(path) {
  const choice = modelChoice();
  if (!choice) return path;
  return `${path}${path.includes("?") ? "&" : "?"}model=${encodeURIComponent(choice)}`;
}

async function modelSelectorInit() {
  const select = $("#model-select");
  if (STATIC) {
    select.innerHTML = `<option value="fast">fast (in this browser)</option>`;
    select.disabled = true;
    return;
  }
  let health;
  try { health = await api("/api/health"); } catch (_) { return; }
  const served = health.served_model;
  const shipped = health.models || [];
  const options = shipped.includes(served) ? [] : [["", `${served} (this server's)`]];
  shipped.forEach((m) => options.push([m, m === served ? `${m} (default)` : m]));
  select.innerHTML = options.map(([v, t]) => `<option value="${esc(v)}">${esc(t)}</option>`).join("");
  const saved = localStorage.getItem(MODEL_KEY);
  const fallback = shipped.includes(served) ? served : "";
  select.value = options.some(([v]) => v === saved) ? saved : fallback;
  select.addEventListener("change", () => {
    localStorage.setItem(MODEL_KEY, select.value);
    if (initialised.has("model")) modelPageLoad();
  });
}

// ---------- private mode ----------
// The face detector and the fast model compiled to WebAssembly run in a worker
// (assets/private/worker.js): with the switch on, photos and webcam frames are read inside this
// browser and sent nowhere, not even to this machine's server. The static build (`ferrite
// export --format web`, no server behind it) has private mode only.
const STATIC = document.documentElement.hasAttribute("data-static");
const PRIVATE_KEY = "ferrite.private";
const priv = { worker: null, next: 1, pending: new Map(), info: null };
const privateOn = () => STATIC || localStorage.getItem(PRIVATE_KEY) === "on";

function privateCall(op, payload = {}, transfer = []) {
  if (!priv.worker) {
    priv.worker = new Worker("assets/private/worker.js");
    priv.worker.onmessage = ({ data }) => {
      const call = priv.pending.get(data.id);
      priv.pending.delete(data.id);
      if (data.ok) call.resolve(data.result); else call.reject(new Error(data.error));
    };
    priv.worker.onerror = (e) => {
      priv.pending.forEach((call) => call.reject(new Error(e.message || "the private-mode worker failed")));
      priv.pending.clear();
      priv.worker = null;
    };
  }
  const id = priv.next++;
  return new Promise((resolve, reject) => {
    priv.pending.set(id, { resolve, reject });
    priv.worker.postMessage({ id, op, ...payload }, transfer);
  });
}

// Loads the module and the model (once; the browser keeps the files) and says what they cost.
async function privateLoad() {
  const note = document.querySelectorAll(".private-note");
  try {
    priv.info = priv.info || await privateCall("info");
    const mb = (priv.info.bytes / 1e6).toFixed(1);
    note.forEach((n) => { n.textContent = `Private mode: the fast model runs in this browser (${mb} MB, loaded in ${Math.round(priv.info.load_ms)} ms); nothing is sent.`; });
  } catch (e) {
    note.forEach((n) => { n.textContent = `Private mode could not start: ${e.message}`; });
  }
}

function privateSwitchesInit() {
  const boxes = document.querySelectorAll(".private-switch input");
  const sync = () => {
    boxes.forEach((b) => { b.checked = privateOn(); b.disabled = STATIC; });
    document.body.classList.toggle("private", privateOn());
    if (privateOn()) privateLoad();
  };
  boxes.forEach((b) => b.addEventListener("change", () => {
    localStorage.setItem(PRIVATE_KEY, b.checked ? "on" : "off");
    sync();
  }));
  sync();
}

// A drawable (bitmap, video) as RGBA pixels for the module, `width` x `height`, drawn on
// `canvas` (the webcam's grab canvas, reused from frame to frame) or a new one.
function pixelsOf(source, width, height, canvas = document.createElement("canvas")) {
  Object.assign(canvas, { width, height });
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height).data.buffer;
}

// One photo read in the browser, reported as `POST /api/predict` reports it. The module decodes
// it with the server's own decoder (the same faces and probabilities as the server's fast
// model); TIFF and WebP are left out of it, so the browser decodes those.
// `tta` is a test-time augmentation's name, as `?tta=` takes it.
async function privatePredict(file, tta, bitmap = null) {
  const name = file.name || "pasted.png";
  const bytes = await file.arrayBuffer();
  let report = await privateCall("predict", { name, bytes, tta }, [bytes]);
  if (report.needs_pixels) {
    bitmap = bitmap || await createImageBitmap(file).catch(() => null);
    if (!bitmap) throw new Error(`${name}: this browser cannot decode ${report.needs_pixels} images, so private mode cannot read it; turn private mode off to let this machine's server read it`);
    const rgba = pixelsOf(bitmap, bitmap.width, bitmap.height);
    report = await privateCall("pixels", { name, rgba, width: bitmap.width, height: bitmap.height, tta }, [rgba]);
  }
  if (report.error) throw new Error(`${report.file}: ${report.error}`);
  return report;
}

// ---------- pages and navigation ----------
const pageInit = {};
const initialised = new Set();

function showPage() {
  const wanted = (location.hash || "#predict").slice(1);
  const page = [...document.querySelectorAll("#tabs a")].some((a) => a.dataset.page === wanted) ? wanted : "predict";
  document.querySelectorAll(".page").forEach((p) => { p.hidden = p.id !== `page-${page}`; });
  document.querySelectorAll("#tabs a").forEach((a) => a.classList.toggle("active", a.dataset.page === page));
  if (pageInit[page] && !initialised.has(page)) {
    initialised.add(page);
    pageInit[page]();
  }
}

// ---------- faces: boxes and probability bars ----------
function drawBoxes(ctx, faces, sx, sy, caption = (f, i) => `${i + 1} ${f.label} ${Math.round(100 * f.confidence)}%`) {
  const line = Math.max(2, Math.round(ctx.canvas.width / 300));
  ctx.lineWidth = line;
  faces.forEach((f, i) => {
    const [x, y, w, h] = f.box;
    const colour = COLOURS[f.label] || "#0f766e";
    ctx.strokeStyle = colour;
    ctx.strokeRect(x * sx, y * sy, w * sx, h * sy);
    const size = Math.max(11, Math.round(w * sx * 0.15));
    ctx.font = `600 ${size}px system-ui, sans-serif`;
    const text = caption(f, i);
    const tw = ctx.measureText(text).width + 8;
    const top = y * sy - size - 6 >= 0 ? y * sy - size - 6 : y * sy;
    ctx.fillStyle = colour;
    ctx.fillRect(x * sx - line / 2, top, tw, size + 6);
    ctx.fillStyle = "#fff";
    ctx.fillText(text, x * sx + 4 - line / 2, top + size);
  });
}

function faceCard(face, index, note) {
  const rows = LABELS.map((l) => {
    const p = face.probabilities[l] || 0;
    return `<div class="bar-row"><span>${l}</span><div class="bar"><span style="width:${(100 * p).toFixed(1)}%;background:${COLOURS[l]}"></span></div><span>${pct(p)}</span></div>`;
  }).join("");
  return `<div class="face" data-label="${face.label}"><div class="face-head"><span><span class="muted">Face ${index + 1}</span> · <span class="label" style="color:${COLOURS[face.label]}">${face.label}</span></span><span>${pct(face.confidence)} confident${note || ""}</span></div>${rows}</div>`;
}

// ---------- predictor ----------
async function predictFile(file) {
  const status = $("#predict-status");
  status.className = "status";
  status.innerHTML = `<span class="spinner"></span> Analysing ${esc(file.name || "pasted image")}…`;
  const form = new FormData();
  form.append("image", file, file.name || "pasted.png");
  const tta = $("#tta").value;
  const canvas = $("#photo");
  let bitmap = null;
  try { bitmap = await createImageBitmap(file); } catch (_) { /* e.g. TIFF: the server still reads it */ }
  try {
    const started = performance.now();
    const inBrowser = privateOn();
    const report = inBrowser ? await privatePredict(file, tta, bitmap)
      : (await api(withModel(`/api/predict?tta=${tta}`), { method: "POST", body: form }))[0];
    const ms = Math.round(performance.now() - started);
    const where = inBrowser ? " in this browser (private mode, fast model)" : "";
    const ctx = canvas.getContext("2d");
    if (bitmap) {
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      ctx.drawImage(bitmap, 0, 0);
      drawBoxes(ctx, report.faces, bitmap.width / report.width, bitmap.height / report.height);
    } else {
      canvas.width = canvas.height = 0;
    }
    const n = report.faces.length;
    if (n === 0) {
      status.textContent = `No face found in this ${report.width}×${report.height} photo. Try a photo where faces are frontal and at least 40 pixels wide.`;
      $("#faces").innerHTML = `<p class="muted" id="no-face">No face found.</p>`;
    } else {
      const whole = report.whole_image ? " (no face detected: the whole image was read as one face crop)" : "";
      status.textContent = `${n} face${n > 1 ? "s" : ""} found in ${ms} ms${where}${whole}.`;
      $("#faces").innerHTML = report.faces.map((f, i) => faceCard(f, i)).join("");
    }
  } catch (e) {
    status.className = "status error";
    status.textContent = `Could not analyse ${file.name || "the image"}: ${e.message}`;
    $("#faces").innerHTML = "";
    canvas.width = canvas.height = 0;
  }
}

function dropZone(zone, input, onFiles) {
  zone.addEventListener("click", (e) => { if (e.target !== input) input.click(); });
  zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  input.addEventListener("change", () => { if (input.files.length) onFiles([...input.files]); input.value = ""; });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files.length) onFiles([...e.dataTransfer.files]);
  });
}

pageInit.predict = () => {
  dropZone($("#drop"), $("#file"), (files) => predictFile(files[0]));
  document.addEventListener("paste", (e) => {
    if ((location.hash || "#predict") !== "#predict") return;
    const item = [...e.clipboardData.items].find((i) => i.type.startsWith("image/"));
    if (item) predictFile(item.getAsFile());
  });
};

// ---------- live webcam ----------
// Frames go to `/api/live/SESSION`: the server follows each face by track and smooths its
// probabilities over the session's frames (as for videos), so labels do not flicker.
// In private mode they go to the worker instead, whose module runs the same tracker.
const cam = { stream: null, running: false, private: null, session: "", t0: 0, frames: 0, rows: [], points: [], lastChart: 0, times: [] };

function sessionId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `s${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
}

function camChart() {
  return chart("cam-chart", {
    type: "line",
    data: { datasets: LABELS.map((l) => ({ label: l, data: [], borderColor: COLOURS[l], backgroundColor: COLOURS[l], pointRadius: 0, borderWidth: 2, tension: 0.25 })) },
    options: {
      animation: false, maintainAspectRatio: false, parsing: false,
      scales: { x: { type: "linear", title: { display: true, text: "seconds" } }, y: { min: 0, max: 1, title: { display: true, text: "probability" } } },
      plugins: { legend: { position: "bottom" } },
    },
  });
}

// Faces no smaller than this many pixels of the (at most 480 wide) frame are looked for.
const CAM_MIN_FACE = 48;

// A frame to this machine's server: JPEG, followed there by the session's tracker.
async function camServerFrame(video, grab) {
  if (cam.private !== false) Object.assign(cam, { private: false, session: sessionId() });
  grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
  const blob = await new Promise((r) => grab.toBlob(r, "image/jpeg", 0.85));
  return api(withModel(`/api/live/${cam.session}?min_face=${CAM_MIN_FACE}`), { method: "POST", body: blob, headers: { "Content-Type": "image/jpeg" } });
}

// A frame read in this browser (private mode): its pixels to the worker's own tracker.
async function camPrivateFrame(video, grab) {
  if (cam.private !== true) {
    await privateCall("liveStart", { minFace: CAM_MIN_FACE });
    cam.private = true;
  }
  const rgba = pixelsOf(video, grab.width, grab.height, grab);
  const timeS = (performance.now() - cam.t0) / 1000;
  return privateCall("liveFrame", { rgba, width: grab.width, height: grab.height, timeS }, [rgba]);
}

async function camLoop() {
  const video = $("#video");
  const overlay = $("#overlay");
  const grab = document.createElement("canvas");
  while (cam.running) {
    if (!video.videoWidth) { await new Promise((r) => setTimeout(r, 50)); continue; }
    const scale = Math.min(1, 480 / video.videoWidth);
    grab.width = Math.round(video.videoWidth * scale);
    grab.height = Math.round(video.videoHeight * scale);
    let report;
    try {
      report = privateOn() ? await camPrivateFrame(video, grab) : await camServerFrame(video, grab);
    } catch (e) {
      cam.private = null; // start a fresh session with the next frame
      $("#cam-stats").textContent = `error: ${e.message}`;
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    if (!cam.running) break;
    const now = performance.now();
    const t = (now - cam.t0) / 1000;
    cam.frames += 1;
    cam.times.push(now);
    while (cam.times.length && now - cam.times[0] > 2000) cam.times.shift();
    overlay.width = video.videoWidth;
    overlay.height = video.videoHeight;
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    // Each face as followed: its track id and smoothed emotion.
    const faces = report.faces.map((f) => ({ box: f.box, track: f.track, label: f.smoothed_label, confidence: f.smoothed_confidence, probabilities: f.smoothed }));
    drawBoxes(ctx, faces, 1 / scale, 1 / scale, (f) => `#${f.track} ${f.label} ${Math.round(100 * f.confidence)}%`);
    report.faces.forEach((f) => {
      const [x, y, w, h] = f.box.map((v) => Math.round(v / scale));
      cam.rows.push([t.toFixed(3), cam.frames, f.track, x, y, w, h, f.label, f.confidence.toFixed(4), ...LABELS.map((l) => f.probabilities[l].toFixed(4)), f.smoothed_label, f.smoothed_confidence.toFixed(4)]);
    });
    // The main face: the largest, and of equal ones the longest followed (lowest track id).
    const main = faces.slice().sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3] || a.track - b.track)[0];
    if (main) cam.points.push({ t, p: main.probabilities });
    while (cam.points.length && t - cam.points[0].t > 60) cam.points.shift();
    if (now - cam.lastChart > 250) {
      cam.lastChart = now;
      const c = charts["cam-chart"];
      c.data.datasets.forEach((d) => { d.data = cam.points.map((pt) => ({ x: pt.t, y: pt.p[d.label] })); });
      c.options.scales.x.min = Math.max(0, t - 60);
      c.options.scales.x.max = Math.max(60, t);
      c.update();
      $("#cam-now").innerHTML = main ? faceCard(main, main.track - 1, " (smoothed)") : `<p class="muted">No face in view.</p>`;
    }
    const fps = cam.times.length > 1 ? (1000 * (cam.times.length - 1)) / (now - cam.times[0]) : 0;
    $("#cam-stats").textContent = `${fps.toFixed(1)} frames/s · ${report.faces.length} face(s) · ${cam.frames} frames`;
    $("#cam-csv").disabled = cam.rows.length === 0;
  }
}

async function camStart() {
  try {
    cam.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  } catch (e) {
    $("#cam-stats").textContent = `The camera could not be opened: ${e.message}`;
    return;
  }
  const video = $("#video");
  video.srcObject = cam.stream;
  await video.play();
  Object.assign(cam, { running: true, private: null, t0: performance.now(), frames: 0, rows: [], points: [], times: [] });
  camChart();
  $("#cam-start").disabled = true;
  $("#cam-stop").disabled = false;
  camLoop();
}

function camStop() {
  cam.running = false;
  if (cam.stream) cam.stream.getTracks().forEach((t) => t.stop());
  cam.stream = null;
  $("#cam-start").disabled = false;
  $("#cam-stop").disabled = true;
}

pageInit.webcam = () => {
  camChart();
  $("#cam-start").addEventListener("click", camStart);
  $("#cam-stop").addEventListener("click", camStop);
  $("#cam-csv").addEventListener("click", () => {
    const head = ["time_s", "frame", "track", "x", "y", "width", "height", "label", "confidence", ...LABELS, "smoothed_label", "smoothed_confidence"];
    download("ferrite-webcam-session.csv", [head, ...cam.rows].map((r) => r.map(csvField).join(",")).join("\n") + "\n", "text/csv");
  });
};

// ---------- batch analysis ----------
const batch = { reports: [] };

function batchRender() {
  const counts = LABELS.map((l) => batch.reports.reduce((n, r) => n + r.faces.filter((f) => f.label === l).length, 0));
  const c = charts["batch-chart"];
  c.data.datasets[0].data = counts;
  c.update();
  $("#batch-table tbody").innerHTML = batch.reports.map((r) => {
    const what = r.error ? `<span class="status error">${esc(r.error)}</span>`
      : r.faces.length ? r.faces.map((f) => `<span style="color:${COLOURS[f.label]}">${f.label}</span> ${pct(f.confidence)}`).join(", ")
        : `<span class="muted">no face found</span>`;
    return `<tr><td>${esc(r.file)}</td><td>${r.faces.length}</td><td style="text-align:left">${what}</td></tr>`;
  }).join("");
  const any = batch.reports.length > 0;
  $("#batch-csv").disabled = !any;
  $("#batch-json").disabled = !any;
}

async function batchRun(files) {
  const progress = $("#batch-progress");
  progress.hidden = false;
  progress.max = files.length;
  progress.value = 0;
  batch.reports = [];
  const started = performance.now();
  const inBrowser = privateOn();
  for (let i = 0; i < files.length; i += 4) {
    const group = files.slice(i, i + 4);
    if (inBrowser) {
      for (const f of group) {
        try {
          batch.reports.push(await privatePredict(f, "off"));
        } catch (e) {
          batch.reports.push({ file: f.name, faces: [], error: e.message });
        }
      }
    } else {
      const form = new FormData();
      group.forEach((f) => form.append("image", f, f.name));
      try {
        batch.reports.push(...await api(withModel("/api/predict"), { method: "POST", body: form }));
      } catch (e) {
        batch.reports.push(...group.map((f) => ({ file: f.name, faces: [], error: e.message })));
      }
    }
    progress.value = Math.min(files.length, i + group.length);
    const faces = batch.reports.reduce((n, r) => n + r.faces.length, 0);
    $("#batch-status").textContent = `${progress.value}/${files.length} images · ${faces} faces · ${((performance.now() - started) / 1000).toFixed(1)} s`;
    batchRender();
  }
}

pageInit.batch = () => {
  chart("batch-chart", {
    type: "bar",
    data: { labels: LABELS, datasets: [{ label: "faces", data: LABELS.map(() => 0), backgroundColor: LABELS.map((l) => COLOURS[l]) }] },
    options: { maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  dropZone($("#batch-drop"), $("#batch-files"), batchRun);
  $("#batch-json").addEventListener("click", () => download("ferrite-batch.json", JSON.stringify(batch.reports, null, 2), "application/json"));
  $("#batch-csv").addEventListener("click", () => {
    const rows = [["file", "face", "x", "y", "width", "height", "label", "confidence", ...LABELS, "error"]];
    batch.reports.forEach((r) => {
      if (!r.faces.length) rows.push([r.file, "", "", "", "", "", "", "", ...LABELS.map(() => ""), r.error || "no face found"]);
      r.faces.forEach((f, i) => rows.push([r.file, i + 1, ...f.box, f.label, f.confidence.toFixed(4), ...LABELS.map((l) => f.probabilities[l].toFixed(4)), ""]));
    });
    download("ferrite-batch.csv", rows.map((r) => r.map(csvField).join(",")).join("\n") + "\n", "text/csv");
  });
};

// ---------- video ----------
const vid = { file: null, job: null, result: null, url: null, times: [], frames: [] };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Timeline points kept per track: at most 5 a second, as `ferrite video --out` plots them.
const TIMELINE_STEP_S = 0.2;

async function videoRun(file) {
  const status = $("#video-status");
  const progress = $("#video-progress");
  status.className = "status";
  status.innerHTML = `<span class="spinner"></span> Uploading ${esc(file.name)}…`;
  $("#video-result").hidden = true;
  const form = new FormData();
  form.append("video", file, file.name);
  const fps = $("#video-fps").value;
  let job;
  try {
    job = await api(withModel(`/api/video${fps ? `?fps=${fps}` : ""}`), { method: "POST", body: form });
  } catch (e) {
    status.className = "status error";
    status.textContent = `Could not analyse ${file.name}: ${e.message}`;
    return;
  }
  progress.hidden = false;
  progress.value = 0;
  const started = performance.now();
  for (;;) {
    let s;
    try { s = await api(job.status_url); } catch (e) {
      status.className = "status error";
      status.textContent = `Lost the analysis of ${file.name}: ${e.message}`;
      progress.hidden = true;
      return;
    }
    if (s.status === "done") { progress.hidden = true; videoShow(file, job, s.result); return; }
    if (s.status === "running" && s.frames_total) {
      const secs = (performance.now() - started) / 1000;
      const rate = s.frames_done / Math.max(secs, 1e-3);
      const left = rate > 0 ? (s.frames_total - s.frames_done) / rate : 0;
      progress.max = s.frames_total;
      progress.value = s.frames_done;
      status.textContent = `${esc(file.name)}: ${s.frames_done}/${s.frames_total} frames · ${rate.toFixed(1)} frames/s · ${left.toFixed(0)} s left`;
    } else {
      status.textContent = `${file.name}: waiting for the video queue…`;
    }
    await sleep(300);
  }
}

// The analysed frame shown at `t` seconds: the last one at or before it.
function videoFrameAt(t) {
  const times = vid.times;
  let lo = 0, hi = times.length - 1, best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= t + 1e-3) { best = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return best < 0 ? [] : vid.frames[best];
}

function videoDraw() {
  const video = $("#video-player");
  const overlay = $("#video-overlay");
  const report = vid.result && vid.result.report;
  if (!report || !report.width) return;
  overlay.width = report.width;
  overlay.height = report.height;
  overlay.style.width = `${video.clientWidth}px`;
  overlay.style.height = `${video.clientHeight}px`;
  const ctx = overlay.getContext("2d");
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  const faces = videoFrameAt(video.currentTime).map((r) => ({ box: r.box, label: r.smoothed_label, confidence: r.smoothed_confidence, track: r.track }));
  drawBoxes(ctx, faces, 1, 1, (f) => `#${f.track} ${f.label} ${Math.round(100 * f.confidence)}%`);
  overlay.dataset.faces = String(faces.length);
}

function videoLoop() {
  videoDraw();
  const video = $("#video-player");
  if (!video.paused && !video.ended) requestAnimationFrame(videoLoop);
}

function videoTimelines(rows, duration) {
  const box = $("#video-timelines");
  Object.keys(charts).filter((id) => id.startsWith("video-timeline-")).forEach((id) => { charts[id].destroy(); delete charts[id]; });
  const tracks = new Map();
  rows.forEach((r) => {
    const points = tracks.get(r.track) || [];
    if (!points.length || r.time_s >= points[points.length - 1].t + TIMELINE_STEP_S) points.push({ t: r.time_s, p: r.smoothed });
    tracks.set(r.track, points);
  });
  box.innerHTML = [...tracks.keys()].map((id) => `<div class="card"><h3>Track ${id}</h3><div class="chart"><canvas id="video-timeline-${id}"></canvas></div></div>`).join("");
  tracks.forEach((points, id) => {
    chart(`video-timeline-${id}`, {
      type: "line",
      data: { datasets: LABELS.map((l) => ({ label: l, data: points.map((pt) => ({ x: pt.t, y: pt.p[l] })), borderColor: COLOURS[l], backgroundColor: COLOURS[l], pointRadius: 0, borderWidth: 2 })) },
      options: {
        maintainAspectRatio: false, parsing: false,
        scales: { x: { type: "linear", min: 0, max: Math.max(duration || 0, 0.1), title: { display: true, text: "seconds (click to seek)" } }, y: { min: 0, max: 1, title: { display: true, text: "smoothed probability" } } },
        plugins: { legend: { position: "bottom" } },
        onClick: (event, _, c) => {
          const t = c.scales.x.getValueForPixel(event.x);
          const video = $("#video-player");
          video.currentTime = Math.max(0, Math.min(t, video.duration || t));
        },
      },
    });
  });
}

function videoShow(file, job, result) {
  const report = result.report;
  vid.file = file;
  vid.job = job;
  vid.result = result;
  vid.times = [];
  vid.frames = [];
  result.rows.forEach((r) => {
    if (!vid.times.length || vid.times[vid.times.length - 1] !== r.time_s) { vid.times.push(r.time_s); vid.frames.push([]); }
    vid.frames[vid.frames.length - 1].push(r);
  });
  const status = $("#video-status");
  const where = `${report.frames_analysed} frames analysed in ${result.seconds.toFixed(1)} s, ${report.tracks.length} track(s)`;
  if (report.error) {
    status.className = "status error";
    status.textContent = `${file.name}: ${report.error}${report.frames_analysed ? ` (${where} before that)` : ""}`;
  } else {
    status.className = "status";
    status.textContent = report.tracks.length ? `${file.name}: ${where}.` : `${file.name}: no face found in ${report.frames_analysed} frames.`;
  }
  if (!report.width) return;
  $("#video-result").hidden = false;
  $("#video-summary").textContent = `${report.width}×${report.height}, ${report.duration_s.toFixed(1)} s · ${where}`;
  const video = $("#video-player");
  if (vid.url) URL.revokeObjectURL(vid.url);
  vid.url = URL.createObjectURL(file);
  video.src = vid.url;
  $("#video-tracks").innerHTML = `<thead><tr><th>track</th><th>seen</th><th>frames</th><th class="text">mostly</th><th>mean probability of it</th></tr></thead><tbody>${
    report.tracks.map((t) => `<tr><td>${t.track}</td><td>${t.first_s.toFixed(1)}–${t.last_s.toFixed(1)} s</td><td>${t.frames}</td><td class="text"><span style="color:${COLOURS[t.dominant]}">${t.dominant}</span> ${pct(t.share[t.dominant])} of frames</td><td>${pct(t.mean_probabilities[t.dominant])}</td></tr>`).join("")
  }</tbody>`;
  videoTimelines(result.rows, report.duration_s);
  videoDraw();
}

pageInit.video = () => {
  dropZone($("#video-drop"), $("#video-file"), (files) => videoRun(files[0]));
  const video = $("#video-player");
  video.addEventListener("play", videoLoop);
  ["seeked", "loadeddata", "pause", "timeupdate"].forEach((e) => video.addEventListener(e, videoDraw));
  window.addEventListener("resize", videoDraw);
  $("#video-csv").addEventListener("click", async () => {
    const response = await fetch(`${vid.job.status_url}/csv`);
    download(`${vid.file.name.replace(/\.[^.]+$/, "")}-emotions.csv`, await response.text(), "text/csv");
  });
  $("#video-json").addEventListener("click", () => download(`${vid.file.name.replace(/\.[^.]+$/, "")}-emotions.json`, JSON.stringify(vid.result, null, 2), "application/json"));
};

// ---------- model performance ----------
function kpis(el, items) {
  el.innerHTML = items.map(([k, v]) => `<div class="kpi"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`).join("");
}

function renderEvaluation(card, split) {
  const ev = card.evaluation[split];
  const cal = ev.calibration;
  kpis($("#eval-kpis"), [["accuracy", pct(ev.accuracy)], ["macro F1", ev.macro_f1.toFixed(3)], ["weighted F1", ev.weighted_f1.toFixed(3)], ["images", ev.n],
    ["calibration error (ECE)", cal ? cal.ece.toFixed(3) : "not measured"],
    ["temperature", card.calibration ? card.calibration.temperature.toFixed(3) : "none"]]);
  // Reliability diagram: each confidence bin's accuracy against the diagonal of a calibrated model.
  $("#reliability-card").hidden = !cal;
  if (cal) {
    const used = cal.bins.filter((b) => b.count > 0);
    chart("reliability-chart", {
      type: "bar",
      data: { labels: used.map((b) => `${b.lower.toFixed(2)}-${b.upper.toFixed(2)}`), datasets: [
        { type: "line", label: "calibrated (accuracy = confidence)", data: used.map((b) => (b.lower + b.upper) / 2), borderColor: "#dc2626", backgroundColor: "#dc2626", pointRadius: 0 },
        { label: "accuracy", data: used.map((b) => b.accuracy), backgroundColor: "#0f766e" },
        { label: "mean confidence", data: used.map((b) => b.confidence), backgroundColor: "#f59e0b" },
      ] },
      options: { maintainAspectRatio: false, scales: { y: { min: 0, max: 1 }, x: { title: { display: true, text: "confidence bin" } } }, plugins: { legend: { position: "bottom" } } },
    });
  }
  const normalise = $("#cm-normalise").checked;
  const head = `<tr><th>true \\ predicted</th>${ev.labels.map((l) => `<th>${l}</th>`).join("")}</tr>`;
  const rows = ev.confusion.map((row, t) => {
    const sum = row.reduce((a, b) => a + b, 0) || 1;
    return `<tr><th>${ev.labels[t]}</th>${row.map((n) => {
      const v = n / sum;
      const ink = v > 0.5 ? "#fff" : "#1f2933";
      return `<td style="background:rgba(15,118,110,${(0.08 + 0.92 * v).toFixed(3)});color:${ink}">${normalise ? v.toFixed(2) : n}</td>`;
    }).join("")}</tr>`;
  }).join("");
  $("#confusion").innerHTML = `<table class="cm">${head}${rows}</table>`;
  const classes = ev.labels.map((l) => ev.per_class[l]);
  $("#report").innerHTML = `<thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr></thead><tbody>${
    ev.labels.map((l, i) => `<tr><td>${l}</td><td>${classes[i].precision.toFixed(3)}</td><td>${classes[i].recall.toFixed(3)}</td><td>${classes[i].f1.toFixed(3)}</td><td>${classes[i].support}</td></tr>`).join("")
  }<tr><td><b>macro avg</b></td><td>${ev.macro_precision.toFixed(3)}</td><td>${ev.macro_recall.toFixed(3)}</td><td>${ev.macro_f1.toFixed(3)}</td><td>${ev.n}</td></tr><tr><td><b>accuracy</b></td><td></td><td></td><td>${ev.accuracy.toFixed(3)}</td><td>${ev.n}</td></tr></tbody>`;
  chart("prf-chart", {
    type: "bar",
    data: { labels: ev.labels, datasets: [
      { label: "precision", data: classes.map((c) => c.precision), backgroundColor: "#0f766e" },
      { label: "recall", data: classes.map((c) => c.recall), backgroundColor: "#60a5fa" },
      { label: "F1", data: classes.map((c) => c.f1), backgroundColor: "#f59e0b" },
    ] },
    options: { maintainAspectRatio: false, scales: { y: { min: 0, max: 1 } }, plugins: { legend: { position: "bottom" } } },
  });
}

function duration(s) {
  if (!s) return "—";
  return s < 90 ? `${s.toFixed(0)} s` : s < 5400 ? `${(s / 60).toFixed(0)} min` : `${(s / 3600).toFixed(1)} h`;
}

// A row per leg, and under it the leg's recipe as `ferrite train` options.
function renderLegs(legs, commands) {
  $("#model-legs").innerHTML = `<thead><tr><th>leg</th><th class="text">engine</th><th class="text">device</th><th class="text">hardware</th><th>epochs</th><th>best epoch</th><th>val accuracy</th><th>time</th></tr></thead><tbody>${
    legs.map((l, i) => `<tr class="leg"><td>${i + 1}</td><td class="text">${esc(l.engine)}</td><td class="text">${esc(l.device)}</td><td class="text">${esc(l.hardware)}</td><td>${l.epochs}</td><td>${l.best_epoch}</td><td>${l.best_val_accuracy.toFixed(4)}</td><td>${duration(l.seconds)}</td></tr><tr><td></td><td class="recipe" colspan="7"><code>${esc(commands[i] || "")}</code></td></tr>`).join("")
  }</tbody>`;
}

// The model page shows the model the header's selector names; it reloads when that changes.
const modelPage = { card: null };

function renderModelEvaluation() {
  const card = modelPage.card;
  const split = $("#eval-split").value;
  if (card && split && card.evaluation && card.evaluation[split]) renderEvaluation(card, split);
}

async function modelPageLoad() {
  let info;
  try { info = await api(withModel("/api/model")); } catch (e) { $("#model-summary").textContent = e.message; return; }
  const card = info.card;
  modelPage.card = card;
  const legs = (card.training && card.training.legs) || [];
  const last = legs[legs.length - 1];
  const seconds = legs.reduce((s, l) => s + l.seconds, 0);
  kpis($("#model-summary"), [
    ["architecture", card.arch.name], ["training legs", legs.length],
    ["epochs", legs.reduce((n, l) => n + l.epochs, 0)], ["training time", duration(seconds)],
    ["train images", last ? last.data.train_images : "—"],
  ]);
  $("#model-notes").textContent = `${info.origin}. ${card.notes || ""}`;
  renderLegs(legs, info.leg_commands || []);
  const splits = Object.keys(card.evaluation || {});
  const select = $("#eval-split");
  select.innerHTML = splits.map((s) => `<option value="${s}">${s}</option>`).join("");
  if (splits.includes("private-test")) select.value = "private-test";
  renderModelEvaluation();
  // Every leg's epochs in order, numbered across legs.
  const h = legs.flatMap((l) => l.history).map((p, i) => ({ ...p, epoch: i + 1 }));
  const line = (id, key, label) => chart(id, {
    type: "line",
    data: { labels: h.map((p) => p.epoch), datasets: [
      { label: `train ${label}`, data: h.map((p) => p[key]), borderColor: "#0f766e", backgroundColor: "#0f766e" },
      { label: `validation ${label}`, data: h.map((p) => p[`val_${key}`]), borderColor: "#f97316", backgroundColor: "#f97316" },
    ] },
    options: { maintainAspectRatio: false, plugins: { legend: { position: "bottom" } }, scales: { x: { title: { display: true, text: "epoch" } } } },
  });
  line("loss-chart", "loss", "loss");
  line("acc-chart", "acc", "accuracy");
}

pageInit.model = () => {
  $("#eval-split").addEventListener("change", renderModelEvaluation);
  $("#cm-normalise").addEventListener("change", renderModelEvaluation);
  modelPageLoad();
};

// ---------- dataset EDA ----------
function renderEda(report) {
  $("#eda-body").hidden = false;
  $("#eda-empty").hidden = true;
  $("#eda-source").textContent = `${report.source} · analysed in ${report.seconds.toFixed(1)} s`;
  const total = report.splits.reduce((n, s) => n + s.total, 0);
  kpis($("#eda-kpis"), [["images", total], ...report.splits.map((s) => [s.name, s.total]), ["classes", report.labels.length]]);
  const palette = ["#0f766e", "#60a5fa", "#f59e0b", "#a78bfa"];
  chart("eda-bar", {
    type: "bar",
    data: { labels: report.labels, datasets: report.splits.map((s, i) => ({ label: s.name, data: s.counts, backgroundColor: palette[i % palette.length] })) },
    options: { maintainAspectRatio: false, plugins: { legend: { position: "bottom" } }, scales: { y: { beginAtZero: true } } },
  });
  const first = report.splits[0];
  chart("eda-pie", {
    type: "pie",
    data: { labels: report.labels, datasets: [{ data: first.counts, backgroundColor: report.labels.map((l) => COLOURS[l]) }] },
    options: { maintainAspectRatio: false, plugins: { legend: { position: "right" }, tooltip: { callbacks: { label: (c) => `${c.label}: ${c.raw} (${pct(c.raw / first.total)})` } } } },
  });
  $("#eda-samples").innerHTML = report.labels.map((l) => `<div class="sample-row"><span>${l}</span><img alt="${l} samples" src="/api/eda/samples/${l}"></div>`).join("");
  $("#eda-means").innerHTML = report.labels.map((l) => `<figure><img alt="mean ${l} face" src="/api/eda/mean/${l}"><figcaption>${l}</figcaption></figure>`).join("");
  $("#eda-stats").innerHTML = `<thead><tr><th>class</th><th>images</th><th>share</th><th>mean brightness</th><th>mean contrast</th></tr></thead><tbody>${
    report.classes.map((c) => `<tr><td>${c.label}</td><td>${c.count}</td><td>${pct(c.count / (total || 1))}</td><td>${c.mean_brightness.toFixed(1)}</td><td>${c.mean_contrast.toFixed(1)}</td></tr>`).join("")}</tbody>`;
  const q = report.quality;
  kpis($("#eda-quality"), [["unreadable", q.unreadable], ["blank", q.blank], ["duplicate images", q.duplicate_images], ["duplicate groups", q.duplicate_groups], ["across splits", q.cross_split_groups], ["conflicting labels", q.conflicting_label_groups]]);
  const notes = [...q.unreadable_examples.map((s) => `unreadable: ${s}`), ...q.blank_examples.map((s) => `blank: ${s}`)];
  $("#eda-quality-notes").innerHTML = notes.length ? `<ul>${notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : "";
}

async function edaPoll() {
  let eda;
  try { eda = await api("/api/eda"); } catch (e) { eda = { status: "failed", error: e.message }; }
  const empty = $("#eda-empty");
  if (eda.status === "ready") return renderEda(eda.report);
  empty.hidden = false;
  if (eda.status === "no-data") {
    empty.innerHTML = `<h2>Dataset EDA</h2><p>No dataset was given to this server.</p><p>Restart it with <code>ferrite serve --data DIR</code>, where DIR is FER2013 in the Kaggle layout (<code>train/</code> and <code>test/</code> with one folder per class), the original <code>fer2013.csv</code>, or any folder of class subfolders.</p>`;
  } else if (eda.status === "computing") {
    empty.innerHTML = `<h2>Dataset EDA</h2><p><span class="spinner"></span> Analysing ${esc(eda.source)}… (once; the result is kept)</p>`;
    setTimeout(edaPoll, 1000);
  } else {
    empty.innerHTML = `<h2>Dataset EDA</h2><p class="status error">The dataset could not be read: ${esc(eda.error)}</p>`;
  }
}
pageInit.eda = edaPoll;

// ---------- start ----------
Chart.defaults.animation = false; // charts appear at once (and screenshots show final values)
if (STATIC) {
  // No server: the pages that need one are left out.
  ["video", "model", "eda"].forEach((p) => document.querySelector(`#tabs a[data-page="${p}"]`).remove());
} else {
  api("/api/model").then((info) => Object.assign(COLOURS, info.colours)).catch(() => {});
}
privateSwitchesInit();
window.addEventListener("hashchange", showPage);
modelSelectorInit().then(showPage);
