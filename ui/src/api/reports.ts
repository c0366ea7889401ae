import type { Dashboard } from "../generated/Dashboard";
import type { QueueState } from "../generated/QueueState";
import type { Report } from "../generated/Report";
import type { ReportKindTitle } from "../generated/ReportKindTitle";
import type { ReportRequest } from "../generated/ReportRequest";
import { call, DOWNLOADS, inBrowser, webDownload } from "./core";

export const reportKinds = () => call<ReportKindTitle[]>("report_kinds");
export const buildReport = (request: ReportRequest) => call<Report>("build_report", { request });
export const cancelReport = () => call<void>("cancel_report");
/** Saves the report as "pdf" or "csv" in Documents/Диалог (a browser downloads it); resolves with where it went. */
export const exportReport = async (report: Report, format: "pdf" | "csv"): Promise<string> =>
  inBrowser ? `${await webDownload(`/api/report/${format}`, { report })} — ${DOWNLOADS}` : call<string>("export_report", { report, format });
export const dashboard = () => call<Dashboard>("dashboard");
/** The PBX's queues (empty where the center has no PBX bridge). */
export const queueState = () => call<QueueState[]>("queue_state");
