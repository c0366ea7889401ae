import type { Appeal } from "../generated/Appeal";
import type { AppealChanges } from "../generated/AppealChanges";
import type { AppealStatus } from "../generated/AppealStatus";
import type { Attachment } from "../generated/Attachment";
import type { Call } from "../generated/Call";
import type { CallFilter } from "../generated/CallFilter";
import type { FileContent } from "../generated/FileContent";
import type { HistoryEntry } from "../generated/HistoryEntry";
import type { NewAppeals } from "../generated/NewAppeals";
import type { NewAttachment } from "../generated/NewAttachment";
import type { Problems } from "../generated/Problems";
import type { SavedFile } from "../generated/SavedFile";
import type { VersionedId } from "../generated/VersionedId";
import { call, DOWNLOADS, inBrowser, webDownload } from "./core";

export const createAppeals = (newAppeals: NewAppeals) => call<Appeal[]>("create_appeals", { new: newAppeals });
export const getAppeal = (id: string) => call<Appeal>("get_appeal", { id });
export const saveAppeal = (id: string, version: number, changes: AppealChanges) =>
  call<Appeal>("save_appeal", { id, version, changes });
export const changeStatusMany = (appeals: VersionedId[], status: AppealStatus) =>
  call<Appeal[]>("change_status_many", { appeals, status });
export const joinAppeal = (id: string, version: number, to: string | null) =>
  call<Appeal>("join_appeal", { id, version, to });
export const suggestJoin = (kindId: string, buildingId: string, except: string | null) =>
  call<Appeal | null>("suggest_join", { kindId, buildingId, except });
export const joinedGroup = (id: string) => call<Appeal[]>("joined_group", { id });
export const addComment = (id: string, text: string) => call<void>("add_comment", { id, text });
export const appealHistory = (id: string) => call<HistoryEntry[]>("appeal_history", { id });
export const problems = (buildingId: string | null, identifier: string | null) =>
  call<Problems>("problems", { buildingId, identifier });
export const attachments = (id: string) => call<Attachment[]>("attachments", { id });
export const addAttachment = (file: NewAttachment) => call<Attachment>("add_attachment", { file });
export const attachmentContent = (id: string, mime: string) => call<FileContent>("attachment_content", { id, mime });
/**
 * Saves an attached file in Documents/Диалог and opens it only when it is safely a document,
 * picture or recording; a browser downloads it.
 */
export const saveAttachment = async (appealId: string, id: string, fileName: string): Promise<SavedFile> =>
  inBrowser
    ? { path: `${await webDownload(`/api/attachment/${appealId}/${id}`)} — ${DOWNLOADS}`, opened: true, notOpened: null }
    : call<SavedFile>("save_attachment", { id, fileName });
export const appealCalls = (id: string) => call<Call[]>("appeal_calls", { id });
/** The recordings registry: calls matching the filter, newest first (at most 500). */
export const calls = (filter: CallFilter) => call<Call[]>("calls", { filter });
export const recording = (callId: string) => call<FileContent>("recording", { callId });
/**
 * Saves the cards as one PDF (in Documents/Диалог) and opens it for printing; a browser
 * downloads it. Resolves with where it went.
 */
export const printCards = async (ids: string[], open = true): Promise<string> =>
  inBrowser
    ? `${await webDownload(`/api/cards.pdf?ids=${ids.map(encodeURIComponent).join(",")}`)} — ${DOWNLOADS}`
    : call<string>("print_cards", { ids, open });
/** Where a call's recording plays from in a browser (the web answers byte ranges, for seeking). */
export const recordingUrl = (callId: string) => `/api/recording/${encodeURIComponent(callId)}`;
