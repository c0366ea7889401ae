// The card's life on screen: the panel over the current view, whether something typed is not
// saved yet, the question before throwing it away, Esc and Ctrl+S, and what is stopped when
// the card closes.
import { h } from "../../lib/h";
import { t } from "../../lib/i18n";

export interface CardShell {
  panel: HTMLElement;
  /** Something typed or chosen in the card's own fields since it was last shown or saved. */
  dirty: boolean;
  isClosed(): boolean;
  /** Closes at once, whatever the card holds. */
  close(): void;
  /** Closes; asks first when something typed is not saved. Resolves to whether it closed. */
  leave(): Promise<boolean>;
  /** Runs when the card closes (timers, subscriptions). */
  onClose(stop: () => void): void;
}

export function cardShell(save: () => void): CardShell {
  const overlay = h("div", { class: "card-overlay", id: "card" });
  const panel = h("div", { class: "card-panel", role: "dialog", "aria-modal": "true" });
  overlay.appendChild(panel);
  document.body.appendChild(overlay);
  let closed = false;
  // The question "throw away what is typed?" while it is on screen: its answer.
  let asking: ((discard: boolean) => void) | null = null;
  const stops: (() => void)[] = [];

  const shell: CardShell = {
    panel,
    dirty: false,
    isClosed: () => closed,
    close() {
      if (closed) return;
      closed = true;
      asking?.(true);
      stops.forEach((stop) => stop());
      document.removeEventListener("keydown", keys, true);
      overlay.remove();
    },
    async leave() {
      if (closed) return true;
      if (asking) return false;
      if (shell.dirty && !(await ask())) return false;
      shell.close();
      return true;
    },
    onClose(stop) {
      if (closed) stop();
      else stops.push(stop);
    },
  };

  const ask = () =>
    new Promise<boolean>((resolve) => {
      const lastFocus = document.activeElement;
      const answer = (discard: boolean) => {
        asking = null;
        dlg.remove();
        if (!discard) (lastFocus as HTMLElement | null)?.focus();
        resolve(discard);
      };
      const back = h("button", { class: "primary", id: "card-discard-no", onclick: () => answer(false) }, t.card.discardNo);
      const dlg = h(
        "div",
        { class: "card-overlay", id: "card-discard" },
        h("div", { class: "dialog", role: "alertdialog" }, h("p", null, t.card.discardAsk), back, h("button", { id: "card-discard-yes", onclick: () => answer(true) }, t.card.discardYes)),
      );
      asking = answer;
      document.body.appendChild(dlg);
      back.focus();
    });

  const keys = (e: KeyboardEvent) => {
    if (asking) {
      // The question has the keyboard: Esc goes back to the card.
      if (e.key === "Escape") {
        e.preventDefault();
        asking(false);
      }
      return;
    }
    if (e.key === "Escape") {
      // Esc in a field with its suggestions open closes only the suggestions.
      if (document.activeElement?.closest(".autocomplete")?.querySelector(".suggestions:not(.hidden)")) return;
      e.preventDefault();
      void shell.leave();
    } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
      e.preventDefault();
      save();
    }
  };
  document.addEventListener("keydown", keys, true);

  // The card's own fields (the tabs save what is done in them at once).
  const edited = (e: Event) => {
    if ((e.target as Element).closest(".card-main")) shell.dirty = true;
  };
  panel.addEventListener("input", edited);
  panel.addEventListener("change", edited);
  // Executors, reasons and joins are chosen with buttons.
  panel.addEventListener("click", (e) => {
    const b = (e.target as Element).closest(".card-main button");
    if (b && !b.closest(".call-applicant, .call-executor") && b.id !== "card-save") shell.dirty = true;
  });
  return shell;
}
