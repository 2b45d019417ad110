// End-to-end test of the dashboard's private mode in Debian's headless Chromium.
// Usage: node private_mode.mjs BASE_URL SITE_DIR PHOTO PHOTO_WEBP SHOTS_DIR CAMERA_FACES
// With the switch on, the Predictor, Batch and Live webcam pages read photos and frames in the
// browser (WebAssembly): no request to /api/predict or /api/live is made, and a photo's faces
// and probabilities are the server's (its `fast` model, asked by the test itself) for PHOTO and
// for PHOTO_WEBP (a format the module leaves to the browser's decoder). Then SITE_DIR (`ferrite
// export --format web`) is served by a plain static file server and does the same with no
// Ferrite server behind it. Exits non-zero with a message on the first failure.
import { createServer } from "node:http";
import { readFileSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { check, launch, openPage, waitUntil } from "./browser.mjs";

const [base, site, photo, photoWebp, shots, cameraFacesArg] = process.argv.slice(2);
if (!base || !site || !photo || !photoWebp || !shots || cameraFacesArg === undefined) {
  console.error("usage: node private_mode.mjs BASE_URL SITE_DIR PHOTO PHOTO_WEBP SHOTS_DIR CAMERA_FACES");
  process.exit(2);
}
const cameraFaces = Number(cameraFacesArg);
// The module's products run in another order than the server's (128-bit SIMD instead of AVX):
// probabilities agree to rounding, boxes and labels exactly.
const TOLERANCE = 1e-4;

const browser = await launch(process.env.FAKE_CAMERA);

// What the server's fast model says of `file` (the reference).
async function serverReport(request, file, tta) {
  const response = await request.post(`${base}/api/predict?model=fast&tta=${tta}`, {
    multipart: { image: { name: file.split("/").pop(), mimeType: "application/octet-stream", buffer: readFileSync(file) } },
  });
  check(response.ok(), `the server could not read ${file}: ${response.status()} ${await response.text()}`);
  return (await response.json())[0];
}

// The page's own private-mode path (`privatePredict` in app.js, what the Predictor page calls)
// on `file`'s bytes.
async function browserReport(page, file, tta) {
  const bytes = [...readFileSync(file)];
  return page.evaluate(async ({ name, bytes, tta }) => {
    const file = new File([new Uint8Array(bytes)], name);
    return privatePredict(file, tta);
  }, { name: file.split("/").pop(), bytes, tta });
}

function sameReport(mine, theirs, what) {
  check(mine.width === theirs.width && mine.height === theirs.height, `${what}: size ${mine.width}x${mine.height} vs the server's ${theirs.width}x${theirs.height}`);
  check(mine.whole_image === theirs.whole_image, `${what}: whole_image ${mine.whole_image} vs the server's ${theirs.whole_image}`);
  check(mine.faces.length === theirs.faces.length, `${what}: ${mine.faces.length} faces vs the server's ${theirs.faces.length}`);
  mine.faces.forEach((f, i) => {
    const g = theirs.faces[i];
    check(JSON.stringify(f.box) === JSON.stringify(g.box), `${what}: face ${i + 1} at ${f.box} vs the server's ${g.box}`);
    check(f.label === g.label, `${what}: face ${i + 1} is ${f.label}, the server says ${g.label}`);
    for (const [label, p] of Object.entries(g.probabilities)) {
      const diff = Math.abs(f.probabilities[label] - p);
      check(diff <= TOLERANCE, `${what}: face ${i + 1} ${label} ${f.probabilities[label]} vs the server's ${p}`);
    }
  });
}

// Every request the page makes that would carry a photo or a frame to a server.
function watchUploads(page) {
  const uploads = [];
  page.on("request", (r) => { if (/\/api\/(predict|live)/.test(r.url())) uploads.push(`${r.method()} ${r.url()}`); });
  return uploads;
}

async function privatePages(page, origin, tag) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  const uploads = watchUploads(page);

  // Predictor: the switch on, the module loads once, the photo is read in the browser.
  await openPage(page, `${origin}/#predict`);
  if (tag !== "static") await page.check("#private-predict");
  check(await page.isChecked("#private-predict"), `${tag}: private mode is off`);
  await waitUntil(page, () => /loaded in/.test(document.querySelector("#page-predict .private-note").textContent), "the private-mode module to load", 30000);
  await page.setInputFiles("#file", photo);
  await page.waitForSelector("#faces .face, #no-face", { timeout: 30000 });
  await waitUntil(page, () => /in this browser/.test(document.getElementById("predict-status").textContent), "the status to say the photo was read in the browser", 30000);
  await page.screenshot({ path: `${shots}/${tag}-private-predict.png`, fullPage: true });

  // The same faces and probabilities as the server's fast model, with and without the mirror.
  for (const [file, tta] of [[photo, "off"], [photo, "flip"], [photo, "zoom"], [photoWebp, "off"]]) {
    const what = `${tag}: ${file.split("/").pop()} with TTA ${tta}`;
    sameReport(await browserReport(page, file, tta), await serverReport(page.request, file, tta), what);
  }

  // A file that is not an image: the error names it.
  await page.setInputFiles("#file", { name: "notes.jpg", mimeType: "image/jpeg", buffer: Buffer.from("not an image") });
  await page.waitForSelector("#predict-status.error", { timeout: 10000 });
  const message = await page.textContent("#predict-status");
  check(/notes\.jpg/.test(message), `${tag}: the error does not name the file: ${message}`);

  // Batch: three photos, in the browser.
  await openPage(page, `${origin}/#batch`);
  await page.setInputFiles("#batch-files", [photo, photo, photoWebp]);
  await page.waitForFunction(() => document.querySelectorAll("#batch-table tbody tr").length === 3, null, { timeout: 30000 });
  const failed = await page.locator("#batch-table .error").count();
  check(failed === 0, `${tag}: ${failed} batch photos failed in private mode`);

  // Live webcam: frames read in the browser, faces followed by the module's tracker.
  await openPage(page, `${origin}/#webcam`);
  check(await page.isChecked("#private-webcam"), `${tag}: private mode is off on the webcam page`);
  await page.click("#cam-start");
  await waitUntil(page, () => Number((document.getElementById("cam-stats").textContent.match(/(\d+) frames$/) || [0, 0])[1]) >= 10, "10 webcam frames read in the browser", 60000);
  if (cameraFaces > 0) {
    await waitUntil(page, () => /smoothed/.test(document.getElementById("cam-now").textContent), "a followed face on the webcam page", 30000);
  }
  const stats = await page.textContent("#cam-stats");
  await page.screenshot({ path: `${shots}/${tag}-private-webcam.png`, fullPage: true });
  await page.click("#cam-stop");
  console.log(`${tag}: private webcam ${stats}`);

  check(uploads.length === 0, `${tag}: private mode sent ${uploads.join(", ")}`);
  check(errors.length === 0, `${tag}: errors in the page: ${errors.join(" | ")}`);
}

