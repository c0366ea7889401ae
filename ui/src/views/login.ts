// Login (the operator manual, «Подключение», «Что делать, если…»): server address, login, password; each failure in plain words.
import { defaultServer, login, savedPassword, serverCertificate, trustCertificate } from "../api/session";
import { inBrowser, type CommandError } from "../api/core";
import type { Person } from "../generated/Person";
import type { TlsMode } from "../generated/TlsMode";
import { h } from "../lib/h";
import { t } from "../lib/i18n";

const SERVER_KEY = "dialog.server";
const LOGIN_KEY = "dialog.login";
const TLS_KEY = "dialog.tls";

export function mountLogin(root: HTMLElement, onLogin: (me: Person, warning: string | null) => void, notice?: string): void {
  const saved = localStorage.getItem(SERVER_KEY);
  const server = h("input", { id: "login-server", name: "server", value: saved ?? "", autocomplete: "off", placeholder: "dialog.example.ru:5432" });
  if (!saved && !inBrowser) void defaultServer().then((s) => { if (s && !server.value) { server.value = s; suggestTls(); } });
  const user = h("input", { id: "login-user", name: "login", value: localStorage.getItem(LOGIN_KEY) ?? "", autocomplete: "username" });
  const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password" });
  const tls = h(
    "select",
    { id: "login-tls", name: "tls" },
    h("option", { value: "verifyFull" }, t.login.tlsVerify),
    h("option", { value: "disable" }, t.login.tlsDisable),
  );
  // A server on another computer is reached only with its certificate verified (the app refuses
  // otherwise); one on this computer needs no encryption.
  const suggestTls = () => {
    if (!isLocal(server.value)) tls.value = "verifyFull";
  };
  tls.value = !saved || localStorage.getItem(TLS_KEY) === "disable" ? "disable" : "verifyFull";
  suggestTls();
  server.addEventListener("change", suggestTls);
  const remember = h("input", { id: "login-remember", type: "checkbox" });
  const error = h("div", { id: "login-error", class: "form-error", role: "alert" });
  const submit = h("button", { id: "login-submit", type: "submit", class: "primary" }, t.login.submit);
  const form = h(
    "form",
    { class: "login-card", id: "login-form" },
    h("h1", null, t.login.title),
    notice ? h("p", { class: "notice" }, notice) : null,
    // In a browser the server is the one that served the page; the password is never kept.
    inBrowser ? null : h("label", null, t.login.server, server),
    h("label", null, t.login.login, user),
    h("label", null, t.login.password, password),
    inBrowser ? null : h("label", null, t.login.tls, tls),
    inBrowser ? null : h("label", { class: "check" }, remember, t.login.remember),
    error,
    submit,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    submit.textContent = t.login.connecting;
    const mode = tls.value;
    const tlsMode: TlsMode = mode === "verifyFull" ? { mode: "verifyFull", caFile: null } : { mode: "disable" };
    try {
      const outcome = await login({ server: server.value, login: user.value, password: password.value, tls: tlsMode }, remember.checked);
      localStorage.setItem(LOGIN_KEY, user.value);
      if (!inBrowser) {
        localStorage.setItem(SERVER_KEY, server.value);
        localStorage.setItem(TLS_KEY, mode);
      }
      onLogin(outcome.person, outcome.keyring);
    } catch (e) {
      const err = e as CommandError;
      error.textContent = err.message;
      error.dataset.kind = err.kind;
      if (err.kind === "tls" && tls.value === "verifyFull") offerTrust();
      password.select();
    } finally {
      submit.disabled = false;
      submit.textContent = t.login.submit;
    }
  });
  // «Подключение не защищено» (the operator manual, «Что делать, если…»), done right: show the server's certificate
  // fingerprint, let the person compare it with the administrator's, trust that one only.
  const offerTrust = () => {
    const check = h("button", { type: "button", id: "cert-check" }, "Проверить сертификат сервера");
    check.addEventListener("click", async () => {
      try {
        const cert = await serverCertificate(server.value);
        const trust = h("button", { type: "button", id: "cert-trust", class: "primary" }, "Доверять этому сертификату");
        trust.addEventListener("click", async () => {
          await trustCertificate(server.value, cert.pem);
          form.requestSubmit();
        });
        error.replaceChildren(
          h("p", null, "Отпечаток сертификата сервера (SHA-256). Сравните его с отпечатком, который дал администратор; доверяйте, только если они совпадают:"),
          h("code", { id: "cert-fingerprint", class: "fingerprint" }, cert.fingerprint),
          trust,
        );
      } catch (e) {
        error.textContent = (e as CommandError).message;
      }
    });
    error.append(" ", check);
  };
  root.replaceChildren(h("div", { class: "login-page" }, form));
  // A password saved in the system keyring for this server and login fills itself in.
  const fill = async () => {
    if (inBrowser) return;
    const saved = server.value && user.value ? await savedPassword(server.value, user.value).catch(() => null) : null;
    if (saved) {
      password.value = saved;
      remember.checked = true;
    }
  };
  user.addEventListener("change", () => void fill());
  void fill();
  (user.value ? password : user).focus();
}

/** `localhost`, `127.0.0.1:5432/dialog`, `[::1]`: the server is this computer. */
export function isLocal(address: string): boolean {
  const hostport = address.trim().split("/")[0];
  const host = hostport.startsWith("[") ? hostport.slice(1, hostport.indexOf("]")) : hostport.split(":")[0];
  return host === "" || host.toLowerCase() === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
