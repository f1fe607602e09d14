/**
 * Turns zod issues and YAML syntax errors into one line per problem, pointing at the exact spot in
 * mlkube.yaml: `mlkube.yaml:12:5 deploy.replicas: expected a whole number >= 0, found "three"`.
 *
 * Two halves: `configErrorMap` words each issue while zod still knows which schema raised it (so
 * it can say "a whole number from 1 to 65535" and suggest known keys); `issueDetails` finds the
 * YAML node for each issue path to add file:line:column.
 */
import { isAbsolute, relative } from "node:path";
import { z } from "zod";
import { isMap, isScalar, type Document, type LineCounter, type YAMLError } from "yaml";
import { expectedPhrases } from "./schema.js";
import { closest } from "../core/suggest.js";

/**
 * The zod error map for one mlkube.yaml: "expected <what the schema accepts>, found <value>".
 * `written` returns the source text at a path, so numbers and booleans are shown as the user
 * typed them (YAML reads `3.10` as 3.1).
 */
export function configErrorMap(written: (path: readonly PropertyKey[]) => string | undefined = () => undefined): z.core.$ZodErrorMap {
  return (issue) => {
    const found = describeValue(issue.input, issue.path ? written(issue.path) : undefined);
    return messageFor(issue, found);
  };
}

function messageFor(issue: z.core.$ZodRawIssue, found: string): string | undefined {
  // A check (min, regex, ...) is owned by the schema it is attached to; that schema has the phrase.
  const owner = issue.schema ?? (issue.inst instanceof z.ZodType ? issue.inst : undefined);
  switch (issue.code) {
    case "unrecognized_keys": {
      // One line per key, in issue.keys order: issueDetails splits them to point at each key.
      const known = issue.inst instanceof z.ZodObject ? Object.keys(issue.inst.shape) : [];
      return issue.keys.map((key) => unknownKeyMessage(key, known)).join("\n");
    }
    case "invalid_value": {
      const options = issue.values.filter((value): value is string => typeof value === "string");
      const suggestion = typeof issue.input === "string" ? closest(issue.input, options) : undefined;
      return `expected ${expectedOf(owner)}, found ${found}${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`;
    }
    case "invalid_key":
      return `the key ${found} is not ${expectedOf(ownerOfKey(owner))}`;
    case "custom":
      return undefined; // refinements carry their own message
    default: {
      if (issue.input === undefined) return `required, expected ${expectedOf(owner)}`;
      const quoteHint =
        owner instanceof z.ZodString && (typeof issue.input === "number" || typeof issue.input === "boolean") ? " (put it in quotes to make it a string)" : "";
      return `expected ${expectedOf(owner)}, found ${found}${quoteHint}`;
    }
  }
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const suggestion = closest(key, known);
  if (suggestion) return `unknown key, did you mean \`${suggestion}\`?`;
  return `unknown key; the keys allowed here are ${known.map((name) => `\`${name}\``).join(", ")}`;
}

function ownerOfKey(record: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  return record instanceof z.ZodRecord ? record.keyType : undefined;
}

/** How a schema is named in messages: its registered phrase, or a wording from its kind. */
function expectedOf(schema: z.core.$ZodType | undefined): string {
  if (schema === undefined) return "a valid value";
  const phrase = expectedPhrases.get(schema as z.ZodType)?.expected;
  if (phrase !== undefined) return phrase;
  if (schema instanceof z.ZodNumber) return numberPhrase(schema);
  if (schema instanceof z.ZodString) return schema.minLength ? "a non-empty string" : "a string";
  if (schema instanceof z.ZodBoolean) return "true or false";
  if (schema instanceof z.ZodEnum) return `one of ${schema.options.map((option) => JSON.stringify(option)).join(", ")}`;
  if (schema instanceof z.ZodArray) return "a list";
  if (schema instanceof z.ZodObject || schema instanceof z.ZodRecord) return "a mapping (key: value)";
  if (schema instanceof z.ZodUnion) return schema.options.map((option) => expectedOf(option)).join(" or ");
  return "a valid value";
}

function numberPhrase(schema: z.ZodNumber): string {
  const kind = schema.isInt ? "a whole number" : "a number";
  // Integers without explicit bounds report the safe-integer range; that is not worth saying.
  const min = schema.minValue !== null && schema.minValue > Number.MIN_SAFE_INTEGER ? schema.minValue : undefined;
  const max = schema.maxValue !== null && schema.maxValue < Number.MAX_SAFE_INTEGER ? schema.maxValue : undefined;
  if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
  if (min !== undefined) return `${kind} >= ${min}`;
  if (max !== undefined) return `${kind} <= ${max}`;
  return kind;
}

/** The value the user wrote, as they would recognize it; strings quoted to show they are strings. */
export function describeValue(value: unknown, written?: string): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (typeof value === "number" || typeof value === "boolean") return written ?? String(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return typeof value;
}

/** Where the problems are: the file as written and parsed, and the path to show for it. */
export interface ConfigSource {
  displayPath: string;
  text: string;
  doc: Document;
  lineCounter: LineCounter;
}

/** The source text of the scalar at `path`, e.g. `3.10` or `True`. */
export function writtenAt(source: Pick<ConfigSource, "text" | "doc">, path: readonly PropertyKey[]): string | undefined {
  const node = path.length === 0 ? source.doc.contents : source.doc.getIn(path, true);
  return isScalar(node) && node.range ? source.text.slice(node.range[0], node.range[1]) : undefined;
}

/** One line per problem, in file order: `file:line:col path: message`. */
export function issueDetails(issues: readonly z.core.$ZodIssue[], source: ConfigSource): string[] {
  const located: { offset: number; text: string }[] = [];
  for (const issue of issues.flatMap(insideUnion)) {
    if (issue.code === "unrecognized_keys") {
      const messages = issue.message.split("\n");
      issue.keys.forEach((key, index) => {
        const path = [...issue.path, key];
        located.push({ offset: keyOffset(source.doc, issue.path, key), text: `${formatPath(path)}: ${messages[index] ?? "unknown key"}` });
      });
    } else {
      const offset = issue.code === "invalid_key" ? keyOffsetOfPath(source.doc, issue.path) : valueOffset(source.doc, issue.path);
      const path = formatPath(issue.path);
      located.push({ offset, text: path === "" ? issue.message : `${path}: ${issue.message}` });
    }
  }
  const lines = located.sort((a, b) => a.offset - b.offset).map(({ offset, text }) => `${source.displayPath}:${position(source.lineCounter, offset)} ${text}`);
  // Two checks on one value (too long, and not a DNS label) read the same: say it once.
  return [...new Set(lines)];
}

/**
 * A value of the right kind for one branch of a union (`sync: false` or a list of rules) that
 * fails inside that branch: report what is wrong inside (`sync[0].dest: ...`), not that the whole
 * value matches no branch. A branch whose issues are all below the value is the one it was meant for.
 */
function insideUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== "invalid_union") return [issue];
  const meant = issue.errors.filter((branch) => branch.length > 0 && branch.every((inner) => inner.path.length > 0));
  const [branch] = meant;
  if (meant.length !== 1 || !branch) return [issue];
  return branch.flatMap((inner) => insideUnion({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue));
}

/** One line per YAML syntax error, with the position the YAML parser reports. */
export function yamlErrorDetails(errors: readonly YAMLError[], displayPath: string): string[] {
  return errors.map((error) => {
    const at = error.linePos?.[0];
    // The parser's message repeats the position and quotes the source on further lines.
    const message = (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    return `${displayPath}:${at ? `${at.line}:${at.col}` : "1:1"} ${message}`;
  });
}

/** `deploy.resources.limits.memory`, `tests[0].expect.status`, `build.args["a.b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(String(segment))) text += text === "" ? String(segment) : `.${String(segment)}`;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text;
}

