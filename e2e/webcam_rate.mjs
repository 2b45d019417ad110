// Frames per second of the dashboard's Live webcam page, end to end in headless Chromium:
// the fake camera plays a Y4M file, each frame goes to the server and back, boxes are drawn.
// Usage: node webcam_rate.mjs BASE_URL CAMERA.y4m SECONDS [private]
// Prints the frames answered per second over SECONDS after a 5-s warm-up, and the faces seen.
// With `private`, the page's private mode is on: each frame is read in the browser by the
// WebAssembly module (in its worker) instead of going to the server.
import { launch, openPage } from "./browser.mjs";

const [base, camera, secondsArg, mode] = process.argv.slice(2);
if (!base || !camera || !secondsArg) {
  console.error("usage: node webcam_rate.mjs BASE_URL CAMERA.y4m SECONDS");
  process.exit(2);
}
const browser = await launch(camera);
const frames = (page) => page.evaluate(() => {
  const m = document.getElementById("cam-stats").textContent.match(/(\d+) face\(s\) · (\d+) frames$/);
  return m ? { faces: Number(m[1]), frames: Number(m[2]) } : { faces: 0, frames: 0 };
});
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, permissions: ["camera"] });
  const page = await context.newPage();
  await openPage(page, `${base}/#webcam`);
  if (mode === "private") {
    await page.check("#private-webcam");
    await page.waitForFunction(() => /loaded in/.test(document.querySelector("#page-webcam .private-note").textContent), null, { timeout: 60000 });
  }
  await page.click("#cam-start");
  await page.waitForTimeout(5000);
  const start = await frames(page);
  const t0 = Date.now();
  await page.waitForTimeout(Number(secondsArg) * 1000);
  const end = await frames(page);
  const rate = (end.frames - start.frames) / ((Date.now() - t0) / 1000);
  console.log(`webcam${mode === "private" ? " (private mode)" : ""}: ${rate.toFixed(1)} frames/s over ${secondsArg} s (${end.frames - start.frames} frames), ${end.faces} face(s) in the last frame`);
} finally {
  await browser.close();
}
