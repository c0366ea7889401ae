// The softphone in the desktop shell (src-tauri/src/phone.rs). These types are written by hand
// to the contract agreed with the shell, not generated: they mirror its serde structs.
import { call, onEvent, type UnlistenFn } from "./core";

export type LineState = "off" | "connecting" | "registered" | "failed";

export type PhoneCallState = "ringing" | "dialing" | "early" | "talking" | "held" | "ended";

export interface PhoneCall {
  id: string;
  direction: "in" | "out";
  number: string;
  displayName: string | null;
  state: PhoneCallState;
  startedAt: string;
  answeredAt: string | null;
  appealId: string | null;
  executorId: string | null;
  /** Set for incoming calls from an executor's number. */
  executorName: string | null;
}

export interface PhoneStatus {
  line: LineState;
  /** Russian, e.g. "линия подключена: 2001" or the error. */
  message: string;
  extension: string | null;
  calls: PhoneCall[];
  /** Incoming calls ringing, not yet answered. */
  waiting: number;
}

export interface PhoneSettings {
  server: string;
  extension: string;
  hasPassword: boolean;
  caFile: string | null;
  input: string | null;
  output: string | null;
}

export interface PhoneSettingsInput {
  server: string;
  extension: string;
  /** `null` keeps the saved one. */
  password: string | null;
  caFile: string | null;
  input: string | null;
  output: string | null;
}

export interface AudioDevices {
  inputs: string[];
  outputs: string[];
}

export interface TestCallResult {
  answered: boolean;
  audioBack: boolean;
  setupMs: number | null;
  message: string;
}

export const phoneStatus = () => call<PhoneStatus>("phone_status");
/** Places a call; resolves with its id. */
export const phoneCall = (number: string, appealId?: string | null, executorId?: string | null) =>
  call<string>("phone_call", { number, appealId: appealId ?? null, executorId: executorId ?? null });
export const phoneAnswer = (callId: string) => call<void>("phone_answer", { callId });
export const phoneReject = (callId: string) => call<void>("phone_reject", { callId });
export const phoneHangup = (callId: string) => call<void>("phone_hangup", { callId });
export const phoneHold = (callId: string, on: boolean) => call<void>("phone_hold", { callId, on });
export const phoneDtmf = (callId: string, digit: string) => call<void>("phone_dtmf", { callId, digit });
export const phoneSettings = () => call<PhoneSettings>("phone_settings");
export const phoneSaveSettings = (settings: PhoneSettingsInput) => call<PhoneStatus>("phone_save_settings", { settings });
export const phoneDevices = () => call<AudioDevices>("phone_devices");
export const phoneTestCall = (number: string) => call<TestCallResult>("phone_test_call", { number });
/** Links a call (say, the incoming one that made the appeal) to an appeal. */
export const phoneLinkCall = (callId: string, appealId: string) => call<void>("phone_link_call", { callId, appealId });

/** Every change of the line or of a call. */
export const onPhoneState = (fn: (s: PhoneStatus) => void): Promise<UnlistenFn> => onEvent<PhoneStatus>("phone-state", fn);

/** A finished call has been stored (with its recording); the payload is its id. */
export const onCallStored = (fn: (callId: string) => void): Promise<UnlistenFn> => onEvent<string>("call-stored", fn);
