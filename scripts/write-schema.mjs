// Writes schema/mlkube.schema.json from the built zod schema (run by `npm run build`, after the bundle),
// so the JSON Schema editors use is always the one mlkube validates with.
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { configJsonSchema } from "../dist/config/json-schema.js";

const target = fileURLToPath(new URL("../schema/mlkube.schema.json", import.meta.url));
await mkdir(fileURLToPath(new URL("../schema/", import.meta.url)), { recursive: true });
await writeFile(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log("write-schema: wrote schema/mlkube.schema.json");