// A plain static file server for SITE_DIR (what any static host does).
const MIME = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm" };
const statics = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
  let file = join(site, path);
  try { if (statSync(file).isDirectory()) file = join(file, "index.html"); } catch (_) { /* 404 below */ }
  try {
    const body = readFileSync(file);
    res.writeHead(200, { "Content-Type": MIME[extname(file)] || "application/octet-stream" });
    res.end(body);
  } catch (_) {
    res.writeHead(404);
    res.end("not found");
  }
});
await new Promise((r) => statics.listen(0, "127.0.0.1", r));
const staticOrigin = `http://127.0.0.1:${statics.address().port}`;

try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, permissions: ["camera"] });
  await privatePages(await context.newPage(), base, "server");
  await context.close();

  // The static site: private mode only (switch on and fixed), no pages that need a server,
  // and no request leaves the static host.
  const staticContext = await browser.newContext({ viewport: { width: 1366, height: 900 }, permissions: ["camera"] });
  const page = await staticContext.newPage();
  const elsewhere = [];
  page.on("request", (r) => { if (!r.url().startsWith(staticOrigin) && !r.url().startsWith("blob:") && !r.url().startsWith("data:")) elsewhere.push(r.url()); });
  await openPage(page, `${staticOrigin}/`);
  const tabs = await page.locator("#tabs a").evaluateAll((as) => as.map((a) => a.dataset.page));
  check(JSON.stringify(tabs) === JSON.stringify(["predict", "webcam", "batch"]), `static: the tabs are ${tabs}`);
  check(await page.isDisabled("#private-predict"), "static: the private switch can be turned off");
  await privatePages(page, staticOrigin, "static");
  check(elsewhere.length === 0, `static: requests left the static host: ${elsewhere.join(", ")}`);
  await staticContext.close();
  console.log("private mode e2e: all checks passed");
} catch (e) {
  console.error(`private mode e2e FAILED: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  statics.close();
}
