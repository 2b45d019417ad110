// End-to-end test of the Ferrite dashboard in Debian's headless Chromium.
// Usage: node dashboard.mjs BASE_URL PHOTO SHOTS_DIR VIDEO VIDEO_FACES
// Opens every page on a laptop-sized and a phone-sized window, uploads PHOTO to the predictor,
// runs a batch, uploads VIDEO (an MP4 holding VIDEO_FACES faces) to the Video page and plays
// it, drives the webcam page with Chromium's fake camera, checks that charts render, and saves
// screenshots to SHOTS_DIR. Exits non-zero with a message on the first failure.
import { mkdirSync, readFileSync } from "node:fs";
import { check, launch, openPage, waitUntil } from "./browser.mjs";

const [base, photo, shots, video, videoFacesArg] = process.argv.slice(2);
if (!base || !photo || !shots || !video || videoFacesArg === undefined) {
  console.error("usage: node dashboard.mjs BASE_URL PHOTO SHOTS_DIR VIDEO VIDEO_FACES");
  process.exit(2);
}
const videoFaces = Number(videoFacesArg);
mkdirSync(shots, { recursive: true });

// FAKE_CAMERA: a Y4M file the fake camera plays in a loop (the test's frames of faces).
const browser = await launch(process.env.FAKE_CAMERA);

// A chart has rendered when its canvas has a size and some non-white pixels.
async function chartDrawn(page, id) {
  return page.evaluate((id) => {
    const c = document.getElementById(id);
    if (!c || !c.width || !c.height) return false;
    const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) return true;
    return false;
  }, id);
}

// The page must fit the window's width (tables may scroll inside their own box).
async function fitsWidth(page, tag, name) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(wide <= 1, `${tag}: the ${name} page is ${wide}px wider than the window`);
}

async function run(viewport, tag) {
  const context = await browser.newContext({ viewport, permissions: ["camera"] });
  const page = await context.newPage();
  try {
    await pages(page, tag);
  } catch (e) {
    await page.screenshot({ path: `${shots}/${tag}-failure.png`, fullPage: true }).catch(() => {});
    throw new Error(`${tag}, at ${page.url()}: ${e.message} (screenshot: ${tag}-failure.png)`);
  } finally {
    await context.close();
  }
}

