// Benchmark of the real app over a large demo database (scripts/bench-app.sh runs it):
//  - time from the registry's search input (Enter) to the rows painted, p50/p95;
//  - resident memory of the app (its own process and WebKit's) after a scripted session of
//    registrations (through the card and the same command the card calls) and searches.
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { Key, Session, sleep } from "./webdriver.mjs";

const db = process.env.DIALOG_E2E_DB;
const app = process.env.DIALOG_E2E_APP;
const port = Number(process.env.DIALOG_E2E_PORT ?? 24444);
const SEARCHES = Number(process.env.DIALOG_BENCH_SEARCHES ?? 1000);
const REGISTRATIONS = Number(process.env.DIALOG_BENCH_REGISTRATIONS ?? 1000);
const url = new URL(db);
const sql = (q) => execFileSync("psql", [db, "-Atqc", q], { encoding: "utf8" }).trim();

const driver = spawn(process.env.DIALOG_E2E_DRIVER, ["--port", String(port), "--native-port", String(port + 1)], { stdio: "ignore" });
for (let i = 0; i < 100; i++) {
  try {
    if ((await fetch(`http://127.0.0.1:${port}/status`)).ok) break;
  } catch {
    await sleep(200);
  }
}
const s = await Session.start(`http://127.0.0.1:${port}`, { "tauri:options": { application: app } });
try {
  const server = await s.waitFor("#login-server");
  await s.clear(server);
  await s.type(server, `${url.hostname}:${url.port}${url.pathname}`);
  await s.type(await s.find("#login-user"), "operator1");
  await s.type(await s.find("#login-password"), "dialog-demo" + Key.Enter);
  await s.waitFor("#registry-rows tr", { timeout: 30000 });
  const total = sql("select count(*) from appeals");

  // Real queries of the database: streets with houses, phones as people type them, numbers, names.
  const addresses = sql("select replace(street, 'ул. ', '') || ' ' || house from buildings order by md5(id::text) limit 100").split("\n");
  const phones = sql("select identifier from appeals where identifier like '+79%' order by md5(id::text) limit 100")
    .split("\n")
    .map((p) => `8 (${p.slice(2, 5)}) ${p.slice(5, 8)}-${p.slice(8, 10)}-${p.slice(10, 12)}`);
  const numbers = sql("select number from appeals order by md5(id::text) limit 100").split("\n");
  const names = sql("select split_part(applicant_name, ' ', 1) from appeals order by md5(id::text) limit 100").split("\n");
  const queries = [];
  for (let i = 0; queries.length < SEARCHES; i++) queries.push([addresses, phones, numbers, names][i % 4][Math.floor(i / 4) % 100]);

  const searchOnce = (q) =>
    s.execAsync(
      `const [q, done] = arguments;
       const input = document.querySelector('#registry-search');
       const rows = document.querySelector('#registry-rows');
       const t0 = performance.now();
       const obs = new MutationObserver(() => {
         obs.disconnect();
         requestAnimationFrame(() => requestAnimationFrame(() => done([performance.now() - t0, rows.children.length])));
       });
       obs.observe(rows, { childList: true });
       input.value = q;
       input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));`,
      [q],
    );

  // Warm up, then measure.
  for (const q of queries.slice(0, 20)) await searchOnce(q);
  const times = [];
  let empty = 0;
  for (const q of queries) {
    const [ms, n] = await searchOnce(q);
    times.push(ms);
    if (n === 0) empty++;
  }
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.round((times.length - 1) * p)].toFixed(1);
  console.log(`search input → rows painted over ${total} appeals, ${times.length} searches (${empty} with no rows): p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${pct(1)} ms`);

  // Registrations: the card opens (F2), the appeal is registered through the command the card
  // uses, the card closes; then back to searching.
  const building = sql("select id from buildings order by address limit 1");
  const kind = sql("select id from appeal_kinds where name = 'Нет горячей воды'");
  for (let i = 0; i < REGISTRATIONS; i++) {
    await s.execAsync(
      `const [i, building, kind, done] = arguments;
       document.dispatchEvent(new KeyboardEvent('keydown', { key: 'F2', bubbles: true }));
       const id = () => crypto.randomUUID();
       window.__TAURI_INTERNALS__.invoke('create_appeals', { new: {
         receivedAt: null, channel: 'phone', identifier: '+7999' + String(1000000 + i), applicantName: 'Нагрузочный тест ' + i,
         contacts: '', reasons: [{ id: id(), buildingId: building, kindId: kind, apartment: String(i % 100), entrance: '', floor: '',
           addressNote: '', priority: null, comment: 'проверка памяти', executorIds: [], joinTo: null }] } })
         .then(() => { document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true })); done(true); }, (e) => done(String(e.message ?? e)));`,
      [i, building, kind],
    );
  }
  for (const q of queries) await searchOnce(q);

  // Resident memory of the app and every process it started (WebKit's web and network processes).
  const pid = Number(execFileSync("pgrep", ["-n", "-f", app], { encoding: "utf8" }).trim());
  const parent = new Map();
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      parent.set(Number(p), Number(readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1].split(" ")[1]));
    } catch {
      // gone
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [c, pp] of parent) if (pp === tree[i]) tree.push(c);
  let rssKb = 0;
  const parts = [];
  for (const p of tree) {
    try {
      const st = readFileSync(`/proc/${p}/status`, "utf8");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(st)?.[1] ?? 0);
      const name = /Name:\s+(\S+)/.exec(st)?.[1];
      rssKb += kb;
      parts.push(`${name} ${(kb / 1024).toFixed(0)} MB`);
    } catch {
      // gone
    }
  }
  console.log(`resident memory after ${REGISTRATIONS} registrations and ${SEARCHES * 2 + 20} searches: ${(rssKb / 1024).toFixed(0)} MB (${parts.join(", ")})`);
} finally {
  await s.quit();
  driver.kill();
}
