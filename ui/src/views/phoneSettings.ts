// Phone settings (opened from the line indicator in the header): the PBX's WebSocket address,
// the extension and its password (kept in the system keyring by the shell), the PBX's CA
// certificate, the microphone and speaker, and a test call that says whether sound goes
// both ways.
import type { CommandError } from "../api/core";
import { phoneDevices, phoneSaveSettings, phoneSettings, phoneTestCall, type PhoneStatus, type TestCallResult } from "../api/phone";
import type { AppContext } from "../lib/app";
import { h, replace } from "../lib/h";
import { t } from "../lib/i18n";
import { onPhone, phone } from "../lib/phone";

const TEST_NUMBER_KEY = "dialog.phone.testNumber";

function field(label: string, control: HTMLElement, extra = ""): HTMLElement {
  return h("label", { class: `field ${extra}` }, h("span", null, label), control);
}

function mark(el: HTMLElement, bad: boolean) {
  el.classList.toggle("invalid", bad);
  el.setAttribute("aria-invalid", String(bad));
}

/** A device list with «по умолчанию» first; a saved device that is gone stays, marked. */
function deviceSelect(id: string, devices: string[], chosen: string | null): HTMLSelectElement {
  const s = h(
    "select",
    { id },
    h("option", { value: "" }, t.settings.byDefault),
    ...devices.map((d) => h("option", { value: d }, d)),
    chosen && !devices.includes(chosen) ? h("option", { value: chosen }, `${chosen} (${t.settings.missing})`) : null,
  );
  s.value = chosen ?? "";
  return s;
}

function lineText(s: PhoneStatus): string {
  return s.message || (s.line === "registered" ? t.header.lineUp : s.line === "connecting" ? t.header.lineConnecting : t.header.lineDown);
}

function testText(r: TestCallResult): string {
  const yn = (b: boolean) => (b ? t.settings.yes : t.settings.no);
  const parts = [`${t.settings.answered}: ${yn(r.answered)}`, `${t.settings.audioBack}: ${yn(r.audioBack)}`];
  if (r.setupMs !== null) parts.push(`${t.settings.setup} ${r.setupMs} ${t.settings.ms}`);
  return `${parts.join(" · ")}. ${r.message}`;
}

export function openPhoneSettings(ctx: AppContext): void {
  if (document.getElementById("phone-settings")) return;
  const server = h("input", { id: "phone-server", placeholder: t.settings.serverHint, autocomplete: "off", spellcheck: false });
  const extension = h("input", { id: "phone-extension", autocomplete: "off", class: "short" });
  const password = h("input", { id: "phone-password", type: "password", autocomplete: "new-password" });
  const ca = h("input", { id: "phone-ca", placeholder: t.settings.caHint, autocomplete: "off", spellcheck: false });
  const devices = h("div", { class: "grid2" });
  let input = deviceSelect("phone-input", [], null);
  let output = deviceSelect("phone-output", [], null);
  const lineState = h("p", { id: "phone-settings-status", class: "line-status" });
  const message = h("div", { id: "phone-settings-message", class: "form-error", role: "alert" });
  const saveBtn = h("button", { id: "phone-save", class: "primary", type: "submit" }, t.settings.save);
  const testNumber = h("input", { id: "phone-test-number", placeholder: t.settings.testHint, value: localStorage.getItem(TEST_NUMBER_KEY) ?? "", class: "short" });
  const testBtn = h("button", { id: "phone-test", type: "button" }, t.settings.test);
  const testResult = h("div", { id: "phone-test-result", class: "test-result", role: "status" });

  const showLine = (s: PhoneStatus) => {
    lineState.textContent = `${t.settings.status}: ${lineText(s)}`;
    lineState.dataset.state = s.line;
  };
  showLine(phone());
  const unsubscribe = onPhone((s) => showLine(s));

  const close = () => {
    unsubscribe();
    document.removeEventListener("keydown", keys, true);
    overlay.remove();
  };
  const keys = (e: KeyboardEvent) => {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      close();
    }
  };

  const form = h(
    "form",
    { class: "dialog settings", role: "dialog", "aria-modal": "true" },
    h("h3", null, t.settings.title),
    lineState,
    h(
      "div",
      { class: "grid2" },
      field(t.settings.server, server, "required wide"),
      field(t.settings.extension, extension, "required"),
      field(t.settings.password, password),
      field(t.settings.caFile, ca, "wide"),
    ),
    devices,
    h("div", { class: "form-row" }, message, saveBtn),
    h("div", { class: "form-row test" }, field(t.settings.testNumber, testNumber), testBtn),
    testResult,
    h("div", { class: "form-row" }, h("span", { class: "spacer" }), h("button", { id: "phone-settings-close", type: "button", onclick: close }, `${t.phone.close} (Esc)`)),
  );
  const overlay = h("div", { class: "card-overlay", id: "phone-settings" }, form);
  document.body.appendChild(overlay);
  document.addEventListener("keydown", keys, true);
  server.focus();

  let hasPassword = false;
  void Promise.all([phoneSettings(), phoneDevices().catch(() => ({ inputs: [], outputs: [] }))])
    .then(([s, d]) => {
      server.value = s.server;
      extension.value = s.extension;
      ca.value = s.caFile ?? "";
      hasPassword = s.hasPassword;
      password.placeholder = s.hasPassword ? t.settings.passwordSaved : "";
      input = deviceSelect("phone-input", d.inputs, s.input);
      output = deviceSelect("phone-output", d.outputs, s.output);
      replace(devices, field(t.settings.input, input), field(t.settings.output, output));
    })
    .catch((e: CommandError) => {
      message.textContent = e.message;
      replace(devices, field(t.settings.input, input), field(t.settings.output, output));
    });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    message.textContent = "";
    const badServer = !/^wss?:\/\/\S+$/i.test(server.value.trim());
    const badExtension = extension.value.trim() === "";
    mark(server, badServer);
    mark(extension, badExtension);
    if (badServer || badExtension) {
      message.textContent = badServer ? t.settings.serverBad : t.settings.extensionBad;
      (badServer ? server : extension).focus();
      return;
    }
    saveBtn.disabled = true;
    try {
      const s = await phoneSaveSettings({
        server: server.value.trim(),
        extension: extension.value.trim(),
        password: password.value === "" ? null : password.value,
        caFile: ca.value.trim() || null,
        input: input.value || null,
        output: output.value || null,
      });
      showLine(s);
      if (password.value) hasPassword = true;
      password.value = "";
      password.placeholder = hasPassword ? t.settings.passwordSaved : "";
      ctx.toast(t.settings.saved);
    } catch (err) {
      const ce = err as CommandError;
      message.textContent = ce.message;
      if (ce.field === "server") mark(server, true);
      if (ce.field === "extension") mark(extension, true);
    } finally {
      saveBtn.disabled = false;
    }
  });

  testBtn.addEventListener("click", async () => {
    const number = testNumber.value.trim();
    mark(testNumber, number === "");
    if (!number) return testNumber.focus();
    localStorage.setItem(TEST_NUMBER_KEY, number);
    testBtn.disabled = true;
    testResult.className = "test-result running";
    testResult.textContent = t.settings.testing;
    try {
      const r = await phoneTestCall(number);
      testResult.className = `test-result ${r.answered && r.audioBack ? "ok" : "fail"}`;
      testResult.textContent = testText(r);
    } catch (err) {
      testResult.className = "test-result fail";
      testResult.textContent = (err as CommandError).message;
    } finally {
      testBtn.disabled = false;
    }
  });
}
