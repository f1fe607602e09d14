import { basename, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { DEFAULT_TEMPLATE, listTemplates, scaffold, type Template } from "../adapters/templates.js";
import { displayPath } from "../config/errors.js";
import { nameFromDirectory } from "../config/load.js";
import { closest } from "../core/suggest.js";
import { isAbortError, UserError } from "../errors.js";

interface InitOptions {
  template?: string;
  list?: boolean;
}

/** `mlkube init [DIR]`: a working model directory from a template. */
export async function runInitCommand(dir: string, options: InitOptions): Promise<number> {
  const templates = await listTemplates();
  if (options.list) {
    const width = Math.max(...templates.map((template) => template.name.length));
    for (const template of templates) {
      process.stdout.write(`${template.name.padEnd(width)}  ${template.description}${template.name === DEFAULT_TEMPLATE ? " (default)" : ""}\n`);
    }
    return 0;
  }
  const template =
    options.template !== undefined
      ? named(templates, options.template)
      : process.stdin.isTTY && process.stdout.isTTY
        ? await ask(templates)
        : defaultOf(templates);
  const target = resolve(dir);
  const written = await scaffold(template, target, { name: nameFromDirectory(basename(target)) });
  const shown = displayPath(target);
  const lines = [`Created ${written.length} files in ${shown} from the ${template.name} template:`, ...written.map((file) => `  ${file}`), "Next:"];
  if (target !== process.cwd()) lines.push(`  cd ${shown}`);
  lines.push(
    "  mlkube dev     # build, deploy to a local cluster and run the smoke tests, on every change",
    "  mlkube doctor  # if anything is missing on this machine",
  );
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

function named(templates: Template[], name: string): Template {
  const found = templates.find((template) => template.name === name);
  if (found) return found;
  const guess = closest(
    name,
    templates.map((template) => template.name),
  );
  throw new UserError("usage", `There is no template '${name}'.${guess ? ` Did you mean '${guess}'?` : ""}`, {
    details: templates.map((template) => `${template.name}: ${template.description}`),
    hint: "Pick one of the templates above with --template NAME ('mlkube init --list' lists them).",
  });
}

function defaultOf(templates: Template[]): Template {
  return named(templates, DEFAULT_TEMPLATE);
}

/** Asks on the terminal; an empty answer takes the default. */
async function ask(templates: Template[]): Promise<Template> {
  const width = Math.max(...templates.map((template) => template.name.length));
  const lines = templates.map((template, index) => `  ${index + 1}) ${template.name.padEnd(width)}  ${template.description}`);
  process.stdout.write(`Templates:\n${lines.join("\n")}\n`);
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    for (;;) {
      const answer = (await prompt.question(`Template [1-${templates.length}, default ${DEFAULT_TEMPLATE}]: `)).trim();
      if (answer === "") return defaultOf(templates);
      const chosen = templates[Number(answer) - 1] ?? templates.find((template) => template.name === answer);
      if (chosen) return chosen;
      process.stdout.write(`'${answer}' is not one of them: type its number or its name.\n`);
    }
  } catch (error) {
    // Ctrl+C or Ctrl+D at the prompt.
    if (isAbortError(error)) throw new UserError("cancelled", "No template chosen; nothing was written.");
    throw error;
  } finally {
    prompt.close();
  }
}
