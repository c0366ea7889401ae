// A minimal W3C WebDriver client over fetch: enough to drive the real app through
// tauri-driver (WebKitWebDriver) without pulling a test framework.
import { writeFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";

export const Key = {
  Tab: "\uE004",
  Enter: "\uE007",
  Escape: "\uE00C",
  ArrowDown: "\uE015",
  Control: "\uE009",
  Null: "\uE000",
  F2: "\uE032",
  F3: "\uE033",
  Backspace: "\uE003",
};

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async start(base, capabilities) {
    const r = await rpc(base, "POST", "/session", { capabilities: { alwaysMatch: capabilities } });
    return new Session(base, r.sessionId);
  }

  cmd(method, path, body) {
    return rpc(this.base, method, `/session/${this.id}${path}`, body);
  }

  async quit() {
    await this.cmd("DELETE", "").catch(() => undefined);
  }

  async find(css) {
    const r = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return r[ELEMENT];
  }

  async findAll(css) {
    const r = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return r.map((e) => e[ELEMENT]);
  }

  /** Waits until `css` matches an element (and, if given, `test(text)` holds). */
  async waitFor(css, { timeout = 15000, text } = {}) {
    const until = Date.now() + timeout;
    let last = "";
    for (;;) {
      try {
        const els = await this.findAll(css);
        if (!text && els.length) return els[0];
        for (const el of text ? els : []) {
          last = await this.text(el);
          if (typeof text === "string" ? last.includes(text) : text.test(last)) return el;
        }
      } catch {
        // not there yet
      }
      if (Date.now() > until) throw new Error(`timed out waiting for ${css}${text ? ` with «${text}» (last: «${last}»)` : ""}`);
      await sleep(100);
    }
  }

  /** How many elements match `css`; -1 while the page is re-rendering them (stale handles). */
  async count(css) {
    try {
      return (await this.findAll(css)).length;
    } catch {
      return -1;
    }
  }

  /** Waits until exactly `n` elements match `css`. */
  async waitCount(css, n, timeout = 15000) {
    const until = Date.now() + timeout;
    let got = -1;
    while ((got = await this.count(css)) !== n) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${n} × ${css} (have ${got})`);
      await sleep(100);
    }
  }

  async waitGone(css, timeout = 15000) {
    const until = Date.now() + timeout;
    while ((await this.count(css)) !== 0) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${css} to go`);
      await sleep(100);
    }
  }

  /** Clicks what `css` matches, again if the page re-rendered it meanwhile (live strips). */
  async press(css, timeout = 15000) {
    const until = Date.now() + timeout;
    for (;;) {
      try {
        return await this.click(await this.find(css));
      } catch (e) {
        if (Date.now() > until) throw e;
        await sleep(100);
      }
    }
  }

  click(el) {
    return this.cmd("POST", `/element/${el}/click`, {});
  }

  type(el, text) {
    return this.cmd("POST", `/element/${el}/value`, { text });
  }

  clear(el) {
    return this.cmd("POST", `/element/${el}/clear`, {});
  }

  text(el) {
    return this.cmd("GET", `/element/${el}/text`);
  }

  attr(el, name) {
    return this.cmd("GET", `/element/${el}/attribute/${name}`);
  }

  prop(el, name) {
    return this.cmd("GET", `/element/${el}/property/${name}`);
  }

  /** Keys to whatever has focus. */
  async keys(text) {
    const el = await this.cmd("GET", "/element/active");
    return this.type(el[ELEMENT], text);
  }

  exec(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  /** Runs an async script: its last argument is the callback to call with the result. */
  execAsync(script, args = []) {
    return this.cmd("POST", "/execute/async", { script, args });
  }

  async screenshot(path) {
    const b64 = await this.cmd("GET", "/screenshot");
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, Buffer.from(b64, "base64"));
  }
}

async function rpc(base, method, path, body) {
  const r = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await r.json().catch(() => ({}));
  if (!r.ok) {
    const v = json.value ?? {};
    throw new Error(`${method} ${path}: ${v.error ?? r.status} ${v.message ?? ""}`);
  }
  return json.value;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