export function position(lineCounter: LineCounter, offset: number): string {
  const { line, col } = lineCounter.linePos(offset);
  return `${Math.max(line, 1)}:${Math.max(col, 1)}`;
}

/**
 * Start of the node at `path`; for a missing value (a required key left out), the start of the
 * closest enclosing node that exists.
 */
export function valueOffset(doc: Document, path: readonly PropertyKey[]): number {
  for (let length = path.length; length >= 0; length--) {
    const node = length === 0 ? doc.contents : doc.getIn(path.slice(0, length), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return range[0];
  }
  return 0;
}

/** Start of `key` itself in the mapping at `mapPath`, so unknown keys point at their own line. */
export function keyOffset(doc: Document, mapPath: readonly PropertyKey[], key: string): number {
  const map = mapPath.length === 0 ? doc.contents : doc.getIn(mapPath, true);
  if (isMap(map)) {
    const pair = map.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
    if (pair && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
  }
  return valueOffset(doc, mapPath);
}

function keyOffsetOfPath(doc: Document, path: readonly PropertyKey[]): number {
  const key = path.at(-1);
  return key === undefined ? 0 : keyOffset(doc, path.slice(0, -1), String(key));
}

/** A path as the user should see it: relative when it is under the working directory. */
export function displayPath(file: string, cwd: string = process.cwd()): string {
  const relativePath = relative(cwd, file);
  return relativePath !== "" && !relativePath.startsWith("..") && !isAbsolute(relativePath) ? relativePath : file;
}