async function pages(page, tag) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  // Predictor: upload a photo and see faces with bars.
  await openPage(page, `${base}/#predict`);
  await page.setInputFiles("#file", photo);
  await page.waitForSelector("#faces .face, #no-face", { timeout: 30000 });
  const faces = await page.locator("#faces .face").count();
  check(faces >= 1, `${tag}: the predictor shows no face for ${photo}`);
  const bars = await page.locator("#faces .face").first().locator(".bar-row").count();
  check(bars === 7, `${tag}: a face shows ${bars} probability bars, not 7`);
  const drawn = await page.evaluate(() => document.getElementById("photo").width > 0);
  check(drawn, `${tag}: the photo was not drawn`);
  await fitsWidth(page, tag, "predict");
  await page.screenshot({ path: `${shots}/${tag}-predict.png`, fullPage: true });

  // A file that is not an image: a clear message, no crash.
  await page.setInputFiles("#file", { name: "notes.jpg", mimeType: "image/jpeg", buffer: Buffer.from("not an image") });
  await page.waitForSelector("#predict-status.error", { timeout: 10000 });
  const message = await page.textContent("#predict-status");
  check(/notes\.jpg/.test(message), `${tag}: the error does not name the file: ${message}`);
  // The browser logs that deliberate 422 as a failed resource; nothing else may fail.
  errors.splice(0, errors.length, ...errors.filter((e) => !/status of 422/.test(e)));

  // Batch: the same photo three times.
  await openPage(page, `${base}/#batch`);
  await page.setInputFiles("#batch-files", [photo, photo, photo]);
  await page.waitForFunction(() => document.querySelectorAll("#batch-table tbody tr").length === 3, null, { timeout: 30000 });
  check(await chartDrawn(page, "batch-chart"), `${tag}: the batch chart is empty`);
  check(!(await page.isDisabled("#batch-csv")), `${tag}: CSV download stays disabled`);
  const download = page.waitForEvent("download");
  await page.click("#batch-csv");
  const csv = await (await download).path();
  check(csv, `${tag}: no CSV was downloaded`);
  await fitsWidth(page, tag, "batch");
  await page.screenshot({ path: `${shots}/${tag}-batch.png`, fullPage: true });

  // Video: upload with progress, then playback with boxes in sync, a timeline per track whose
  // click seeks the video, the track table, and the downloads.
  await openPage(page, `${base}/#video`);
  await page.setInputFiles("#video-file", video);
  await page.waitForSelector("#video-result:not([hidden])", { timeout: 120000 });
  const status = await page.textContent("#video-status");
  check(!(await page.locator("#video-status.error").count()), `${tag}: the video failed: ${status}`);
  const playable = await page.evaluate(() => new Promise((resolve) => {
    const v = document.getElementById("video-player");
    if (v.readyState >= 2) return resolve(true);
    v.addEventListener("loadeddata", () => resolve(true));
    v.addEventListener("error", () => resolve(false));
    setTimeout(() => resolve(v.readyState >= 2), 15000);
  }));
  check(playable, `${tag}: the player cannot load the uploaded video`);
  const trackRows = await page.locator("#video-tracks tbody tr").count();
  const timelines = await page.locator("#video-timelines canvas").count();
  if (videoFaces > 0) {
    check(trackRows >= videoFaces, `${tag}: ${trackRows} tracks for a video of ${videoFaces} faces`);
    check(timelines === trackRows, `${tag}: ${timelines} timelines for ${trackRows} tracks`);
    check(await chartDrawn(page, "video-timeline-1"), `${tag}: the first timeline is empty`);
    // A click on a timeline at 60% of its width seeks the video to about half its length.
    const timeline = page.locator("#video-timelines canvas").first();
    const box = await timeline.boundingBox();
    await timeline.click({ position: { x: box.width * 0.6, y: box.height * 0.5 } });
    await waitUntil(page, () => document.getElementById("video-player").currentTime > 0.4, "a click on the timeline to seek the video");
    await waitUntil(page, () => Number(document.getElementById("video-overlay").dataset.faces) >= 1, "boxes over the video after the seek");
    const inked = await page.evaluate(() => {
      const c = document.getElementById("video-overlay");
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n += 1;
      return n;
    });
    check(inked > 100, `${tag}: no box is drawn over the video (${inked} pixels)`);
    // Playback redraws the boxes as the video runs.
    await page.evaluate(() => { const v = document.getElementById("video-player"); v.currentTime = 0; return v.play(); });
    await waitUntil(page, () => document.getElementById("video-player").currentTime > 0.2, "the video to play");
    await page.evaluate(() => document.getElementById("video-player").pause());
  } else {
    check(trackRows === 0, `${tag}: ${trackRows} tracks in a video without faces`);
  }
  const videoCsv = page.waitForEvent("download");
  await page.click("#video-csv");
  const csvText = readFileSync(await (await videoCsv).path(), "utf8");
  check(csvText.startsWith("file,frame,time_s,track,"), `${tag}: the video CSV starts ${csvText.slice(0, 40)}`);
  check(csvText.trim().split("\n").length >= 1 + (videoFaces > 0 ? 50 : 0), `${tag}: the video CSV has ${csvText.trim().split("\n").length} lines`);
  const videoJson = page.waitForEvent("download");
  await page.click("#video-json");
  const result = JSON.parse(readFileSync(await (await videoJson).path(), "utf8"));
  check(result.report.frames_analysed === 50, `${tag}: ${result.report.frames_analysed} of 50 frames analysed`);
  await fitsWidth(page, tag, "video");
  await page.screenshot({ path: `${shots}/${tag}-video.png`, fullPage: true });

  // Model performance: card, confusion matrix, report, charts.
  await openPage(page, `${base}/#model`);
  await page.waitForSelector("#confusion table", { timeout: 10000 });
  const cells = await page.locator("#confusion td").count();
  check(cells === 49, `${tag}: the confusion matrix has ${cells} cells, not 49`);
  const model = await (await page.request.get(`${base}/api/model`)).json();
  const legRows = await page.locator("#model-legs tbody tr.leg").count();
  check(legRows === model.card.training.legs.length && legRows > 0,
    `${tag}: the training legs table has ${legRows} rows, the card ${model.card.training.legs.length} legs`);
  for (const id of ["prf-chart", "loss-chart", "acc-chart", "reliability-chart"]) {
    check(await chartDrawn(page, id), `${tag}: chart ${id} did not render`);
  }
  // The shipped card's PrivateTest evaluation carries its calibration error.
  const ece = await page.textContent("#eval-kpis");
  check(/ECE\)\s*0\.\d{3}/.test(ece), `${tag}: no calibration error on the model page: ${ece}`);
  await fitsWidth(page, tag, "model");
  await page.screenshot({ path: `${shots}/${tag}-model.png`, fullPage: true });

  // The header's model selector: the page shows the fast model's card, and the predictor
  // asks the fast model.
  await page.selectOption("#model-select", "fast");
  await page.waitForFunction(() => /architecture\s*fast-deep/.test(document.getElementById("model-summary").textContent), null, { timeout: 10000 });
  await page.waitForSelector("#confusion table", { timeout: 10000 });
  await openPage(page, `${base}/#predict`);
  const asked = page.waitForRequest((r) => r.url().includes("/api/predict") && r.url().includes("model=fast"), { timeout: 10000 });
  await page.setInputFiles("#file", photo);
  await asked;
  await page.waitForSelector("#predict-status:not(.error)", { timeout: 30000 });
  await page.waitForSelector("#faces .face, #no-face", { timeout: 30000 });
  await page.selectOption("#model-select", "accurate");

  // Dataset EDA: waits for the background analysis.
  await openPage(page, `${base}/#eda`);
  await page.waitForSelector("#eda-body:not([hidden])", { timeout: 60000 });
  for (const id of ["eda-bar", "eda-pie"]) {
    check(await chartDrawn(page, id), `${tag}: chart ${id} did not render`);
  }
  const loaded = `[...document.querySelectorAll("#eda-samples img, #eda-means img")]
    .filter((i) => i.complete && i.naturalWidth > 0).length`;
  await page.waitForFunction(`${loaded} === 14`, null, { timeout: 20000 }).catch(() => {});
  const images = await page.evaluate(loaded);
  check(images === 14, `${tag}: ${images} of 14 EDA pictures loaded`);
  await fitsWidth(page, tag, "eda");
  await page.screenshot({ path: `${shots}/${tag}-eda.png`, fullPage: true });

  // Live webcam with Chromium's fake camera: frames go round trip, the chart exists.
  await openPage(page, `${base}/#webcam`);
  await page.click("#cam-start");
  await page.waitForFunction(() => /(\d+) frames$/.test(document.getElementById("cam-stats").textContent)
    && Number(document.getElementById("cam-stats").textContent.match(/(\d+) frames$/)[1]) >= 10, null, { timeout: 60000 });
  const stats = await page.textContent("#cam-stats");
  if (videoFaces > 0) {
    // The camera plays the test's faces: they are followed by track and their labels
    // smoothed, and the session CSV has a track column.
    await waitUntil(page, () => /smoothed/.test(document.getElementById("cam-now").textContent), "a followed face on the webcam page", 20000);
    const camCsv = page.waitForEvent("download");
    await page.click("#cam-csv");
    const rows = readFileSync(await (await camCsv).path(), "utf8").trim().split("\n");
    check(rows[0].startsWith("time_s,frame,track,") && rows[0].endsWith("smoothed_label,smoothed_confidence"), `${tag}: the webcam CSV header is ${rows[0]}`);
    const tracks = new Set(rows.slice(1).map((r) => r.split(",")[2]));
    check(rows.length > 1 && tracks.size >= 1 && tracks.size <= 2 * videoFaces, `${tag}: webcam tracks ${[...tracks]} for ${videoFaces} faces`);
  }
  await fitsWidth(page, tag, "webcam");
  await page.screenshot({ path: `${shots}/${tag}-webcam.png`, fullPage: true });
  await page.click("#cam-stop");
  console.log(`${tag}: webcam ${stats}`);

  check(errors.length === 0, `${tag}: errors in the page: ${errors.join(" | ")}`);
}

try {
  await run({ width: 1366, height: 900 }, "laptop");
  await run({ width: 390, height: 844 }, "phone");
  console.log("dashboard e2e: all checks passed");
} catch (e) {
  console.error(`dashboard e2e FAILED: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
