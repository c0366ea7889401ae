// The app shell: login, then the header (name, phone line, calls waiting), navigation, the
// current view, the appeal card over it, and the keyboard shortcuts.
import { inBrowser, onSignedOut } from "./api/core";
import { logout, me as currentPerson } from "./api/session";
import type { Person } from "./generated/Person";
import type { AppContext, Route } from "./lib/app";
import { h } from "./lib/h";
import { roleLabel, t } from "./lib/i18n";
import { startPhone } from "./lib/phone";
import { mountAdmin } from "./views/admin";
import { openCard, type CardHandle } from "./views/card/index";
import { mountContacts } from "./views/contacts";
import { mountDesktop } from "./views/desktop";
import { mountKb } from "./views/kb";
import { mountLogin } from "./views/login";
import { mountMail } from "./views/mail";
import { mountPhone, type PhoneUi } from "./views/phone";
import { openPhoneSettings } from "./views/phoneSettings";
import { mountRecordings } from "./views/recordings";
import { mountRegistry } from "./views/registry";
import { mountReports } from "./views/reports";

const app = document.getElementById("app") as HTMLElement;

function toast(message: string, kind: "info" | "error" = "info") {
  const el = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  let box = document.getElementById("toasts");
  if (!box) {
    box = h("div", { id: "toasts" });
    document.body.appendChild(box);
  }
  box.appendChild(el);
  window.setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}

/** Stops what the shell started (the phone's panels and its event subscription). */
let stopShell: () => void = () => {};

function startLogin(notice?: string) {
  stopShell();
  stopShell = () => {};
  document.onkeydown = null;
  mountLogin(app, (person, warning) => {
    startShell(person);
    if (warning) toast(warning, "error");
  }, notice);
}

