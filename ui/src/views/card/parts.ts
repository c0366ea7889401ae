// Small pieces the card's parts share.
import { h } from "../../lib/h";

export function select<T extends string>(id: string, values: readonly T[], labels: Record<T, string>, value: T | null): HTMLSelectElement {
  const s = h("select", { id }, ...values.map((v) => h("option", { value: v }, labels[v])));
  if (value) s.value = value;
  return s;
}

export function field(label: string, control: HTMLElement, extra?: string): HTMLElement {
  return h("label", { class: `field ${extra ?? ""}` }, h("span", null, label), control);
}

/** Marks a field red until it is filled. */
export function mark(el: HTMLElement, bad: boolean) {
  el.classList.toggle("invalid", bad);
  el.setAttribute("aria-invalid", String(bad));
}
