// End-to-end: the real built app under Xvfb, driven through tauri-driver (WebKitWebDriver),
// against a real PostgreSQL with the demo city. Run by tests/e2e/run.sh.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Key, Session, sleep } from "./webdriver.mjs";

const db = process.env.DIALOG_E2E_DB; // the owner's URL of the test database
const app = process.env.DIALOG_E2E_APP;
const screens = process.env.DIALOG_E2E_SCREENS ?? "target/e2e-screens";
const driverBin = process.env.DIALOG_E2E_DRIVER ?? "tauri-driver";
const port = Number(process.env.DIALOG_E2E_PORT ?? 4444);
assert.ok(db && app, "DIALOG_E2E_DB and DIALOG_E2E_APP must be set (tests/e2e/run.sh sets them)");

const url = new URL(db);
const server = `${url.hostname}:${url.port}${url.pathname}`;
const as = (login) => {
  const u = new URL(db);
  u.username = login;
  u.password = "dialog-demo";
  return u.toString();
};
const sql = (query, who = db) => execFileSync("psql", [who, "-Atqc", query], { encoding: "utf8" }).trim();

let driver;
let s;

async function setTls(mode) {
  await s.exec(`const t = document.querySelector('#login-tls'); t.value = '${mode}'; t.dispatchEvent(new Event('change'));`);
}

async function logout() {
  await s.click(await s.waitFor("#logout"));
  await s.click(await s.waitFor("#logout-yes"));
  await s.waitFor(".login-card .notice", { text: "Работа завершена" });
}

async function login(password, who = "operator1") {
  const serverInput = await s.waitFor("#login-server");
  await s.clear(serverInput);
  await s.type(serverInput, server);
  const user = await s.find("#login-user");
  await s.clear(user);
  await s.type(user, who);
  const pw = await s.find("#login-password");
  await s.clear(pw);
  await s.type(pw, password + Key.Enter);
}

before(async () => {
  driver = spawn(driverBin, ["--port", String(port), "--native-port", String(port + 1)], { stdio: "inherit" });
  const until = Date.now() + 20000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/status`);
      if (r.ok) break;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error("tauri-driver did not start");
    await sleep(200);
  }
  s = await Session.start(`http://127.0.0.1:${port}`, { "tauri:options": { application: app } });
});

after(async () => {
  await s?.quit();
  driver?.kill();
});

