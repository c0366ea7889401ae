import type { LoginRequest } from "../generated/LoginRequest";
import type { Person } from "../generated/Person";
import { call } from "./core";

export const login = (request: LoginRequest) => call<Person>("login", { request });
export const logout = () => call<void>("logout");
export const me = () => call<Person | null>("me");
export const defaultServer = () => call<string | null>("default_server");
