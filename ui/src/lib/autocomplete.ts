// A text input with suggestions: type, arrows to move, Enter to choose, Escape to close.
import { debounce, h, replace } from "./h";

export interface Autocomplete<T> {
  wrapper: HTMLElement;
  input: HTMLInputElement;
  set(value: T | null): void;
  get(): T | null;
}

export function autocomplete<T>(opts: {
  id: string;
  placeholder: string;
  fetch: (text: string) => Promise<T[]>;
  label: (item: T) => string;
  detail?: (item: T) => string;
  onPick: (item: T | null) => void;
}): Autocomplete<T> {
  const input = h("input", { id: opts.id, placeholder: opts.placeholder, autocomplete: "off", role: "combobox" });
  const list = h("ul", { class: "suggestions hidden", role: "listbox", id: `${opts.id}-list` });
  const wrapper = h("div", { class: "autocomplete" }, input, list);
  let items: T[] = [];
  let active = -1;
  let chosen: T | null = null;
  let seq = 0;

  const show = () => {
    replace(
      list,
      items.map((it, i) =>
        h(
          "li",
          { class: i === active ? "active" : "", role: "option", dataset: { i: String(i) } },
          opts.label(it),
          opts.detail ? h("small", null, opts.detail(it)) : null,
        ),
      ),
    );
    list.classList.toggle("hidden", items.length === 0);
  };
  const pick = (i: number) => {
    chosen = items[i] ?? null;
    if (chosen) input.value = opts.label(chosen);
    items = [];
    show();
    opts.onPick(chosen);
  };
  const query = debounce(async () => {
    const mine = ++seq;
    const found = await opts.fetch(input.value).catch(() => [] as T[]);
    if (mine !== seq) return;
    items = found;
    active = items.length ? 0 : -1;
    show();
  }, 150);

  input.addEventListener("input", () => {
    if (chosen) {
      chosen = null;
      opts.onPick(null);
    }
    query();
  });
  input.addEventListener("focus", () => {
    if (!chosen && input.value) query();
  });
  input.addEventListener("blur", () => window.setTimeout(() => { items = []; show(); }, 150));
  input.addEventListener("keydown", (e) => {
    if (items.length === 0) return;
    if (e.key === "ArrowDown") { active = Math.min(items.length - 1, active + 1); show(); e.preventDefault(); }
    else if (e.key === "ArrowUp") { active = Math.max(0, active - 1); show(); e.preventDefault(); }
    else if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); pick(active); }
    else if (e.key === "Escape") { e.stopPropagation(); items = []; show(); }
  });
  list.addEventListener("mousedown", (e) => {
    const li = (e.target as HTMLElement).closest("li");
    if (li?.dataset.i) { e.preventDefault(); pick(Number(li.dataset.i)); }
  });
  return {
    wrapper,
    input,
    set(value) { chosen = value; input.value = value ? opts.label(value) : ""; },
    get: () => chosen,
  };
}