describe("the operator's shift", () => {
  let number = "";
  const phone = "+79991234567";
  const building = sql("select street || ' ' || house || '|' || address from buildings where block = '' order by address limit 1");
  const [addressQuery, addressFull] = building.split("|");

  it("refuses a wrong password in plain words", async () => {
    await login("не-тот-пароль");
    const err = await s.waitFor("#login-error", { text: "Неверный логин или пароль" });
    assert.equal(await s.attr(err, "data-kind"), "wrongPassword");
    await s.screenshot(join(screens, "login.png"));
  });

  it("trusts a self-signed server once, by the fingerprint the administrator gave", async () => {
    await setTls("verifyFull");
    await login("dialog-demo");
    const err = await s.waitFor("#login-error", { text: "защищённое соединение" });
    assert.equal(await s.attr(err, "data-kind"), "tls");
    await s.click(await s.find("#cert-check"));
    const shown = await s.text(await s.waitFor("#cert-fingerprint"));
    const ca = process.env.DIALOG_TEST_PG_CA;
    const expected = execFileSync("openssl", ["x509", "-noout", "-fingerprint", "-sha256", "-in", ca], { encoding: "utf8" }).trim().split("=")[1];
    assert.equal(shown, expected);
    await s.click(await s.find("#cert-trust"));
    await s.waitFor("#me-name", { text: "Смирнова Елена Викторовна" });
    await logout();
  });

  it("remembers the password in the system keyring", async () => {
    await s.click(await s.waitFor("#login-remember"));
    await login("dialog-demo");
    await s.waitFor("#me-name");
    await logout();
    // The login screen fills the password in from the keyring.
    const pw = await s.waitFor("#login-password");
    const until = Date.now() + 5000;
    while ((await s.prop(pw, "value")) !== "dialog-demo" && Date.now() < until) await sleep(100);
    assert.equal(await s.prop(pw, "value"), "dialog-demo");
    assert.equal(await s.prop(await s.find("#login-remember"), "checked"), true);
    // Nothing of it is on disk in plain text.
    const found = execFileSync("sh", ["-c", 'grep -rl dialog-demo "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" || true'], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter((f) => f && !f.includes("/keyrings/"));
    assert.deepEqual(found, []);
  });

  it("logs in and shows the registry", async () => {
    await s.click(await s.find("#login-submit"));
    await s.waitFor("#me-name", { text: "Смирнова Елена Викторовна" });
    await s.waitFor("#registry-rows tr");
    const rows = await s.findAll("#registry-rows tr");
    assert.ok(rows.length >= 20, `registry shows rows: ${rows.length}`);
    await s.screenshot(join(screens, "registry.png"));
  });

  it("blocks saving a card with empty required fields", async () => {
    await s.keys(Key.F2);
    await s.waitFor("#card-identifier");
    await s.keys(Key.Control + "s" + Key.Null);
    await s.waitFor("#card-error", { text: "Заполните обязательные поля" });
    const id = await s.find("#card-identifier");
    assert.equal(await s.attr(id, "aria-invalid"), "true", "the identifier is marked red");
    const kindField = await s.find(".field.required.invalid [id^='kind-']");
    assert.ok(kindField, "the kind is marked red");
    await s.keys(Key.Escape);
    await s.waitGone("#card");
  });

  it("registers an appeal without the mouse", async () => {
    await s.keys(Key.F2);
    const ident = await s.waitFor("#card-identifier");
    // Focus starts in the identifier; everything below is typed.
    await s.keys("8 999 123-45-67" + Key.Tab + "Кузнецова Анна Петровна" + Key.Tab + Key.Tab);
    // Channel (phone) and received time keep their defaults; on to the address.
    await s.exec("document.querySelector('[id^=address-]').focus()");
    await s.keys(addressQuery);
    await s.waitFor(".suggestions li", { text: addressFull });
    await s.keys(Key.Enter + Key.Tab + "12" + Key.Tab + "2" + Key.Tab + "3" + Key.Tab + Key.Tab);
    await s.keys("нет горячей");
    await s.waitFor(".suggestions li", { text: "Нет горячей воды" });
    await s.keys(Key.Enter + Key.Tab + Key.Tab + "Горячей воды нет с утра во всём стояке");
    await s.screenshot(join(screens, "card.png"));
    await s.keys(Key.Control + "s" + Key.Null);
    await s.waitGone("#card");
    const toast = await s.waitFor(".toast", { text: "Зарегистрировано" });
    number = (await s.text(toast)).match(/\d{4}-\d{6}/)[0];
    const saved = sql(`select identifier || '|' || applicant_name || '|' || address || '|' || status from appeals where number = '${number}'`);
    assert.equal(saved, `${phone}|Кузнецова Анна Петровна|${addressFull}, кв. 12, подъезд 2, этаж 3|новый`);
    void ident;
  });

  it("finds it by quick search", async () => {
    await s.keys(Key.F3);
    const search = await s.waitFor("#registry-search");
    await s.clear(search);
    await s.type(search, number);
    await s.waitCount("#registry-rows tr", 1);
    await s.waitFor("#registry-rows tr", { text: number });
    await s.clear(search);
    await s.type(search, "8 (999) 123-45-67");
    await s.waitCount("#registry-rows tr", 1);
    await s.waitFor("#registry-rows tr", { text: "Кузнецова Анна Петровна" });
    // Clearing the search brings the whole registry back.
    await s.click(await s.find("#registry-clear"));
    await s.waitFor("#registry-rows tr:nth-child(30)");
  });

  it("finds it by a saved template on the desktop", async () => {
    await s.click(await s.find("#registry-filter"));
    await s.waitFor("#filter-panel input[value='accident']");
    await s.click(await s.find("#filter-panel input[value='accident']"));
    await s.click(await s.find("#filter-panel input[value='new']"));
    await s.type(await s.find("#template-name"), "Новые аварии");
    await s.click(await s.find("#template-save"));
    await s.waitFor(".toast", { text: "Новые аварии" });
    await s.click(await s.find("#nav-desktop"));
    const expected = sql("select count(*) from appeals where appeal_type = 'авария' and status = 'новый'");
    const tile = await s.waitFor(".template .template-open", { text: new RegExp(`Новые аварии\\s*${expected}(?!\\d)`) });
    await s.screenshot(join(screens, "desktop.png"));
    await s.click(tile);
    await s.waitFor(".view-title", { text: "Новые аварии" });
    await s.waitFor("#registry-rows tr", { text: number });
    assert.equal((await s.findAll("#registry-rows tr")).length, Math.min(50, Number(expected)));
  });

  it("prints the card to PDF", async () => {
    await s.click(await s.find("#nav-registry"));
    const search = await s.waitFor("#registry-search");
    await s.type(search, number);
    await s.waitCount("#registry-rows tr", 1);
    await s.click(await s.find("#registry-rows tr:first-child button.print"));
    const toast = await s.waitFor(".toast", { text: "Сохранено для печати" });
    const path = (await s.text(toast)).split(": ").slice(1).join(": ").trim();
    assert.ok(path.endsWith(`Обращение ${number}.pdf`), path);
    const text = execFileSync("pdftotext", ["-layout", path, "-"], { encoding: "utf8" });
    assert.ok(text.includes(number), "the number is printed");
    assert.ok(text.includes("Кузнецова Анна Петровна"), "the applicant is printed");
    assert.ok(text.includes("Горячей воды нет с утра во всём стояке"), "the comment is printed");
  });

  it("assigns an executor who serves that address", async () => {
    const search = await s.waitFor("#registry-search");
    await s.clear(search);
    await s.keys(Key.Escape);
    await s.type(search, number);
    await s.waitFor("#registry-rows tr:first-child", { text: number });
    await s.click(await s.find("#registry-rows tr:first-child td.c-reason"));
    const executor = await s.waitFor(".executor");
    await s.click(executor);
    assert.equal(await s.attr(executor, "aria-pressed"), "true");
    await s.click(await s.find("#card-save"));
    await s.waitGone("#card");
    assert.equal(sql(`select status from appeals where number = '${number}'`), "назначено");
    assert.equal(sql(`select count(*) from appeal_executors ae join appeals a on a.id = ae.appeal_id where a.number = '${number}'`), "1");
  });

  it("refuses в работе until the executor has been called", async () => {
    await s.click(await s.find("#nav-registry"));
    const search = await s.waitFor("#registry-search");
    await s.type(search, number);
    await s.waitCount("#registry-rows tr", 1);
    await s.click(await s.find("#registry-rows tr:first-child td.c-reason"));
    const status = await s.waitFor("#card-status");
    await s.exec("const s = document.querySelector('#card-status'); s.value = 'inWork'; s.dispatchEvent(new Event('change'));");
    await s.click(await s.find("#card-save"));
    const err = await s.waitFor("#card-error", { text: "не оповещён" });
    assert.equal(await s.attr(err, "data-kind"), "rule");
    assert.equal(sql(`select status from appeals where number = '${number}'`), "назначено");
    void status;
    await s.keys(Key.Escape);
    await s.waitGone("#card");
  });

  it("shows another operator's change live", async () => {
    await s.click(await s.find("#nav-registry"));
    await s.waitFor("#registry-rows tr:nth-child(30)");
    // operator2, in a session of their own (plain SQL, as psql would), registers an appeal.
    const kind = sql("select id from appeal_kinds where name = 'Нет горячей воды'");
    const b = sql(`select id from buildings where address = '${addressFull}'`);
    sql(
      `insert into appeals (id, number, identifier, applicant_name, kind_id, building_id, appeal_type, priority)
       values (gen_random_uuid(), '', '+79990000002', 'Живой Пример Второго Оператора', '${kind}', '${b}', null, null)`,
      as("operator2"),
    );
    await s.waitFor("#registry-rows tr:first-child", { text: "Живой Пример Второго Оператора", timeout: 10000 });
  });

  it("gives the supervisor the live dashboard and reports with charts and exports", async () => {
    await logout();
    await login("dialog-demo", "starshiy");
    await s.waitFor("#me-name", { text: "Орлова Галина Петровна" });
    await s.click(await s.waitFor("#nav-reports"));
    const overdue = sql("select count(*) from appeals where status in ('новый', 'назначено', 'в работе') and control_at < now()");
    await s.waitFor("#dash-overdue", { text: new RegExp(`^${overdue}\\b`) });
    // Appeals by type this month, checked against the database counted here.
    await s.exec("const k = document.querySelector('#report-kind'); k.value = 'byType'; k.dispatchEvent(new Event('change'));");
    await s.click(await s.find("#report-build"));
    await s.waitFor("#report-table tbody tr");
    await s.waitFor("#report-chart rect");
    const expected = sql(
      `select appeal_type || '=' || count(*) from appeals where received_at >= date_trunc('month', now()) group by appeal_type order by appeal_type`,
    ).split("\n");
    const cells = await s.exec(
      "return [...document.querySelectorAll('#report-table tbody tr')].map(r => [...r.children].map(c => c.textContent));",
    );
    for (const line of expected) {
      const [type, n] = line.split("=");
      const row = cells.find((r) => r[0] === type);
      assert.ok(row, `a row for ${type}: ${JSON.stringify(cells)}`);
      assert.equal(row[1], n, `${type}: ${JSON.stringify(row)}`);
    }
    await s.screenshot(join(screens, "report.png"));
    await s.click(await s.find("#report-csv"));
    const toast = await s.waitFor(".toast", { text: "Отчёт сохранён" });
    const path = (await s.text(toast)).split(": ").slice(1).join(": ").trim();
    const bytes = readFileSync(path);
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], "UTF-8 BOM for Excel");
    assert.ok(bytes.toString("utf8").includes("авария"));
  });
});
