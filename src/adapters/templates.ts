/**
 * The model-directory templates `mlkube init` copies. Each is a folder under templates/ (shipped
 * in the package) holding the files as the user gets them, plus template.json describing it; the
 * placeholder {{name}} in any file becomes the model's name.
 */
import { lstat, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { displayPath } from "../config/errors.js";
import { UserError } from "../errors.js";
import { PACKAGE_ROOT } from "../package-root.js";

export interface Template {
  name: string;
  description: string;
  dir: string;
}

export const DEFAULT_TEMPLATE = "sklearn-flask";
const MANIFEST = "template.json";

const TEMPLATES_DIR = join(PACKAGE_ROOT, "templates");

/** Every template, the default first. */
export async function listTemplates(root: string = TEMPLATES_DIR): Promise<Template[]> {
  const entries = await readdir(root, { withFileTypes: true });
  const listed = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory())
      .map(async (entry) => {
        const dir = join(root, entry.name);
        // Folders without template.json are not model templates (templates/live holds the dev
        // image's restart supervisor).
        const text = await readFile(join(dir, MANIFEST), "utf8").catch((error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT") return undefined;
          throw error;
        });
        if (text === undefined) return undefined;
        const manifest = JSON.parse(text) as { description: string };
        return { name: entry.name, description: manifest.description, dir };
      }),
  );
  const templates = listed.filter((template): template is Template => template !== undefined);
  return templates.sort((a, b) => Number(b.name === DEFAULT_TEMPLATE) - Number(a.name === DEFAULT_TEMPLATE) || a.name.localeCompare(b.name));
}

/**
 * Writes the template's files into `target` (created if missing). Never overwrites: when any file
 * already exists it writes nothing and lists them. Returns the paths written, relative to target.
 */
export async function scaffold(template: Template, target: string, values: { name: string }): Promise<string[]> {
  const targetInfo = await lstat(target).catch(() => undefined);
  if (targetInfo && !targetInfo.isDirectory()) {
    throw new UserError("usage", `${displayPath(target)} exists and is not a directory.`, {
      hint: "Pass a new directory, or an existing one, to create the model in.",
    });
  }
  const files = (await filesIn(template.dir)).filter((file) => file !== MANIFEST);
  const existing: string[] = [];
  for (const file of files) {
    if (
      await lstat(join(target, file)).then(
        () => true,
        () => false,
      )
    )
      existing.push(file);
  }
  if (existing.length > 0) {
    throw new UserError(
      "usage",
      `${displayPath(target)} already has ${existing.length === 1 ? "a file" : "files"} the ${template.name} template would write; nothing was written.`,
      {
        details: existing,
        hint: "Run 'mlkube init NEW-DIR' for a fresh directory, or move those files away first.",
      },
    );
  }
  for (const file of files) {
    const text = (await readFile(join(template.dir, file), "utf8")).replaceAll("{{name}}", values.name);
    await mkdir(dirname(join(target, file)), { recursive: true });
    // "wx": fail rather than overwrite a file that appeared since the check above.
    await writeFile(join(target, file), text, { flag: "wx" });
  }
  return files;
}

async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}
