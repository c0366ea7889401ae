// Admin screens: people, executors, buildings, kinds and their deadlines, organizations.
// The database decides who may change what; the forms show its words when it refuses.
import * as admin from "../api/admin";
import type { CommandError } from "../api/core";
import { addShift, deletePrice, deleteShift, organizations, prices, savePrice, schedule } from "../api/directory";
import type { AppealKind } from "../generated/AppealKind";
import type { AppealType } from "../generated/AppealType";
import type { Building } from "../generated/Building";
import type { Executor } from "../generated/Executor";
import type { Organization } from "../generated/Organization";
import type { Priority } from "../generated/Priority";
import type { StaffRole } from "../generated/StaffRole";
import type { AppContext } from "../lib/app";
import { fmtDateTime, h, replace, toLocalInput, uuidv7 } from "../lib/h";
import { priorityLabel, roleLabel, t, typeLabel } from "../lib/i18n";

type Tab = "people" | "executors" | "buildings" | "kinds" | "schedule" | "organizations";
const TABS: Record<Tab, string> = t.admin.tabs;

export function mountAdmin(root: HTMLElement, ctx: AppContext): () => void {
  const body = h("div", { class: "admin-body", id: "admin-body" });
  const buttons = (Object.keys(TABS) as Tab[]).map((k) =>
    h("button", { class: "tab", id: `admin-${k}`, dataset: { tab: k }, onclick: () => void show(k) }, TABS[k]),
  );
  root.replaceChildren(h("section", { class: "admin" }, h("nav", { class: "tab-bar" }, ...buttons), body));
  const fail = (e: unknown) => ctx.toast((e as CommandError).message, "error");

  const show = async (tab: Tab) => {
    buttons.forEach((b) => b.classList.toggle("active", b.dataset.tab === tab));
    const orgs = await organizations();
    const orgSelect = (value: string | null, id: string) => {
      const s = h("select", { id }, h("option", { value: "" }, "—"), ...orgs.map((o) => h("option", { value: o.id }, o.name)));
      s.value = value ?? "";
      return s;
    };
    if (tab === "people") return showPeople(body, orgs, orgSelect, ctx, () => void show("people"), fail);
    if (tab === "organizations") {
      const name = h("input", { id: "org-name", placeholder: t.admin.orgName });
      const phone = h("input", { id: "org-phone", placeholder: t.admin.orgPhone });
      replace(
        body,
        h(
          "table",
          { class: "simple" },
          ...orgs.map((o) =>
            h("tr", null, h("td", null, o.name), h("td", null, o.phone ?? ""), h("td", null, h("button", { class: "link org-edit", onclick: (e: Event) => {
              const row = (e.target as HTMLElement).closest("tr");
              if (!row) return;
              const newName = h("input", { class: "org-edit-name", value: o.name });
              const newPhone = h("input", { class: "org-edit-phone", value: o.phone ?? "", placeholder: t.admin.orgPhone });
              replace(row, h("td", { colSpan: 3 }, h("div", { class: "form-row" }, newName, newPhone, h("button", { class: "primary org-edit-save", onclick: async () => {
                await admin.updateOrganization(o.id, newName.value, newPhone.value || null).then(() => show("organizations"), fail);
              } }, t.admin.save))));
            } }, t.admin.edit))),
          ),
        ),
        h("div", { class: "form-row" }, name, phone, h("button", { class: "primary", onclick: async () => {
          await admin.saveOrganization(name.value, phone.value || null).then(() => show("organizations"), fail);
        } }, t.admin.add)),
      );
    } else if (tab === "buildings") {
      const org = orgSelect(orgs[0]?.id ?? null, "buildings-org");
      const list = h("div", { id: "buildings-list" });
      const city = h("input", { id: "building-city", placeholder: t.admin.city, value: t.admin.defaultCity });
      const street = h("input", { id: "building-street", placeholder: t.admin.street });
      const house = h("input", { id: "building-house", placeholder: t.admin.house, class: "short" });
      const block = h("input", { placeholder: t.admin.block, class: "short" });
      // Who will serve the new building: the organization's working executors, all ticked.
      const servedBy = h("fieldset", { class: "kinds-grid", id: "building-executors" }, h("legend", null, t.admin.servedBy));
      const find = h("input", { type: "search", id: "buildings-find", placeholder: t.admin.findBuilding });
      let all: Building[] = [];
      const showList = () => {
        const q = find.value.trim().toLowerCase();
        const shown = q ? all.filter((b) => b.address.toLowerCase().includes(q)) : all;
        replace(
          list,
          h("p", { class: "muted" }, q ? t.admin.buildingsFound(shown.length, all.length) : t.admin.buildingsCount(all.length)),
          h(
            "table",
            { class: "simple" },
            ...shown.slice(0, 500).map((b) =>
              h("tr", null, h("td", null, b.address), h("td", null, h("button", { class: "link price-list", onclick: (e: Event) => {
                const row = (e.target as HTMLElement).closest("tr");
                if (!row || row.nextElementSibling?.classList.contains("prices-row")) return;
                const cell = h("td", { colSpan: 2 });
                row.after(h("tr", { class: "prices-row" }, cell));
                void priceEditor(cell, b, fail);
              } }, t.admin.priceList))),
            ),
          ),
        );
      };
      find.addEventListener("input", showList);
      const load = async () => {
        if (!org.value) return replace(list);
        all = await admin.buildings(org.value);
        showList();
        const staff = (await admin.executors()).filter((e) => e.organizationId === org.value && e.active);
        replace(
          servedBy,
          h("legend", null, t.admin.servedBy),
          ...(staff.length
            ? staff.map((e) => h("label", { class: "check" }, h("input", { type: "checkbox", value: e.id, checked: true }), `${e.fullName}, ${e.position}`))
            : [h("span", { class: "muted" }, t.admin.noExecutors)]),
        );
      };
      org.addEventListener("change", () => void load());
      replace(
        body,
        h("div", { class: "form-row" }, org, city, street, house, block, h("button", { class: "primary", id: "building-add", onclick: async () => {
          const chosen = [...servedBy.querySelectorAll<HTMLInputElement>("input:checked")].map((i) => i.value);
          await admin
            .saveBuilding({ id: uuidv7(), organizationId: org.value, city: city.value, street: street.value, house: house.value, block: block.value, address: "" }, chosen)
            .then(() => {
              // Ready for the next house of the street.
              house.value = "";
              block.value = "";
              house.focus();
              return load();
            }, fail);
        } }, t.admin.addBuilding)),
        servedBy,
        find,
        list,
      );
      void load();
    } else if (tab === "schedule") {
      return showSchedule(body, orgSelect(orgs[0]?.id ?? null, "schedule-org"), fail);
    } else if (tab === "kinds") {
      const ks = await admin.kinds();
      const edit = (k: AppealKind | null) => kindForm(k, async (saved) => admin.saveKind(saved).then(() => show("kinds"), fail));
      replace(
        body,
        h("button", { onclick: () => body.prepend(edit(null)) }, t.admin.newKind),
        h(
          "table",
          { class: "simple" },
          h("tr", null, ...t.admin.kindColumns.map((c) => h("th", null, c))),
          ...ks.map((k) =>
            h(
              "tr",
              { class: k.active ? "" : "muted" },
              h("td", null, k.name),
              h("td", null, typeLabel[k.appealType]),
              h("td", null, priorityLabel[k.defaultPriority]),
              h("td", { class: "num" }, k.localizeMinutes ?? "—"),
              h("td", { class: "num" }, k.resolveMinutes ?? "—"),
              h("td", { class: "muted" }, k.deadlineNote),
              h("td", null, h("button", { class: "link", onclick: (e: Event) => (e.target as HTMLElement).closest("tr")?.after(h("tr", null, h("td", { colSpan: 7 }, edit(k)))) }, t.admin.edit)),
            ),
          ),
        ),
      );
    } else {
      const es = await admin.executors();
      const kindList = await admin.kinds();
      const edit = async (e: Executor | null) => {
        const service = e ? await admin.executorService(e.id) : { kindIds: [], buildingIds: [] };
        return executorForm(e, service, orgs, kindList, async (ex, sv) => admin.saveExecutor(ex, sv).then(() => show("executors"), fail));
      };
      replace(
        body,
        h("button", { onclick: async () => body.prepend(await edit(null)) }, t.admin.newExecutor),
        h(
          "table",
          { class: "simple" },
          ...es.map((e) =>
            h(
              "tr",
              { class: e.active ? "" : "muted" },
              h("td", null, e.fullName),
              h("td", null, e.position),
              h("td", null, e.phones.join(", ")),
              h("td", null, orgs.find((o) => o.id === e.organizationId)?.name ?? ""),
              h("td", null, h("button", { class: "link", onclick: async (ev: Event) => {
                const tr = (ev.target as HTMLElement).closest("tr");
                tr?.after(h("tr", null, h("td", { colSpan: 5 }, await edit(e))));
              } }, t.admin.edit)),
            ),
          ),
        ),
      );
    }
  };
  void show("people");
  return () => {};
}

