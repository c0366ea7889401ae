import type { Dashboard } from "../generated/Dashboard";
import type { QueueState } from "../generated/QueueState";
import type { Report } from "../generated/Report";
import type { ReportKindTitle } from "../generated/ReportKindTitle";
import type { ReportRequest } from "../generated/ReportRequest";
import { call } from "./core";

export const reportKinds = () => call<ReportKindTitle[]>("report_kinds");
export const buildReport = (request: ReportRequest) => call<Report>("build_report", { request });
export const cancelReport = () => call<void>("cancel_report");
/** Saves the report as "pdf" or "csv" in Documents/Диалог; returns the path. */
export const exportReport = (report: Report, format: "pdf" | "csv") => call<string>("export_report", { report, format });
export const dashboard = () => call<Dashboard>("dashboard");
/** The PBX's queues (empty where the center has no PBX bridge). */
export const queueState = () => call<QueueState[]>("queue_state");
