import { UserError } from "../../errors.js";

/** Shared wording of the build path's messages. */

export function oneLine(text: string): string {
  // Counted in code points: cutting UTF-16 units could split an emoji's pair, drawn as "�".
  const flat = [
    ...text
      .replace(/\\\s*\n/g, " ")
      .replace(/\s+/g, " ")
      .trim(),
  ];
  return flat.length > 80 ? `${flat.slice(0, 77).join("")}...` : flat.join("");
}

export function cancelled(): UserError {
  return new UserError("cancelled", "The build was cancelled.");
}