function showPeople(
  body: HTMLElement,
  orgs: Organization[],
  orgSelect: (v: string | null, id: string) => HTMLSelectElement,
  ctx: AppContext,
  reload: () => void,
  fail: (e: unknown) => void,
) {
  const login = h("input", { id: "person-login", placeholder: t.admin.login });
  const name = h("input", { id: "person-name", placeholder: t.admin.fullName });
  const password = h("input", { id: "person-password", type: "password", placeholder: t.admin.password });
  const roles: StaffRole[] = ["operator", "supervisor", "manager", "admin"];
  const role = h("select", { id: "person-role" }, ...roles.map((r) => h("option", { value: r }, roleLabel[r])));
  const sip = h("input", { id: "person-sip", placeholder: t.admin.sip, class: "short" });
  const org = orgSelect(null, "person-org");
  void admin.people().then((ps) =>
    replace(
      body,
      h(
        "div",
        { class: "form-row" },
        login, name, password, role, sip, org,
        h("button", { class: "primary", id: "person-add", onclick: async () => {
          await admin
            .addPerson({ login: login.value, password: password.value, role: role.value as StaffRole, fullName: name.value, sipExtension: sip.value || null, organizationId: org.value || null })
            .then(() => { ctx.toast(t.admin.personCreated(login.value)); reload(); }, fail);
        } }, t.admin.addPerson),
      ),
      h(
        "table",
        { class: "simple" },
        ...ps.map((p) =>
          h(
            "tr",
            { class: p.active ? "" : "muted" },
            h("td", null, p.login),
            h("td", null, p.fullName),
            h("td", null, roleLabel[p.role]),
            h("td", null, p.sipExtension ?? ""),
            h("td", null, orgs.find((o) => o.id === p.organizationId)?.name ?? ""),
            h("td", null, h("button", { class: "link person-edit", dataset: { login: p.login }, onclick: (e: Event) => {
              const row = (e.target as HTMLElement).closest("tr");
              if (!row || row.nextElementSibling?.classList.contains("person-form")) return;
              const fullName = h("input", { class: "person-edit-name", value: p.fullName });
              const newRole = h("select", { class: "person-edit-role" }, ...roles.map((r) => h("option", { value: r }, roleLabel[r])));
              newRole.value = p.role;
              const newSip = h("input", { class: "short person-edit-sip", value: p.sipExtension ?? "", placeholder: t.admin.sip });
              const newOrg = orgSelect(p.organizationId, `person-edit-org-${p.login}`);
              row.after(
                h("tr", { class: "person-form" }, h("td", { colSpan: 8 }, h("div", { class: "form-row" }, fullName, newRole, newSip, newOrg,
                  h("button", { class: "primary person-edit-save", onclick: async () => {
                    await admin
                      .updatePerson({ login: p.login, fullName: fullName.value, role: newRole.value as StaffRole, sipExtension: newSip.value || null, organizationId: newOrg.value || null })
                      .then(() => { ctx.toast(t.admin.personChanged(p.login)); reload(); }, fail);
                  } }, t.admin.save)))),
              );
            } }, t.admin.edit)),
            h("td", null, h("button", { class: "link", onclick: async () => {
              await admin.setPersonActive(p.login, !p.active).then(reload, fail);
            } }, p.active ? t.admin.disable : t.admin.enable)),
            h("td", null, h("button", { class: "link person-password", dataset: { login: p.login }, onclick: (e: Event) => {
              // Typed twice, hidden, in a form of its own: never in a browser prompt that shows it.
              const row = (e.target as HTMLElement).closest("tr");
              if (!row || row.nextElementSibling?.classList.contains("password-form")) return;
              const first = h("input", { type: "password", class: "person-password-new", autocomplete: "new-password", placeholder: t.admin.newPassword });
              const second = h("input", { type: "password", class: "person-password-again", autocomplete: "new-password", placeholder: t.admin.passwordAgain });
              const form = h("tr", { class: "password-form" }, h("td", { colSpan: 8 }, h("div", { class: "form-row" },
                h("span", null, t.admin.newPasswordFor(p.login)), first, second,
                h("button", { class: "primary person-password-save", onclick: async () => {
                  if (first.value !== second.value) return ctx.toast(t.admin.passwordsDiffer, "error");
                  await admin.setPassword(p.login, first.value).then(() => { form.remove(); ctx.toast(t.admin.passwordChanged); }, fail);
                } }, t.admin.changePassword),
                h("button", { onclick: () => form.remove() }, t.admin.cancel))));
              row.after(form);
              first.focus();
            } }, t.admin.changePasswordLink)),
          ),
        ),
      ),
    ),
  );
}

