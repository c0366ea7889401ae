// Benchmark of the real app over a large demo database (scripts/bench-app.sh runs it):
//  - time from the registry's search input (Enter) to the rows painted, p50/p95;
//  - resident memory of the app (its own process and WebKit's) after a scripted session of
//    registrations (through the card and the same command the card calls) and searches, right
//    after it and again after a rest; the peak of the session as the kernel saw it.
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { Key, Session, sleep } from "./webdriver.mjs";

const db = process.env.DIALOG_E2E_DB;
const app = process.env.DIALOG_E2E_APP;
const port = Number(process.env.DIALOG_E2E_PORT ?? 24444);
const SEARCHES = Number(process.env.DIALOG_BENCH_SEARCHES ?? 1000);
const REGISTRATIONS = Number(process.env.DIALOG_BENCH_REGISTRATIONS ?? 1000);
const REST_MS = Number(process.env.DIALOG_BENCH_REST_MS ?? 20000);
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
/** Resident memory of the app and every process it started (WebKit's web and network processes). */
function rss() {
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
  // RSS counts shared libraries once per process; PSS shares them out, so the sum is honest.
  let rssKb = 0;
  let pssKb = 0;
  let peakKb = 0;
  const parts = [];
  for (const p of tree) {
    try {
      const st = readFileSync(`/proc/${p}/status`, "utf8");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(st)?.[1] ?? 0);
      const pss = Number(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${p}/smaps_rollup`, "utf8"))?.[1] ?? 0);
      rssKb += kb;
      peakKb += Number(/VmHWM:\s+(\d+)/.exec(st)?.[1] ?? 0);
      pssKb += pss;
      parts.push(`${/Name:\s+(\S+)/.exec(st)?.[1]} ${(kb / 1024).toFixed(0)}/${(pss / 1024).toFixed(0)}`);
    } catch {
      // gone
    }
  }
  return `RSS ${(rssKb / 1024).toFixed(0)} MB, PSS ${(pssKb / 1024).toFixed(0)} MB (RSS/PSS in MB: ${parts.join(", ")}; peak RSS so far ${(peakKb / 1024).toFixed(0)} MB)`;
}

const s = await Session.start(`http://127.0.0.1:${port}`, { "tauri:options": { application: app } });
try {
  const server = await s.waitFor("#login-server");
  await s.clear(server);
  await s.type(server, `${url.hostname}:${url.port}${url.pathname}`);
  await s.type(await s.find("#login-user"), "operator1");
  await s.type(await s.find("#login-password"), "dialog-demo" + Key.Enter);
  // After login the desktop opens; the session works in the registry.
  await s.waitFor(".template .template-name", { timeout: 30000 });
  await s.click(await s.find("#nav-registry"));
  await s.waitFor("#registry-rows tr", { timeout: 30000 });
  console.log(`resident memory after login: ${rss()}`);
  const total = sql("select count(*) from appeals");

  // Real queries of the database: streets with houses, phones as people type them, numbers, names.
  const addresses = sql("select replace(street, 'ул. ', '') || ' ' || house from buildings order by md5(id::text) limit 100").split("\n");
  const phones = sql("select identifier from appeals where identifier like '+79%' order by md5(id::text) limit 100")
    .split("\n")
    .map((p) => `8 (${p.slice(2, 5)}) ${p.slice(5, 8)}-${p.slice(8, 10)}-${p.slice(10, 12)}`);
  const numbers = sql("select number from appeals order by md5(id::text) limit 100").split("\n");
  const names = sql("select split_part(applicant_name, ' ', 1) from appeals order by md5(id::text) limit 100").split("\n");
  const queries = [];
  const kinds = ["street and house", "phone", "number", "surname"];
  for (let i = 0; queries.length < SEARCHES; i++) queries.push([addresses, phones, numbers, names][i % 4][Math.floor(i / 4) % 100]);

  const searchOnce = (q) =>
    s.execAsync(
      `const [q, done] = arguments;
       const input = document.querySelector('#registry-search');
       const rows = document.querySelector('#registry-rows');
       const t0 = performance.now();
       const obs = new MutationObserver(() => {
         obs.disconnect();
         // The frame after this callback paints the rows; a task queued from it runs after that paint.
         requestAnimationFrame(() => setTimeout(() => {
           // The page's own marks (views/registry/live.ts): when the command's answer reached it,
           // when its rows were built, and when they were laid out.
           const at = (n) => { const m = performance.getEntriesByName(n, 'mark'); return m.length ? m[m.length - 1].startTime - t0 : NaN; };
           done([performance.now() - t0, rows.children.length, at('registry-answer'), at('registry-rendered'), at('registry-built')]);
         }, 0));
       });
       obs.observe(rows, { childList: true });
       input.value = q;
       input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));`,
      [q],
    );

  // Warm up, then measure.
  for (const q of queries.slice(0, 20)) await searchOnce(q);
  const times = [];
  const byKind = kinds.map(() => []);
  // The same searches split where the time goes: the answer (IPC, command, database, JSON), the
  // rows built and laid out, and the frame that paints them.
  const parts = kinds.map(() => ({ answer: [], rows: [], frame: [], built: [], layout: [] }));
  let empty = 0;
  for (const [i, q] of queries.entries()) {
    const [ms, n, answer, rendered, built] = await searchOnce(q);
    times.push(ms);
    byKind[i % 4].push(ms);
    if (n === 0) empty++;
    if (Number.isFinite(answer) && Number.isFinite(rendered)) {
      parts[i % 4].answer.push(answer);
      parts[i % 4].rows.push(rendered - answer);
      parts[i % 4].frame.push(ms - rendered);
      // The rows split: the script that builds them, then WebKit's style and layout of them.
      if (Number.isFinite(built)) {
        parts[i % 4].built.push(built - answer);
        parts[i % 4].layout.push(rendered - built);
      }
    }
  }
  const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.round((xs.length - 1) * p)].toFixed(1);
  console.log(`search input → rows painted over ${total} appeals, ${times.length} searches (${empty} with no rows): p50 ${pct(times, 0.5)} ms, p95 ${pct(times, 0.95)} ms, max ${pct(times, 1)} ms`);
  kinds.forEach((k, i) => console.log(`  ${k.padEnd(18)} p50 ${pct(byKind[i], 0.5)} ms, p95 ${pct(byKind[i], 0.95)} ms`));
  kinds.forEach((k, i) => {
    const p = parts[i];
    if (p.answer.length)
      console.log(`  ${k.padEnd(18)} p50 answer ${pct(p.answer, 0.5)} ms, rows ${pct(p.rows, 0.5)} ms, frame ${pct(p.frame, 0.5)} ms (p95 ${pct(p.answer, 0.95)} / ${pct(p.rows, 0.95)} / ${pct(p.frame, 0.95)})`);
  });
  kinds.forEach((k, i) => {
    const p = parts[i];
    if (p.built.length)
      console.log(`  ${k.padEnd(18)} rows: p50 built ${pct(p.built, 0.5)} ms, styled and laid out ${pct(p.layout, 0.5)} ms (p95 ${pct(p.built, 0.95)} / ${pct(p.layout, 0.95)})`);
  });

  console.log(`resident memory after ${SEARCHES + 20} searches: ${rss()}`);

  // The same searches through the command alone (the app's IPC, the command, the database and
  // the rows' JSON, nothing drawn): what is left of the time above is the page's own.
  const commandOnce = (q) =>
    s.execAsync(
      `const [q, done] = arguments;
       const filter = { text: q, types: [], statuses: [], priorities: [], kindIds: [], organizationIds: [], executorIds: [],
                        receivedFrom: null, receivedTo: null, quick: null, buildingId: null, identifier: null, mine: false, today: false };
       const t0 = performance.now();
       window.__TAURI_INTERNALS__.invoke('registry_page', { filter, sort: 'receivedDesc', after: null, limit: 50 })
         .then((page) => done([performance.now() - t0, page.rows.length]), (e) => done([-1, String(e && e.message || e)]));`,
      [q],
    );
  const commandByKind = kinds.map(() => []);
  for (const [i, q] of queries.entries()) {
    const [ms, n] = await commandOnce(q);
    if (ms < 0) throw new Error(`registry_page: ${n}`);
    commandByKind[i % 4].push(ms);
  }
  kinds.forEach((k, i) => console.log(`  command alone, ${k.padEnd(18)} p50 ${pct(commandByKind[i], 0.5)} ms, p95 ${pct(commandByKind[i], 0.95)} ms`));

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
  console.log(`resident memory after ${REGISTRATIONS} registrations: ${rss()}`);
  for (const q of queries) await searchOnce(q);

  console.log(`resident memory after ${REGISTRATIONS} registrations and ${SEARCHES * 2 + 20} searches: ${rss()}`);
  // What the page holds: a growing DOM would be a leak in the UI, not WebKit's heap.
  const dom = await s.exec("return [document.getElementsByTagName('*').length, document.querySelectorAll('#registry-rows tr').length]");
  console.log(`the page: ${dom[0]} elements, ${dom[1]} registry rows`);
  // The operator stops typing: WebKit's web process checks its footprint every 10 s and gives
  // back what it can (src-tauri/src/webkit.rs).
  await sleep(REST_MS);
  console.log(`resident memory ${REST_MS / 1000} s later, at rest: ${rss()}`);
} finally {
  await s.quit();
  driver.kill();
}
