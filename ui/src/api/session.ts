import type { LoginOutcome } from "../generated/LoginOutcome";
import type { LoginRequest } from "../generated/LoginRequest";
import type { Person } from "../generated/Person";
import type { ServerCertificate } from "../generated/ServerCertificate";
import { call } from "./core";

export const login = (request: LoginRequest, remember: boolean) => call<LoginOutcome>("login", { request, remember });
export const savedPassword = (server: string, login: string) => call<string | null>("saved_password", { server, login });
export const logout = () => call<void>("logout");
export const me = () => call<Person | null>("me");
export const defaultServer = () => call<string | null>("default_server");
export const serverCertificate = (server: string) => call<ServerCertificate>("server_certificate", { server });
export const trustCertificate = (server: string, pem: string) => call<void>("trust_certificate", { server, pem });