function kindForm(k: AppealKind | null, save: (k: AppealKind) => Promise<unknown>): HTMLElement {
  const types: AppealType[] = ["accident", "complaint", "inquiry", "request"];
  const prios: Priority[] = ["low", "medium", "critical"];
  const name = h("input", { value: k?.name ?? "", placeholder: t.admin.kindName });
  const type = h("select", null, ...types.map((ty) => h("option", { value: ty }, typeLabel[ty])));
  type.value = k?.appealType ?? "request";
  const prio = h("select", null, ...prios.map((p) => h("option", { value: p }, priorityLabel[p])));
  prio.value = k?.defaultPriority ?? "medium";
  const loc = h("input", { type: "number", min: 1, value: k?.localizeMinutes ?? "", class: "short", placeholder: t.admin.localize });
  const res = h("input", { type: "number", min: 1, value: k?.resolveMinutes ?? "", class: "short", placeholder: t.admin.resolve });
  const note = h("input", { value: k?.deadlineNote ?? "", placeholder: t.admin.deadlineNote });
  const kw = h("input", { value: k?.keywords.join("; ") ?? "", placeholder: t.admin.keywords });
  const active = h("input", { type: "checkbox", checked: k?.active ?? true });
  const num = (i: HTMLInputElement) => (i.value ? Number(i.value) : null);
  return h(
    "div",
    { class: "form-row" },
    name, type, prio, loc, res, note, kw, h("label", { class: "check" }, active, t.admin.kindActive),
    h("button", { class: "primary", onclick: () => void save({
      id: k?.id ?? uuidv7(), name: name.value, appealType: type.value as AppealType, defaultPriority: prio.value as Priority,
      localizeMinutes: num(loc), resolveMinutes: num(res), deadlineNote: note.value,
      keywords: kw.value.split(";").map((s) => s.trim()).filter(Boolean), source: k?.source ?? "", active: active.checked, needsAddress: k?.needsAddress ?? false,
    }) }, t.admin.save),
  );
}

