// The softphone in the desktop app (src-tauri/src/phone). Its types are generated from
// crates/core/src/softphone.rs.
import type { AudioDevices } from "../generated/AudioDevices";
import type { LineState } from "../generated/LineState";
import type { PhoneCall } from "../generated/PhoneCall";
import type { PhoneCallState } from "../generated/PhoneCallState";
import type { PhoneSettings } from "../generated/PhoneSettings";
import type { PhoneSettingsInput } from "../generated/PhoneSettingsInput";
import type { PhoneStatus } from "../generated/PhoneStatus";
import type { TestCallResult } from "../generated/TestCallResult";
import { call, onEvent, type UnlistenFn } from "./core";

export type { AudioDevices, LineState, PhoneCall, PhoneCallState, PhoneSettings, PhoneSettingsInput, PhoneStatus, TestCallResult };

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
