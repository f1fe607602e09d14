/** Finding programs the way a shell does: the directories of PATH, in order. */
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";

/** The directories of `env.PATH`, in order, without the empty entries. */
export function pathDirectories(env: { readonly PATH?: string | undefined }): string[] {
  return (env.PATH ?? "").split(delimiter).filter(Boolean);
}

/** The full path of the first executable `name` in `dirs` (for PATH: `pathDirectories(env)`), or undefined. */
export async function findOnPath(name: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    const file = join(dir, name);
    if (await isExecutable(file)) return file;
  }
  return undefined;
}

export async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false; // absent, or not executable by this user
  }
}