function executorForm(
  e: Executor | null,
  service: { kindIds: string[]; buildingIds: string[] },
  orgs: Organization[],
  kinds: AppealKind[],
  save: (e: Executor, s: { kindIds: string[]; buildingIds: string[] }) => Promise<unknown>,
): HTMLElement {
  const name = h("input", { value: e?.fullName ?? "", placeholder: t.admin.fullName });
  const position = h("input", { value: e?.position ?? "", placeholder: t.admin.position });
  const phones = h("input", { value: e?.phones.join(", ") ?? "", placeholder: t.admin.phones });
  const org = h("select", null, ...orgs.map((o) => h("option", { value: o.id }, o.name)));
  if (e) org.value = e.organizationId;
  const active = h("input", { type: "checkbox", checked: e?.active ?? true });
  const kindBoxes = kinds.map((k) => h("label", { class: "check" }, h("input", { type: "checkbox", value: k.id, checked: service.kindIds.includes(k.id) }), k.name));
  // The buildings they serve: their organization's, each ticked or not; «все дома» ticks all.
  const allBuildings = h("input", { type: "checkbox", class: "all-buildings" });
  const buildingBoxes = h("fieldset", { class: "kinds-grid buildings-grid" }, h("legend", null, t.admin.buildings));
  const boxes = () => [...buildingBoxes.querySelectorAll<HTMLInputElement>("input")];
  const syncAll = () => {
    const all = boxes();
    allBuildings.checked = all.length > 0 && all.every((b) => b.checked);
  };
  const loadBuildings = async (ticked: Set<string>) => {
    const bs = await admin.buildings(org.value);
    replace(
      buildingBoxes,
      h("legend", null, t.admin.buildings),
      ...bs.map((b) => h("label", { class: "check" }, h("input", { type: "checkbox", value: b.id, checked: ticked.has(b.id) }), b.address)),
    );
    syncAll();
  };
  buildingBoxes.addEventListener("change", syncAll);
  allBuildings.addEventListener("change", () => boxes().forEach((b) => (b.checked = allBuildings.checked)));
  org.addEventListener("change", () => void loadBuildings(new Set()));
  void loadBuildings(new Set(service.buildingIds));
  return h(
    "div",
    { class: "executor-form" },
    h("div", { class: "form-row" }, name, position, phones, org, h("label", { class: "check" }, active, t.admin.working)),
    h("fieldset", { class: "kinds-grid" }, h("legend", null, t.admin.kinds), ...kindBoxes),
    h("label", { class: "check" }, allBuildings, t.admin.allBuildings),
    buildingBoxes,
    h("button", { class: "primary", onclick: async () => {
      const buildingIds = boxes().filter((b) => b.checked).map((b) => b.value);
      await save(
        { id: e?.id ?? uuidv7(), fullName: name.value, position: position.value, phones: phones.value.split(",").map((s) => s.trim()).filter(Boolean), organizationId: org.value, active: active.checked },
        { kindIds: kindBoxes.map((l) => l.querySelector("input") as HTMLInputElement).filter((i) => i.checked).map((i) => i.value), buildingIds },
      );
    } }, t.admin.save),
  );
}

