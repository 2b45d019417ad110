// What the browser scripts share: Debian's headless Chromium with the fake camera, and the
// checks that fail with a message.
import { chromium } from "playwright-core";

// Chromium (CHROMIUM, else /usr/bin/chromium) with a fake camera that plays `camera` (a Y4M
// file) in a loop when given.
export function launch(camera) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
      ...(camera ? [`--use-file-for-fake-video-capture=${camera}`] : []),
    ],
  });
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

// Waits for `fn` to hold in the page; a timeout says what was awaited.
export async function waitUntil(page, fn, what, timeout = 10000) {
  await page.waitForFunction(fn, null, { timeout }).catch((e) => {
    throw new Error(`timed out after ${timeout} ms waiting for ${what} (${e.message.split("\n")[0]})`);
  });
}

// Opens `url` (ending in `#PAGE`, or none for the Predictor) and waits until the app has shown
// that page and attached its handlers: the app does so after its first request (the model
// selector's), so on a loaded machine an upload made as soon as `goto` returns went unheard.
export async function openPage(page, url) {
  await page.goto(url);
  const name = new URL(url).hash.slice(1) || "predict";
  await page.waitForSelector(`#tabs a.active[data-page="${name}"]`, { timeout: 30000 }).catch((e) => {
    throw new Error(`the app did not show its ${name} page (${e.message.split("\n")[0]})`);
  });
}
