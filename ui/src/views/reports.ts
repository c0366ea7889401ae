// Reports (manual «Реестр обращений», the reports button): build over a period and an
// organization, see a table and a chart, export PDF or CSV; and the supervisor's live
// dashboard, refreshed by change events.
import { onAppealChanged, onResync, type CommandError } from "../api/core";
import { organizations } from "../api/directory";
import { buildReport, cancelReport, dashboard, exportReport, reportKinds } from "../api/reports";
import type { Dashboard } from "../generated/Dashboard";
import type { Report } from "../generated/Report";
import type { ReportKind } from "../generated/ReportKind";
import type { AppContext } from "../lib/app";
import { h, replace, throttle } from "../lib/h";
import { ANSWER_DEADLINE, minutes, watchQueue, type Queue } from "../lib/queue";
import { t, typeLabel } from "../lib/i18n";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A horizontal bar chart drawn as SVG (no network, no library). */
function chart(labels: string[], values: number[]): SVGElement {
  const rowH = 22;
  const labelW = 260;
  const width = 720;
  const max = Math.max(1, ...values);
  const root = svg("svg", { class: "chart", id: "report-chart", width, height: labels.length * rowH + 8, viewBox: `0 0 ${width} ${labels.length * rowH + 8}` });
  labels.forEach((label, i) => {
    const y = 4 + i * rowH;
    const w = ((width - labelW - 70) * values[i]) / max;
    root.append(
      svg("text", { x: labelW - 6, y: y + 15, "text-anchor": "end", class: "chart-label" }, label.length > 38 ? label.slice(0, 37) + "…" : label),
      svg("rect", { x: labelW, y: y + 3, width: Math.max(1, w), height: rowH - 8, class: "chart-bar" }),
      svg("text", { x: labelW + w + 6, y: y + 15, class: "chart-value" }, Number.isInteger(values[i]) ? String(values[i]) : values[i].toFixed(1)),
    );
  });
  return root;
}

