// Dialog in a browser, as a housing company's manager and a supervisor use it on a laptop:
// the real dialog-server (web duty) on a demo city, the real UI, Debian's Chromium.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { command, elsewhere, everything, launch, newPage, origin, screens, shot, signIn, sql, sqlAs, toneWav } from "./helpers.mjs";

let browser;
/** Where the downloads of the run go. */
const downloads = mkdtempSync(join(tmpdir(), "dialog-web-downloads-"));
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const managerOrg = () => sql("select organization_id from staff where login = 'manager'");

describe("a manager on a laptop", () => {
  let page;
  let number;
  let appealId;
  before(async () => {
    page = await newPage(browser);
  });

  it("signs in and sees only their organization", async () => {
    await signIn(page, "manager");
    assert.match(await page.textContent("#me-name"), /Лебедев/);
    // The phone is the desktop app's: a note stands where it would be.
    assert.match(await page.textContent("#phone-absent"), /в приложении «Диалог»/);
    assert.equal(await page.locator("#line-state").count(), 0);
    const shown = await page.$$eval("#registry-rows tr", (rows) => rows.map((r) => r.querySelector("td")?.textContent?.match(/\d{4}-\d{6}/)?.[0]).filter(Boolean));
    assert.ok(shown.length >= 20, `rows: ${shown.length}`);
    const org = managerOrg();
    const foreign = sql(`select count(*) from appeals where number in (${shown.map((n) => `'${n}'`).join(",")}) and organization_id is distinct from '${org}'`);
    assert.equal(foreign, "0", "every appeal shown is the manager's organization's");
    // The count the registry works with is their organization's, not the city's.
    const count = await command(page, "registry_count", { filter: everything });
    assert.equal(count.status, 200);
    assert.equal(String(count.body), sql(`select count(*) from appeals where organization_id = '${org}'`));
    assert.ok(Number(sql("select count(*) from appeals")) > count.body, "other organizations have appeals too");
    // Another organization's appeal cannot be opened, not even by its id.
    const other = sql(`select id from appeals where organization_id <> '${org}' limit 1`);
    const refused = await command(page, "get_appeal", { id: other });
    assert.equal(refused.status, 404, JSON.stringify(refused));
    assert.equal(refused.body.kind, "notFound");
    await shot(page, "manager-registry");
    assert.deepEqual(page.errors, []);
  });

  it("plays a call's recording, hears its tone and seeks in it", async () => {
    // An operator recorded a 12-second call (a 1000 Hz tone) about an appeal of the manager's
    // organization, through the database's own function, as themselves.
    const org = managerOrg();
    [appealId, number] = sql(`select id, number from appeals where organization_id = '${org}' order by received_at desc limit 1`).split("|");
    const callId = randomUUID();
    sqlAs(
      "operator1",
      `select dialog_record_call('${callId}', 'входящий', '+79990005555', '2001', now() - interval '1 minute',
         now() - interval '50 seconds', now() - interval '38 seconds', '${appealId}', null,
         '\\x${toneWav(1000, 12).toString("hex")}'::bytea, 'audio/wav', null);`,
    );
    const search = page.locator("#registry-search");
    await search.fill(number);
    await page.waitForFunction((n) => document.querySelectorAll("#registry-rows tr").length === 1 && document.querySelector("#registry-rows")?.textContent?.includes(n), number);
    await page.click("#registry-rows tr:first-child td.c-reason");
    await page.click("#tab-calls");
    await page.waitForSelector(`#card-calls .call[data-id="${callId}"] .play`);
    const ranges = [];
    page.on("request", (r) => {
      if (r.url().includes(`/api/recording/${callId}`) && r.headers().range) ranges.push(r.headers().range);
    });
    await page.click(`#card-calls .call[data-id="${callId}"] .play`);
    const audio = page.locator("#card-calls audio");
    await page.waitForFunction(() => {
      const a = document.querySelector("#card-calls audio");
      return a && a.duration > 11 && a.currentTime > 0.2;
    }, null, { timeout: 15000 });
    // Seeking: the player jumps to 0:09 and plays on from there.
    await audio.evaluate((a) => {
      a.currentTime = 9;
    });
    await page.waitForFunction(() => {
      const a = document.querySelector("#card-calls audio");
      return a && !a.seeking && a.currentTime > 9.2 && a.currentTime < 12.1;
    }, null, { timeout: 10000 });
    assert.match(await page.textContent("#card-calls .player-time"), /^0:(09|1\d) \/ 0:12$/);
    assert.ok(ranges.length > 0, "the player asks for byte ranges");
    // The server answers a range with just those bytes.
    const part = await page.evaluate(async (url) => {
      const r = await fetch(url, { headers: { Range: "bytes=100-199" } });
      return { status: r.status, range: r.headers.get("content-range"), length: (await r.arrayBuffer()).byteLength, type: r.headers.get("content-type") };
    }, `/api/recording/${callId}`);
    assert.deepEqual(part, { status: 206, range: `bytes 100-199/${58 + 8000 * 12}`, length: 100, type: "audio/wav" });
    // What plays is the call: its tone, decoded by the page's own Web Audio.
    const heard = await page.evaluate(async (url) => {
      const data = await (await fetch(url)).arrayBuffer();
      const ctx = new AudioContext();
      const buf = await ctx.decodeAudioData(data);
      const x = buf.getChannelData(0);
      const rate = buf.sampleRate;
      const goertzel = (hz) => {
        const w = (2 * Math.PI * hz) / rate;
        const c = 2 * Math.cos(w);
        let s1 = 0;
        let s2 = 0;
        for (let i = 0; i < x.length; i++) {
          const s0 = x[i] + c * s1 - s2;
          s2 = s1;
          s1 = s0;
        }
        return Math.sqrt(s1 * s1 + s2 * s2 - c * s1 * s2) / x.length;
      };
      return { seconds: buf.duration, tone: goertzel(1000), off: goertzel(1370) };
    }, `/api/recording/${callId}`);
    assert.ok(heard.seconds > 11.9, JSON.stringify(heard));
    assert.ok(heard.tone > 10 * heard.off, `the recording holds the caller's tone: ${JSON.stringify(heard)}`);
    await shot(page, "manager-recording");
  });

  it("finds the same call in «Записи» and plays it there", async () => {
    const callId = await page.getAttribute("#card-calls .call[data-id]", "data-id");
    await page.keyboard.press("Escape");
    await page.waitForSelector("#card", { state: "detached" });
    await page.click("#nav-recordings");
    await page.fill("#rec-number", "5555");
    await page.waitForSelector(`#recordings-rows tr[data-id="${callId}"] button.play`);
    await page.click(`#recordings-rows tr[data-id="${callId}"] button.play`);
    await page.waitForFunction(() => {
      const a = document.querySelector("#recording-player audio");
      return a && a.duration > 11 && a.currentTime > 0.2;
    }, null, { timeout: 15000 });
    await shot(page, "manager-recordings");
    // Back to the appeal's card for what follows.
    await page.click(`#recordings-rows tr[data-id="${callId}"] .open-appeal`);
    await page.waitForSelector("#card-print");
  });

  it("downloads the card as PDF", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#card-print")]);
    assert.equal(download.suggestedFilename(), `Обращение ${number}.pdf`);
    const file = join(downloads, download.suggestedFilename());
    await download.saveAs(file);
    assert.equal(readFileSync(file).subarray(0, 5).toString(), "%PDF-");
    const text = execFileSync("pdftotext", [file, "-"], { encoding: "utf8" });
    assert.ok(text.includes(number), "the card carries its number");
    await page.waitForSelector(".toast", { timeout: 5000 });
    assert.match(await page.textContent("#toasts"), /загрузок браузера/);
    await page.keyboard.press("Escape");
    await page.waitForSelector("#card", { state: "detached" });
  });

  it("builds a report and downloads it as CSV, of their organization only", async () => {
    await page.click("#nav-reports");
    await page.waitForSelector("#report-kind option[value=byOrganization]", { state: "attached" });
    await page.selectOption("#report-kind", "byOrganization");
    await page.fill("#report-from", "2020-01-01");
    await page.click("#report-build");
    await page.waitForSelector("#report-table");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#report-csv")]);
    assert.match(download.suggestedFilename(), /\.csv$/);
    const file = join(downloads, download.suggestedFilename());
    await download.saveAs(file);
    const csv = readFileSync(file, "utf8");
    assert.ok(csv.startsWith("\ufeff"), "UTF-8 with BOM, for Excel");
    const name = sql(`select name from organizations where id = '${managerOrg()}'`);
    const lines = csv.trim().split(/\r?\n/).slice(1);
    assert.ok(lines.length >= 1);
    assert.ok(lines.every((l) => l.includes(name) || /^"?(итого|всего)/i.test(l)), csv);
    await shot(page, "manager-report");
  });

  it("downloads an attached file to save, never to open as a page", async () => {
    // A citizen's «акт.pdf» that is really a web page with a script, attached by an operator.
    const file = randomUUID();
    sqlAs(
      "operator1",
      `select dialog_add_attachment('${file}', '${appealId}', 'акт.pdf', 'application/pdf',
         convert_to('<html><script>alert(1)</script></html>', 'UTF8'));`,
    );
    const r = await page.evaluate(async (url) => {
      const r = await fetch(url);
      return { status: r.status, type: r.headers.get("content-type"), disposition: r.headers.get("content-disposition"), nosniff: r.headers.get("x-content-type-options") };
    }, `/api/attachment/${appealId}/${file}`);
    assert.equal(r.status, 200);
    assert.equal(r.type, "application/octet-stream", "what is not a document is never served as one");
    assert.match(r.disposition, /^attachment; filename="/);
    assert.ok(r.disposition.includes("filename*=UTF-8''%D0%B0%D0%BA%D1%82.pdf"), r.disposition);
    assert.equal(r.nosniff, "nosniff");
  });
});

describe("a supervisor's dashboard", () => {
  it("changes within a second when an operator registers an appeal", async (t) => {
    const supervisor = await newPage(browser);
    await signIn(supervisor, "starshiy");
    await supervisor.click("#nav-reports");
    await supervisor.waitForSelector("#dash-today .dash-value");
    const before = Number(await supervisor.textContent("#dash-today .dash-value"));
    // An operator (here in a browser of their own) registers an appeal: the web's command,
    // the same core call as the desktop app's.
    const operator = await newPage(browser);
    await signIn(operator, "operator1");
    const kind = (await command(operator, "search_kinds", { text: "горячей" })).body[0];
    const building = (await command(operator, "search_buildings", { text: "Ленина" })).body[0];
    const card = {
      receivedAt: null,
      channel: "phone",
      identifier: "+79990007777",
      applicantName: "Тестова Анна",
      contacts: "",
      reasons: [{ id: randomUUID(), buildingId: building.id, apartment: "5", entrance: "", floor: "", addressNote: "", kindId: kind.id, priority: null, comment: "", executorIds: [], joinTo: null }],
      status: null,
    };
    const watching = supervisor.waitForFunction((n) => Number(document.querySelector("#dash-today .dash-value")?.textContent) === n, before + 1, { timeout: 5000, polling: 20 });
    const made = await command(operator, "create_appeals", { new: card });
    const saved = Date.now();
    assert.equal(made.status, 200, JSON.stringify(made));
    await watching;
    const took = Date.now() - saved;
    t.diagnostic(`the dashboard changed ${took} ms after the appeal was registered`);
    assert.ok(took <= 1000, `the dashboard changed ${took} ms after the appeal was registered`);
    await shot(supervisor, "supervisor-dashboard");
    await supervisor.context().close();
    await operator.context().close();
  });
});

describe("a supervisor at home", () => {
  it("works appeals as in the app: closes one that was done", async () => {
    const page = await newPage(browser);
    await signIn(page, "starshiy");
    const [id, number] = sql("select id, number from appeals where status = 'отработано' order by received_at desc limit 1").split("|");
    await page.fill("#registry-search", number);
    await page.waitForFunction((n) => document.querySelectorAll("#registry-rows tr").length === 1 && document.querySelector("#registry-rows")?.textContent?.includes(n), number);
    await page.click("#registry-rows tr:first-child td.c-reason");
    await page.waitForSelector("#card-status option[value=closed]", { state: "attached" });
    await page.selectOption("#card-status", "closed");
    await shot(page, "supervisor-card");
    await page.click("#card-save");
    await page.waitForSelector("#card", { state: "detached" });
    assert.equal(sql(`select status from appeals where id = '${id}'`), "закрыто");
    // The history says who closed it: the supervisor, as themselves.
    assert.equal(sql(`select actor from appeal_history where appeal_id = '${id}' order by at desc limit 1`), "starshiy");
    await page.context().close();
  });
});

describe("sessions", () => {
  /** Every command the UI calls (its one seam, `call(...)`), and the web's own requests. */
  const commands = () => {
    const dir = join(import.meta.dirname, "../../ui/src/api");
    const names = new Set();
    for (const f of readdirSync(dir)) for (const m of readFileSync(join(dir, f), "utf8").matchAll(/call<[^(]*>\("([a-z_]+)"/g)) names.add(m[1]);
    return [...names];
  };

  it("a signed-out browser gets 401 from every command", async () => {
    const page = await newPage(browser);
    await page.waitForSelector("#login-form");
    const names = commands();
    assert.ok(names.length > 60, `${names.length} commands`);
    const statuses = await page.evaluate(async (names) => {
      const out = {};
      for (const n of names) out[`call/${n}`] = (await fetch(`/api/call/${n}`, { method: "POST", headers: { "content-type": "application/json", "x-dialog-csrf": "" }, body: "{}" })).status;
      const id = crypto.randomUUID();
      for (const p of ["session", "events", `recording/${id}`, `attachment/${id}/${id}`, `cards.pdf?ids=${id}`]) out[p] = (await fetch(`/api/${p}`)).status;
      for (const p of ["logout", "report/pdf", "report/csv"]) out[p] = (await fetch(`/api/${p}`, { method: "POST", body: "{}" })).status;
      return out;
    }, names);
    const not401 = Object.entries(statuses).filter(([, s]) => s !== 401);
    assert.deepEqual(not401, [], "every request without a session is refused");
    await page.context().close();
  });

  it("a second person's cookie cannot be replayed after they sign out, and their connections close", async () => {
    const page = await newPage(browser);
    await signIn(page, "operator2");
    const [cookie] = (await page.context().cookies()).filter((c) => c.name === "__Host-dialog");
    assert.ok(cookie.httpOnly && cookie.secure && cookie.sameSite === "Strict", JSON.stringify(cookie));
    assert.ok(Number(sql("select count(*) from pg_stat_activity where usename = 'operator2'")) > 0);
    await page.click("#logout");
    await page.click("#logout-yes");
    await page.waitForSelector("#login-form");
    for (let i = 0; i < 50 && sql("select count(*) from pg_stat_activity where usename = 'operator2'") !== "0"; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(sql("select count(*) from pg_stat_activity where usename = 'operator2'"), "0", "signing out closes the person's connections");
    // Someone who copied the cookie brings it into a browser of their own.
    const thief = await newPage(browser);
    await thief.context().addCookies([cookie]);
    await thief.reload();
    await thief.waitForSelector("#login-form");
    const r = await thief.evaluate(async () => [(await fetch("/api/session")).status, (await fetch("/api/call/dashboard", { method: "POST", body: "{}" })).status]);
    assert.deepEqual(r, [401, 401]);
    await page.context().close();
    await thief.context().close();
  });

  it("a third sign-in of one person ends their oldest session, within their 8 connections", async () => {
    const pages = [];
    for (let i = 0; i < 3; i++) {
      const page = await newPage(browser);
      await signIn(page, "operator3");
      pages.push(page);
    }
    const alive = [];
    for (const p of pages) alive.push(await p.evaluate(async () => (await fetch("/api/session")).status));
    assert.deepEqual(alive, [401, 200, 200]);
    assert.ok(Number(sql("select count(*) from pg_stat_activity where usename = 'operator3'")) <= 6);
    // The page of the ended session goes back to the login screen at its next request.
    await pages[0].click("#nav-desktop");
    await pages[0].waitForSelector("#login-form");
    assert.match(await pages[0].textContent("#login-form"), /Сеанс завершён/);
    for (const p of pages) await p.context().close();
  });

  it("failed sign-ins make the next ones wait", async () => {
    const page = await newPage(browser);
    const tries = [];
    for (let i = 0; i < 5; i++) {
      await page.fill("#login-user", "operator3");
      await page.fill("#login-password", `wrong-${i}`);
      await page.click("#login-submit");
      await page.waitForFunction((n) => document.querySelector("#login-error")?.textContent && document.querySelector("#login-submit")?.textContent === "Войти", null);
      tries.push(await page.textContent("#login-error"));
      await page.evaluate(() => {
        document.querySelector("#login-error").textContent = "";
      });
    }
    assert.match(tries[0], /Неверный логин или пароль/);
    assert.ok(tries.slice(3).some((t) => /подождите \d+ с/.test(t)), tries.join(" | "));
    await shot(page, "login-throttled");
    await page.context().close();
  });
});

describe("what another site and a crafted request cannot do", () => {
  it("a page of another site cannot make a signed-in browser change anything", async () => {
    const page = await newPage(browser);
    await signIn(page, "starshiy");
    const appeal = sql("select id from appeals order by received_at desc limit 1");
    const before = sql(`select count(*) from appeal_history where appeal_id = '${appeal}' and action = 'comment'`);
    // The same browser (its cookie) opens another site, whose script posts a comment.
    const evil = await page.context().newPage();
    await evil.goto(`${elsewhere}/`);
    await evil.evaluate(async ([target, id]) => {
      await fetch(`${target}/api/call/add_comment`, { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "text/plain" }, body: JSON.stringify({ id, text: "подделка" }) }).catch(() => null);
      const f = document.createElement("form");
      f.method = "POST";
      f.action = `${target}/api/call/add_comment`;
      f.enctype = "text/plain";
      document.body.appendChild(f);
      f.submit();
    }, [origin, appeal]);
    await new Promise((r) => setTimeout(r, 1000));
    // And from Dialog's own page without the session's token, or with a wrong one.
    const tries = await page.evaluate(async (id) => {
      const post = async (headers) => (await fetch("/api/call/add_comment", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ id, text: "подделка" }) })).status;
      return [await post({}), await post({ "x-dialog-csrf": "A".repeat(43) })];
    }, appeal);
    assert.deepEqual(tries, [403, 403]);
    assert.equal(sql(`select count(*) from appeal_history where appeal_id = '${appeal}' and action = 'comment'`), before, "nothing was saved");
    // The right token from the right page works.
    const ok = await command(page, "add_comment", { id: appeal, text: "настоящий комментарий" });
    assert.equal(ok.status, 200, JSON.stringify(ok));
    assert.equal(Number(sql(`select count(*) from appeal_history where appeal_id = '${appeal}' and action = 'comment'`)), Number(before) + 1);
    await page.context().close();
  });

  it("serves only the UI's own files, with a strict policy", async () => {
    const { connect } = await import("node:tls");
    const raw = (path) =>
      new Promise((resolve, reject) => {
        const s = connect({ host: "127.0.0.1", port: Number(origin.split(":").pop()), servername: "dialog.test", rejectUnauthorized: false }, () => {
          s.write(`GET ${path} HTTP/1.1\r\nHost: dialog.test\r\nConnection: close\r\n\r\n`);
        });
        let out = "";
        s.on("data", (d) => (out += d));
        s.on("end", () => resolve(out));
        s.on("error", reject);
      });
    for (const path of ["/../../../../etc/passwd", "/assets/../../Cargo.toml", "/%2e%2e/%2e%2e/etc/passwd", "/assets/%2e%2e%2f%2e%2e%2fCargo.toml", "//etc/passwd", "/..%5c..%5cCargo.toml", "/assets/", "/index.html/.."]) {
      const r = await raw(path);
      assert.match(r, /^HTTP\/1\.1 (404|400)/, `${path}: ${r.slice(0, 80)}`);
      assert.ok(!r.includes("root:") && !r.includes("[workspace]"), path);
    }
    const home = await raw("/");
    for (const h of ["content-security-policy: default-src 'self'; script-src 'self'", "x-content-type-options: nosniff", "strict-transport-security: max-age=", "x-frame-options: DENY"]) {
      assert.ok(home.toLowerCase().includes(h.toLowerCase()), h);
    }
    const api = await raw("/api/session");
    assert.match(api, /cache-control: no-store/i);
  });
});