/** A building's price list (the card's «услуги» tab): each service with its price and unit,
 * removed with a press, added below. */
async function priceEditor(root: HTMLElement, b: Building, fail: (e: unknown) => void): Promise<void> {
  const list = await prices(b.id);
  const service = h("input", { class: "price-service", placeholder: t.admin.service });
  const price = h("input", { class: "short price-value", placeholder: t.admin.price });
  const unit = h("input", { class: "short price-unit", placeholder: t.admin.unit, value: t.admin.defaultUnit });
  const again = () => void priceEditor(root, b, fail);
  replace(
    root,
    list.length
      ? h(
          "table",
          { class: "simple prices" },
          ...list.map((p) =>
            h(
              "tr",
              null,
              h("td", null, p.service),
              h("td", { class: "num" }, `${p.price} ₽`),
              h("td", null, p.unit),
              h("td", null, h("button", { class: "link", onclick: () => deletePrice(p.id).then(again, fail) }, t.admin.remove)),
            ),
          ),
        )
      : h("p", { class: "muted" }, t.admin.noPrices),
    h("div", { class: "form-row" }, service, price, unit, h("button", { class: "primary price-add", onclick: () =>
      savePrice({ id: uuidv7(), buildingId: b.id, service: service.value, price: price.value, unit: unit.value, note: "" }).then(again, fail),
    }, t.admin.addService)),
  );
}

/** The executors' shifts (the card's «расписание»): the coming week of an organization, a shift
 * added by executor, start and end, removed with a press. */
function showSchedule(body: HTMLElement, org: HTMLSelectElement, fail: (e: unknown) => void): void {
  const who = h("select", { id: "shift-executor" });
  const day = new Date();
  day.setHours(8, 0, 0, 0);
  const starts = h("input", { id: "shift-starts", type: "datetime-local", value: toLocalInput(day.toISOString()) });
  day.setHours(20);
  const ends = h("input", { id: "shift-ends", type: "datetime-local", value: toLocalInput(day.toISOString()) });
  const note = h("input", { id: "shift-note", placeholder: t.admin.shiftNote });
  const list = h("div", { id: "shift-list" });
  const load = async () => {
    const [staff, shifts] = await Promise.all([admin.executors(), schedule(org.value || null)]);
    const keep = who.value;
    replace(who, ...staff.filter((e) => e.active && (!org.value || e.organizationId === org.value)).map((e) => h("option", { value: e.id }, `${e.fullName}, ${e.position}`)));
    if (keep) who.value = keep;
    replace(
      list,
      shifts.length
        ? h(
            "table",
            { class: "simple" },
            ...shifts.map((x) =>
              h(
                "tr",
                null,
                h("td", null, fmtDateTime(x.startsAt)),
                h("td", null, t.admin.until(fmtDateTime(x.endsAt))),
                h("td", null, x.person),
                h("td", { class: "muted" }, x.note),
                h("td", null, h("button", { class: "link", onclick: () => deleteShift(x.id).then(load, fail) }, t.admin.remove)),
              ),
            ),
          )
        : h("p", { class: "muted" }, t.admin.noShifts),
    );
  };
  org.addEventListener("change", () => void load());
  replace(
    body,
    h(
      "div",
      { class: "form-row" },
      org,
      who,
      h("label", null, t.admin.from, starts),
      h("label", null, t.admin.to, ends),
      note,
      h("button", { class: "primary", id: "shift-add", onclick: () => {
        if (!who.value) return fail({ message: t.admin.executorNeeded });
        if (!starts.value || !ends.value) return fail({ message: t.admin.shiftTimesNeeded });
        return addShift({ id: uuidv7(), executorId: who.value, startsAt: new Date(starts.value).toISOString(), endsAt: new Date(ends.value).toISOString(), note: note.value }).then(load, fail);
      } }, t.admin.addShift),
    ),
    list,
  );
  void load();
}
