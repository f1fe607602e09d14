/**
 * The JSON Schema of mlkube.yaml, generated from the zod schema (scripts/write-schema.mjs writes
 * it to schema/mlkube.schema.json at build time). Editors use it through yaml-language-server:
 * `# yaml-language-server: $schema=<path or URL>` at the top of mlkube.yaml.
 */
import { z } from "zod";
import { configSchema } from "./schema.js";

export function configJsonSchema(): Record<string, unknown> {
  // The input side: what users write, where fields with defaults are optional. Draft-07 is the
  // version editors' YAML and JSON language servers support best.
  const { $schema, title, description, ...rest } = z.toJSONSchema(configSchema, { io: "input", target: "draft-07" });
  // Keys in the order a person reading the file expects.
  return { $schema, title, description, ...rest };
}
