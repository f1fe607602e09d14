/**
 * Build secrets (`build.secrets` in mlkube.yaml): read when a build starts, handed to BuildKit by
 * reference (an environment variable's name or a file's path, never the value in argv), and
 * masked wherever build output or an error could repeat them.
 */
import { readFile } from "node:fs/promises";
import { UserError } from "../../errors.js";
import type { BuildSecretSource } from "./buildkit-build.js";

/** One secret as configured: its id, and where its value is. */
export type BuildSecret = BuildSecretSource;

interface ReadSecret extends BuildSecret {
  value: string;
}

/** Secret files larger than this are not read for masking (a file that large is not a token). */
const LARGEST_MASKED_FILE = 1_000_000;

export async function readSecrets(secrets: readonly BuildSecret[], env: Readonly<Record<string, string | undefined>> = process.env): Promise<ReadSecret[]> {
  const read: ReadSecret[] = [];
  for (const secret of secrets) {
    if (secret.env !== undefined) {
      const value = env[secret.env];
      if (value === undefined) {
        throw new UserError("config", `The build secret '${secret.id}' comes from the environment variable ${secret.env}, which is not set.`, {
          hint: `Set ${secret.env} in the shell that runs mlkube, or change build.secrets in mlkube.yaml.`,
        });
      }
      read.push({ ...secret, value });
      continue;
    }
    const file = secret.file ?? "";
    const value = await readFile(file).then(
      (content) => (content.length <= LARGEST_MASKED_FILE ? content.toString("utf8") : ""),
      (cause: NodeJS.ErrnoException) => {
        throw new UserError("config", `The build secret '${secret.id}' comes from ${file}, which cannot be read (${cause.code ?? cause.message}).`, {
          hint: `Create ${file}, or change build.secrets in mlkube.yaml.`,
          cause,
        });
      },
    );
    read.push({ ...secret, value });
  }
  return read;
}

/**
 * Replaces each secret value (and each line of a multi-line one) with `***`. Values shorter than
 * four characters are not masked: masking "1" would garble every line and protect nothing.
 */
export function secretMask(values: readonly string[]): (text: string) => string {
  const needles = [...new Set(values.flatMap((value) => [value, value.trim(), ...value.split(/\r?\n/).map((line) => line.trim())]))]
    .filter((needle) => needle.length >= 4)
    .sort((a, b) => b.length - a.length);
  if (needles.length === 0) return (text) => text;
  return (text) => needles.reduce((masked, needle) => masked.split(needle).join("***"), text);
}
