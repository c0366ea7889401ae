// «Письма без обращения»: letters of the center's mailbox the mail intake could not turn into
// an appeal, each with the reason. The operator reads the letter, registers an appeal from it
// by hand (the letter itself is attached to it) or puts it aside.
import type { CommandError } from "../api/core";
import { searchBuildings, searchKinds } from "../api/directory";
import { dismissLetter, mailLetters, registerFromLetter } from "../api/mail";
import type { AppealKind } from "../generated/AppealKind";
import type { Building } from "../generated/Building";
import type { MailLetter } from "../generated/MailLetter";
import type { AppContext } from "../lib/app";
import { autocomplete } from "../lib/autocomplete";
import { fmtDateTime, h, replace, uuidv7 } from "../lib/h";
import { t } from "../lib/i18n";

export function mountMail(root: HTMLElement, ctx: AppContext): () => void {
  const list = h("div", { id: "mail-letters", class: "mail-letters" });
  const done = h("input", { type: "checkbox", id: "mail-resolved" });
  const fail = (e: CommandError) => ctx.toast(e.message, "error");
  const load = () =>
    mailLetters(done.checked).then(
      (letters) =>
        replace(
          list,
          letters.length
            ? letters.map((l) => letterView(l))
            : h("p", { class: "muted", id: "mail-empty" }, done.checked ? t.mail.noneResolved : t.mail.allRegistered),
        ),
      fail,
    );

  const letterView = (l: MailLetter): HTMLElement => {
    const form = h("div", { class: "mail-form hidden" });
    const files = l.attachments.map((a) => t.fileSize(a.name, Math.max(1, Math.round(a.size / 1024)))).join(", ");
    return h(
      "article",
      { class: "mail-letter", dataset: { id: l.id } },
      h(
        "header",
        null,
        h("strong", null, l.subject || t.mail.noSubject),
        " · ",
        l.senderName ? `${l.senderName} <${l.sender || t.mail.noAddress}>` : l.sender || t.mail.noSender,
        " · ",
        h("span", { class: "muted" }, fmtDateTime(l.receivedAt)),
      ),
      h("p", { class: "error mail-reason" }, l.reason),
      l.body ? h("pre", { class: "mail-body", style: { whiteSpace: "pre-wrap", maxHeight: "16em", overflow: "auto" } }, l.body) : null,
      files ? h("p", { class: "muted" }, `${t.mail.attachments}: ${files}`) : null,
      l.resolvedAt
        ? h(
            "p",
            { class: "muted" },
            l.appealNumber ? t.mail.registeredAs(l.appealNumber) : t.mail.dismissed,
            ` (${l.resolvedBy ?? ""}, ${fmtDateTime(l.resolvedAt)})`,
          )
        : h(
            "div",
            { class: "actions" },
            h("button", { class: "primary mail-register", onclick: () => { form.classList.remove("hidden"); form.replaceChildren(registerForm(l)); } }, t.mail.register),
            h("button", { class: "mail-dismiss", onclick: () => dismissLetter(l.id).then(load, fail) }, t.mail.dismiss),
          ),
      form,
    );
  };

  const registerForm = (l: MailLetter): HTMLElement => {
    let kind: AppealKind | null = null;
    let building: Building | null = null;
    const identifier = h("input", { class: "mail-identifier", value: l.sender, placeholder: t.mail.identifier });
    const applicant = h("input", { class: "mail-applicant", value: l.senderName, placeholder: t.mail.applicant });
    const kindInput = autocomplete<AppealKind>({
      id: `mail-kind-${l.id}`,
      placeholder: t.mail.kind,
      fetch: searchKinds,
      label: (k) => k.name,
      detail: (k) => k.appealType,
      onPick: (k) => (kind = k),
    });
    const buildingInput = autocomplete<Building>({
      id: `mail-building-${l.id}`,
      placeholder: t.mail.address,
      fetch: searchBuildings,
      label: (b) => b.address,
      onPick: (b) => (building = b),
    });
    const apartment = h("input", { class: "mail-apartment", placeholder: t.mail.apartment });
    const comment = h("textarea", { class: "mail-comment", rows: 4 });
    comment.value = [l.subject, l.body].filter(Boolean).join("\n\n").slice(0, 10000);
    const appealId = uuidv7();
    const save = () => {
      if (!kind) {
        ctx.toast(t.mail.kindNeeded, "error");
        return;
      }
      registerFromLetter({
        letterId: l.id,
        appealId,
        identifier: identifier.value,
        applicantName: applicant.value,
        kindId: kind.id,
        buildingId: building?.id ?? null,
        apartment: apartment.value,
        comment: comment.value,
      }).then((id) => {
        ctx.toast(t.mail.registered);
        void load();
        ctx.openCard(id);
      }, fail);
    };
    return h(
      "div",
      { class: "form-grid" },
      identifier,
      applicant,
      kindInput.wrapper,
      buildingInput.wrapper,
      apartment,
      comment,
      h("button", { class: "primary mail-save", onclick: save }, t.mail.save),
    );
  };

  done.addEventListener("change", () => void load());
  root.replaceChildren(
    h(
      "section",
      { class: "mail" },
      h("div", { class: "toolbar" }, h("strong", null, t.mail.title), h("label", null, done, t.mail.resolved)),
      list,
    ),
  );
  void load();
  // New letters reach the list as the intake takes them; it is read again every half minute
  // (not while a letter is being registered).
  const timer = window.setInterval(() => {
    if (!list.querySelector(".mail-form:not(.hidden)")) void load();
  }, 30000);
  return () => window.clearInterval(timer);
}
