import type { LoginOutcome } from "../generated/LoginOutcome";
import type { LoginRequest } from "../generated/LoginRequest";
import type { Person } from "../generated/Person";
import type { ServerCertificate } from "../generated/ServerCertificate";
import { call, inBrowser, webSession, webSignIn, webSignOut } from "./core";

/** Logs in. In a browser the server is the web's own: only the login and password count. */
export const login = async (request: LoginRequest, remember: boolean): Promise<LoginOutcome> =>
  inBrowser
    ? { person: await webSignIn(request.login, request.password), keyring: null }
    : call<LoginOutcome>("login", { request, remember });
export const savedPassword = (server: string, login: string) => call<string | null>("saved_password", { server, login });
export const logout = () => (inBrowser ? webSignOut() : call<void>("logout"));
export const me = () => (inBrowser ? webSession() : call<Person | null>("me"));
export const defaultServer = () => call<string | null>("default_server");
export const serverCertificate = (server: string) => call<ServerCertificate>("server_certificate", { server });
export const trustCertificate = (server: string, pem: string) => call<void>("trust_certificate", { server, pem });