function startShell(me: Person) {
  const main = h("main", { class: "content", id: "content" });
  let unmount: () => void = () => {};
  let card: CardHandle | null = null;
  let route: Route = { name: "desktop" };
  const navButtons: Record<string, HTMLButtonElement> = {};

  const ctx: AppContext = {
    me,
    navigate(r) {
      unmount();
      route = r;
      Object.entries(navButtons).forEach(([name, b]) => b.classList.toggle("active", name === r.name));
      if (r.name === "desktop") unmount = mountDesktop(main, ctx);
      else if (r.name === "registry") unmount = mountRegistry(main, ctx, r.filter, r.title);
      else if (r.name === "contacts") unmount = mountContacts(main, ctx);
      else if (r.name === "admin") unmount = mountAdmin(main, ctx);
      else if (r.name === "reports") unmount = mountReports(main, ctx);
      else if (r.name === "recordings") unmount = mountRecordings(main, ctx);
      else if (r.name === "mail") unmount = mountMail(main, ctx);
      else unmount = mountKb(main, ctx);
    },
    openCard(id, prefill) {
      // One card at a time: the open one closes first (its keys and timers too), unless it
      // holds something unsaved and the operator goes back to it.
      void (async () => {
        if (card && !(await card.leave())) return;
        document.getElementById("card")?.remove();
        card = openCard(ctx, id, prefill);
      })();
    },
    toast,
  };

  const nav = (name: Route["name"], label: string, hint: string) => {
    const b = h("button", { class: "nav", id: `nav-${name}`, title: hint, onclick: () => ctx.navigate({ name } as Route) }, label);
    navButtons[name] = b;
    return b;
  };
  const exit = h("button", { class: "link", id: "logout" }, t.nav.logout);
  const line = h("button", { class: "line down", id: "line-state", type: "button", title: t.header.lineOff }, t.header.lineOff);
  const waiting = h("span", { class: "waiting", id: "calls-waiting", title: t.header.waitingTitle, dataset: { count: "0" } }, `${t.header.waiting}: 0`);
  // A browser has no phone: a note stands where the line and the calls waiting would be.
  const phoneArea = inBrowser
    ? [h("span", { class: "no-phone", id: "phone-absent", title: t.web.phoneAbsentHint }, t.web.phoneAbsent)]
    : [line, h("button", { class: "icon", id: "phone-settings-open", title: t.header.settings, onclick: () => openPhoneSettings(ctx) }, "⚙"), waiting];
  exit.addEventListener("click", () => confirmLogout());
  const header = h(
    "header",
    { class: "app-header" },
    h(
      "div",
      { class: "who" },
      h("span", { class: "avatar", title: me.login }, me.fullName.split(" ").slice(0, 2).map((w) => w[0]).join("")),
      h("div", null, h("div", { id: "me-name", class: "me-name" }, me.fullName), h("div", { class: "muted" }, roleLabel[me.role], " · ", exit)),
    ),
    ...phoneArea,
    h(
      "nav",
      { class: "main-nav" },
      nav("desktop", t.nav.desktop, t.nav.desktopHint),
      nav("registry", t.nav.registry, t.nav.registryHint),
      // A housing company's manager reads appeals; the center registers them.
      me.role !== "manager"
        ? h("button", { class: "nav primary", id: "nav-new", title: t.nav.newAppealHint, onclick: () => ctx.openCard(null) }, `+ ${t.nav.newAppeal}`)
        : null,
      // The manual's top menu: desktop, new appeal, reports, filter and search (the registry's),
      // contacts, recordings.
      nav("reports", t.nav.reports, t.nav.reportsHint),
      nav("contacts", t.nav.contacts, t.nav.contactsHint),
      nav("recordings", t.nav.recordings, t.nav.recordingsHint),
      me.role === "manager" ? null : nav("mail", t.nav.mail, t.nav.mailHint),
      nav("kb", t.nav.kb, t.nav.kb),
      me.role === "admin" ? nav("admin", t.nav.admin, t.nav.adminHint) : null,
    ),
  );
  app.replaceChildren(h("div", { class: "shell" }, header, main));
  const phoneUi: PhoneUi = inBrowser ? { answerFirst() {}, hangUp() {}, unmount() {} } : mountPhone(ctx, line, waiting);
  let stopEvents: (() => void) | null = null;
  let stopped = false;
  if (!inBrowser) {
    void startPhone((message) => toast(message, "error")).then((stop) => {
      if (stopped) stop();
      else stopEvents = stop;
    });
  }
  stopShell = () => {
    stopped = true;
    stopEvents?.();
    phoneUi.unmount();
    card?.close();
    unmount();
  };

  const confirmLogout = () => {
    const dlg = h(
      "div",
      { class: "card-overlay", id: "logout-dialog" },
      h(
        "div",
        { class: "dialog", role: "alertdialog" },
        h("p", null, t.logout.confirm),
        h("button", { class: "primary", id: "logout-yes", onclick: async () => {
          await logout().catch(() => undefined);
          dlg.remove();
          startLogin(t.logout.done);
        } }, t.logout.yes),
        h("button", { id: "logout-no", onclick: () => dlg.remove() }, t.logout.no),
      ),
    );
    document.body.appendChild(dlg);
    (dlg.querySelector("#logout-no") as HTMLElement).focus();
  };

  // F2 / Ctrl+N — new appeal, F3 / Ctrl+F — search, F4 — answer, F8 — hang up (or reject),
  // Esc and Ctrl+S inside the card.
  document.onkeydown = (e) => {
    const k = e.key.toLowerCase();
    if (e.key === "F2" || ((e.ctrlKey || e.metaKey) && k === "n")) {
      e.preventDefault();
      if (me.role === "manager") return;
      ctx.openCard(null);
    } else if (e.key === "F3" || ((e.ctrlKey || e.metaKey) && k === "f")) {
      e.preventDefault();
      if (document.getElementById("card")) return;
      if (route.name !== "registry") ctx.navigate({ name: "registry" });
      (document.getElementById("registry-search") as HTMLInputElement | null)?.focus();
    } else if (e.key === "F4") {
      e.preventDefault();
      phoneUi.answerFirst();
    } else if (e.key === "F8") {
      e.preventDefault();
      phoneUi.hangUp();
    }
  };
  // After login the desktop opens (the operator manual, «Рабочий стол пользователя»).
  ctx.navigate({ name: "desktop" });
}

if (inBrowser) {
  document.body.classList.add("web");
  // The session ended on the server (it expired, or the connections were lost).
  onSignedOut(() => {
    document.getElementById("card")?.remove();
    startLogin(t.web.sessionEnded);
  });
}

void currentPerson()
  .then((p) => (p ? startShell(p) : startLogin()))
  .catch(() => startLogin());