export function mountReports(root: HTMLElement, ctx: AppContext): () => void {
  const kind = h("select", { id: "report-kind" });
  const now = new Date();
  const iso = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  const from = h("input", { type: "date", id: "report-from", value: iso(new Date(now.getFullYear(), now.getMonth(), 1)) });
  const to = h("input", { type: "date", id: "report-to", value: iso(now) });
  const org = h("select", { id: "report-org" }, h("option", { value: "" }, t.reports.allOrganizations));
  const build = h("button", { class: "primary", id: "report-build" }, t.reports.build);
  const cancel = h("button", { id: "report-cancel", class: "hidden" }, t.reports.cancel);
  const status = h("span", { id: "report-status", class: "muted" });
  const result = h("div", { class: "report-result", id: "report-result" });
  const dash = h("div", { class: "dashboard", id: "dashboard" });
  const supervisor = ctx.me.role === "supervisor" || ctx.me.role === "admin";
  root.replaceChildren(
    h(
      "section",
      { class: "reports" },
      supervisor ? dash : null,
      h(
        "div",
        { class: "toolbar" },
        h("strong", null, t.reports.title),
        kind,
        h("label", null, t.reports.from, from),
        h("label", null, t.reports.to, to),
        ctx.me.role === "manager" ? null : org,
        build,
        cancel,
        status,
      ),
      result,
    ),
  );
  void reportKinds().then((ks) => replace(kind, ks.map((k) => h("option", { value: k.kind }, k.title))));
  void organizations().then((os) => org.append(...os.map((o) => h("option", { value: o.id }, o.name))));

  let current: Report | null = null;
  const show = (r: Report) => {
    current = r;
    const pdf = h("button", { id: "report-pdf" }, t.reports.pdf);
    const csv = h("button", { id: "report-csv" }, t.reports.csv);
    const save = (format: "pdf" | "csv") => async () => {
      if (!current) return;
      try {
        ctx.toast(`${t.reports.saved}: ${await exportReport(current, format)}`);
      } catch (e) {
        ctx.toast((e as CommandError).message, "error");
      }
    };
    pdf.addEventListener("click", save("pdf"));
    csv.addEventListener("click", save("csv"));
    replace(
      result,
      h("h2", null, r.title),
      h("p", { class: "muted" }, `${from.value} — ${to.value}${r.organization ? ` · ${r.organization}` : ""}`),
      h("div", { class: "report-actions" }, pdf, csv),
      r.chart && r.chart.labels.length ? chart(r.chart.labels, r.chart.values) : null,
      h(
        "table",
        { class: "registry report-table", id: "report-table" },
        h("thead", null, h("tr", null, ...r.columns.map((c) => h("th", null, c)))),
        h("tbody", null, ...(r.rows.length ? r.rows.map((row) => h("tr", null, ...row.map((c) => h("td", null, c)))) : [h("tr", null, h("td", { colSpan: r.columns.length }, t.reports.noData))])),
      ),
    );
  };
  build.addEventListener("click", async () => {
    if (!from.value || !to.value) return ctx.toast(t.reports.periodNeeded, "error");
    build.disabled = true;
    cancel.classList.remove("hidden");
    status.textContent = t.reports.building;
    const started = performance.now();
    try {
      const r = await buildReport({
        kind: kind.value as ReportKind,
        from: new Date(from.value + "T00:00").toISOString(),
        to: new Date(new Date(to.value + "T00:00").getTime() + 86_400_000).toISOString(),
        organizationId: org.value || null,
      });
      show(r);
      status.textContent = t.reports.done(((performance.now() - started) / 1000).toFixed(1));
    } catch (e) {
      const err = e as CommandError;
      status.textContent = err.message;
      if (err.kind !== "cancelled") ctx.toast(err.message, "error");
    } finally {
      build.disabled = false;
      cancel.classList.add("hidden");
    }
  });
  cancel.addEventListener("click", () => void cancelReport());

  let last: Dashboard | null = null;
  const loadDash = async () => {
    if (!supervisor) return;
    last = (await dashboard().catch(() => null)) ?? last;
    render();
  };
  const render = () => {
    const d = last;
    if (!d) return;
    const today = d.todayByType.reduce((s, x) => s + x.count, 0);
    const tile = (id: string, label: string, value: number | string, extra?: string) =>
      h("div", { class: "dash-tile", id }, h("span", { class: "dash-value" }, String(value)), h("span", null, label), extra ? h("small", { class: "muted" }, extra) : null);
    replace(
      dash,
      tile("dash-today", t.dashboard.today, today, d.todayByType.map((x) => `${typeLabel[x.appealType]} ${x.count}`).join(" · ")),
      tile("dash-overdue", t.dashboard.overdue, d.overdueNow),
      tile("dash-unnotified", t.dashboard.unnotified, d.notNotified),
      tile("dash-live", t.dashboard.live, d.live),
      // The PBX's queue as its bridge reports it; without one, the calls ringing at the
      // workstations (each reports its line).
      queue
        ? tile("dash-waiting", t.dashboard.waiting, queue.waiting, queue.longestWait != null && queue.waiting > 0 ? `${t.dashboard.longest} ${minutes(queue.longestWait)}` : undefined)
        : tile("dash-waiting", t.dashboard.ringing, d.callsWaiting),
      queue ? tile("dash-agents", t.dashboard.agents, queue.agents, t.dashboard.talking(queue.talking)) : null,
      tile("dash-operators", t.dashboard.operators, d.operatorsOnLine, t.dashboard.talking(d.operatorsTalking)),
    );
    dash.querySelector("#dash-waiting")?.classList.toggle("late", (queue?.longestWait ?? 0) >= ANSWER_DEADLINE && (queue?.waiting ?? 0) > 0);
  };
  let queue: Queue | null = null;
  const stopQueue = supervisor
    ? watchQueue((q) => {
        queue = q;
        render();
      })
    : () => {};
  void loadDash();
  const refresh = throttle(() => void loadDash(), 700);
  const unlisten = [onAppealChanged(() => refresh()), onResync(() => refresh())];
  // Lines and ringing calls change without appeal events: poll them (a cheap query).
  const poll = supervisor ? window.setInterval(() => void loadDash(), 5000) : 0;
  return () => {
    window.clearInterval(poll);
    stopQueue();
    void cancelReport();
    unlisten.forEach((p) => void p.then((f) => f()));
  };
}
