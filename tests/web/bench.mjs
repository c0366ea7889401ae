// The web's figures (scripts/bench-web.sh): sign-in → desktop → registry painted in Chromium, a registry
// page's server time over HTTP, the server's memory with 100 people signed in.
import { readFileSync } from "node:fs";
import https from "node:https";
import { everything, launch, newPage, PASSWORD } from "./helpers.mjs";

const port = Number(process.env.DIALOG_WEB_PORT);
const ca = readFileSync(process.env.DIALOG_WEB_CERT);
const serverPid = process.env.DIALOG_WEB_SERVER_PID;
const base = `https://127.0.0.1:${port}`;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => `${x.toFixed(1)} ms`;
const line = (label, xs) => console.log(`${label.padEnd(46)} p50 ${ms(pct(xs, 50)).padStart(9)}  p95 ${ms(pct(xs, 95)).padStart(9)}  (n=${xs.length})`);

/** Resident memory of the server, MiB. */
function rss() {
  const s = readFileSync(`/proc/${serverPid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(s)[1]) / 1024;
}

/** One person over HTTPS, as a browser talks to the web: one kept-alive connection. */
class Person {
  constructor() {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
    this.cookie = "";
    this.csrf = "";
  }

  request(method, path, body, agent = this.agent) {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = https.request(
        `${base}${path}`,
        {
          method,
          agent,
          ca,
          headers: {
            origin: base,
            cookie: this.cookie,
            "x-dialog-csrf": this.csrf,
            "content-type": "application/json",
            ...(data ? { "content-length": data.length } : {}),
          },
        },
        (res) => {
          if (path === "/api/events") return resolve({ status: res.statusCode, stream: res });
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString();
            const timing = /dur=([\d.]+)/.exec(res.headers["server-timing"] ?? "");
            resolve({ status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : null, server: timing ? Number(timing[1]) : NaN });
          });
        },
      );
      req.on("error", reject);
      if (data) req.write(data);
      req.end();
    });
  }

  async signIn(login, password = PASSWORD) {
    const r = await this.request("POST", "/api/login", { login, password });
    if (r.status !== 200) throw new Error(`${login}: ${JSON.stringify(r.body)}`);
    this.cookie = /^[^;]+/.exec(r.headers["set-cookie"][0])[0];
    this.csrf = r.body.csrf;
    return r;
  }

  call(name, args) {
    return this.request("POST", `/api/call/${name}`, args);
  }

  async listen() {
    this.events = await this.request("GET", "/api/events", undefined, new https.Agent({ keepAlive: true, ca }));
    this.events.stream.resume();
  }

  async signOut() {
    this.events?.stream.destroy();
    await this.request("POST", "/api/logout", {});
    this.agent.destroy();
  }
}

console.log(`server memory idle: ${rss().toFixed(1)} MiB RSS`);

// 1. Sign-in → the desktop painted with its templates counted, then «Реестр» → the registry's
// first page painted, in the browser.
const browser = await launch();
for (const login of ["manager", "starshiy"]) {
  const [desktop, registry, both] = [[], [], []];
  for (let i = 0; i < 21; i++) {
    const page = await newPage(browser);
    await page.fill("#login-user", login);
    await page.fill("#login-password", PASSWORD);
    const t0 = performance.now();
    await page.click("#login-submit");
    await page.waitForSelector("#templates .template .template-count", { timeout: 30000 });
    const t1 = performance.now();
    await page.click("#nav-registry");
    await page.waitForSelector("#registry-rows tr", { timeout: 30000 });
    const t2 = performance.now();
    // The first warms the server's caches.
    if (i > 0) {
      desktop.push(t1 - t0);
      registry.push(t2 - t1);
      both.push(t2 - t0);
    }
    await page.evaluate(async () => {
      const s = await (await fetch("/api/session")).json();
      await fetch("/api/logout", { method: "POST", headers: { "x-dialog-csrf": s.csrf } });
    });
    await page.context().close();
  }
  line(`sign-in → desktop painted (${login})`, desktop);
  line(`«Реестр» → registry painted (${login})`, registry);
  line(`sign-in → registry painted, through the desktop (${login})`, both);
}
await browser.close();

// 2. Registry pages over HTTP: the server's own time.
const filters = {
  "first page": { ...everything },
  "search «Иванов»": { ...everything, text: "Иванов" },
  "search «Ленина 10»": { ...everything, text: "Ленина 10" },
  "accidents": { ...everything, types: ["accident"] },
  "deadline soon": { ...everything, quick: "deadlineSoon" },
};
const all = [];
for (const login of ["manager", "starshiy"]) {
  const p = new Person();
  await p.signIn(login);
  for (const [label, filter] of Object.entries(filters)) {
    const times = [];
    let after = null;
    for (let i = 0; i < 60; i++) {
      // Every third request is the next page (the registry scrolls on).
      const r = await p.call("registry_page", { filter, sort: "receivedDesc", after: i % 3 === 2 ? after : null, limit: 50 });
      if (r.status !== 200) throw new Error(JSON.stringify(r.body));
      after = r.body.next;
      if (i >= 5) times.push(r.server);
    }
    all.push(...times);
    line(`registry page, server time (${login}, ${label})`, times);
  }
  await p.signOut();
}
line("registry page, server time (all)", all);

// 3. A hundred people signed in, each with a page listening to live changes.
const before = rss();
const people = [];
const signIns = [];
for (let i = 1; i <= 100; i++) {
  const p = new Person();
  const t0 = performance.now();
  await p.signIn(`web${String(i).padStart(3, "0")}`, process.env.DIALOG_BENCH_WEB_PASSWORD);
  signIns.push(performance.now() - t0);
  await p.listen();
  const r = await p.call("registry_page", { filter: everything, sort: "receivedDesc", after: null, limit: 50 });
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  people.push(p);
}
line("sign-in over HTTP (100 people)", signIns);
await new Promise((r) => setTimeout(r, 2000));
const full = rss();
console.log(`server memory with 100 people signed in: ${full.toFixed(1)} MiB RSS (${((full - before) / 100 * 1024).toFixed(0)} KiB a person; ${before.toFixed(1)} MiB before)`);
for (const p of people) await p.signOut();
await new Promise((r) => setTimeout(r, 2000));
console.log(`server memory after they signed out: ${rss().toFixed(1)} MiB RSS`);
process.exit(0);
