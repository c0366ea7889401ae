// What the web's end-to-end tests share: Debian's Chromium through playwright-core, trusting
// exactly the web's own certificate; the database as a superuser sees it; people signing in.
import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "../../ui/node_modules/playwright-core/index.mjs";

export const port = process.env.DIALOG_WEB_PORT;
export const db = process.env.DIALOG_WEB_DB;
export const screens = process.env.DIALOG_E2E_SCREENS;
/** The web as a browser reaches it: a name, resolved to this computer by the browser. */
export const origin = `https://dialog.test:${port}`;
/** Another site, on the same server: what a page of someone else's site could do. */
export const elsewhere = `https://evil.test:${port}`;
export const PASSWORD = "dialog-demo";

/** The web's certificate's public key, as Chromium pins it (base64 SHA-256 of the SPKI). */
function spki() {
  const cert = new X509Certificate(readFileSync(process.env.DIALOG_WEB_CERT));
  return createHash("sha256").update(cert.publicKey.export({ type: "spki", format: "der" })).digest("base64");
}

export async function launch() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--autoplay-policy=no-user-gesture-required",
      "--host-resolver-rules=MAP dialog.test 127.0.0.1, MAP evil.test 127.0.0.1",
      // Only the web's own (self-signed) certificate is trusted, by its key.
      `--ignore-certificate-errors-spki-list=${spki()}`,
    ],
  });
}

/** A fresh browser profile (cookies of its own), showing Dialog's page. */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true, locale: "ru-RU" });
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  await page.goto(`${origin}/`);
  return page;
}

/** Signs in through the login screen: the desktop opens with its templates counted, as in the
 * app; then the registry. */
export async function signIn(page, login) {
  await page.fill("#login-user", login);
  await page.fill("#login-password", PASSWORD);
  await page.click("#login-submit");
  await page.waitForSelector("#templates .template .template-count", { timeout: 20000 });
  await page.click("#nav-registry");
  await page.waitForSelector("#registry-rows tr", { timeout: 20000 });
}

/** The database as its superuser sees it: one value per row, `|` between columns. */
export function sql(query, url = db) {
  return execFileSync("psql", [url, "-AtX", "-v", "ON_ERROR_STOP=1", "-c", query], { encoding: "utf8" }).trim();
}

/** Runs SQL (read from standard input) as a person of the demo city. */
export function sqlAs(login, script) {
  const url = db.replace(/\/\/[^@]*@/, `//${login}:${PASSWORD}@`);
  return execFileSync("psql", [url, "-AtX", "-v", "ON_ERROR_STOP=1", "-f", "-"], { input: script, encoding: "utf8" }).trim();
}

/** A command as the page calls it (with its session and CSRF token, through the UI's own seam). */
export async function command(page, name, args = {}) {
  return page.evaluate(
    async ([name, args]) => {
      const s = await fetch("/api/session", { cache: "no-store" });
      const csrf = s.ok ? (await s.json()).csrf : "";
      const r = await fetch(`/api/call/${name}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-dialog-csrf": csrf },
        body: JSON.stringify(args),
      });
      return { status: r.status, body: await r.json().catch(() => null) };
    },
    [name, args],
  );
}

export function shot(page, name) {
  return page.screenshot({ path: join(screens, `web-${name}.png`) });
}

/** A WAV file: `seconds` of a `hz` tone, 8 kHz µ-law mono. */
export function toneWav(hz, seconds) {
  // As the phone records calls: G.711 µ-law, 8 kHz mono, with the `fact` chunk non-PCM WAVs carry.
  const rate = 8000;
  const n = rate * seconds;
  const b = Buffer.alloc(58 + n);
  b.write("RIFF", 0);
  b.writeUInt32LE(50 + n, 4);
  b.write("WAVEfmt ", 8);
  b.writeUInt32LE(18, 16);
  b.writeUInt16LE(7, 20); // WAVE_FORMAT_MULAW
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate, 28);
  b.writeUInt16LE(1, 32);
  b.writeUInt16LE(8, 34);
  b.writeUInt16LE(0, 36);
  b.write("fact", 38);
  b.writeUInt32LE(4, 42);
  b.writeUInt32LE(n, 46);
  b.write("data", 50);
  b.writeUInt32LE(n, 54);
  for (let i = 0; i < n; i++) b[58 + i] = ulaw(Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / rate)));
  return b;
}

/** G.711 µ-law of one 16-bit sample. */
function ulaw(sample) {
  const sign = sample < 0 ? 0x80 : 0;
  let s = Math.min(Math.abs(sample), 32635) + 0x84;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  return ~(sign | (exp << 4) | ((s >> (exp + 3)) & 0x0f)) & 0xff;
}


/** The empty registry filter (every appeal the person may see). */
export const everything = {
  text: "",
  types: [],
  statuses: [],
  priorities: [],
  kindIds: [],
  organizationIds: [],
  executorIds: [],
  receivedFrom: null,
  receivedTo: null,
  quick: null,
  buildingId: null,
  identifier: null,
};
