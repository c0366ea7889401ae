import type { LetterAppeal } from "../generated/LetterAppeal";
import type { MailLetter } from "../generated/MailLetter";
import { call } from "./core";

export const mailLetters = (resolved: boolean) => call<MailLetter[]>("mail_letters", { resolved });
export const registerFromLetter = (appeal: LetterAppeal) => call<string>("register_from_letter", { appeal });
export const dismissLetter = (id: string) => call<void>("dismiss_letter", { id });
