/**
 * Reads BuildKit's plain progress (`--progress=plain`, what both Docker 20.10's built-in client and
 * buildx print) into steps. The format, one line at a time, each prefixed by the vertex number:
 *
 *   #7 [base 3/5] COPY app.py .          first line of a vertex: its name
 *   #7 sha256:935e…                      20.10 only: the vertex digest
 *   #8 0.447 hi                          a RUN's output, seconds since the vertex started
 *   #6 transferring context: 42B done    bytes moved
 *   #4 sha256:ab… 12.3MB / 30.5MB 1.2s   a layer being pulled
 *   #5 CACHED | #7 DONE 0.5s | #7 ERROR: message
 *
 * Lines without the `#N` prefix come after the vertices: the error summary (and, from buildx, the
 * Dockerfile excerpt around the failing line).
 */

export interface BuildStep {
  /** BuildKit's vertex number, unique within one build. */
  id: number;
  /** The vertex's name: `[base 3/5] COPY app.py .`, `[internal] load build context`. */
  name: string;
  /** The Dockerfile instruction a step runs, without the stage prefix; undefined for BuildKit's own work. */
  instruction?: string | undefined;
  /** `base` in `[base 3/5]`; undefined for a single unnamed stage. */
  stage?: string | undefined;
  index?: number | undefined;
  total?: number | undefined;
  status: "running" | "done" | "cached" | "failed";
  /** How long BuildKit says it took (DONE and ERROR lines). */
  ms?: number | undefined;
  /** Bytes transferred or pulled, where BuildKit reports them. */
  bytes?: number | undefined;
  /** BuildKit's message for a failed step. */
  error?: string | undefined;
}

export type ProgressEvent = { type: "step"; step: BuildStep } | { type: "output"; step: BuildStep; line: string };

const VERTEX_LINE = /^#(\d+) (.*)$/;
const STATUS_TAIL = /#(\d+) (CACHED|DONE [\d.]+s|ERROR: .*)$/;

export class PlainProgressReader {
  private readonly steps = new Map<number, BuildStep>();
  private readonly pulled = new Map<number, Map<string, number>>();
  /** Lines after the vertices (the error summary), in order. */
  readonly trailer: string[] = [];

  /** The steps seen so far, by vertex number. */
  all(): BuildStep[] {
    return [...this.steps.values()].sort((a, b) => a.id - b.id);
  }

  /** The steps that ran Dockerfile instructions, for counting cached and built ones. */
  instructionSteps(): BuildStep[] {
    return this.all().filter((step) => step.instruction !== undefined);
  }

  read(rawLine: string): ProgressEvent[] {
    const line = rawLine.replace(/\r$/, "");
    const vertex = VERTEX_LINE.exec(line);
    if (!vertex) {
      if (line.trim() !== "") this.trailer.push(line);
      return [];
    }
    const id = Number(vertex[1]);
    const rest = vertex[2] ?? "";
    const known = this.steps.get(id);
    if (!known) {
      const step: BuildStep = { id, name: rest, status: "running", ...parseName(rest) };
      this.steps.set(id, step);
      return [{ type: "step", step: { ...step } }];
    }
    if (rest === known.name || /^sha256:[0-9a-f]{64}$/.test(rest)) return [];
    // A RUN's last output without a newline runs into the status: "#4 0.337 fromenv#4 DONE 0.4s".
    const tail = STATUS_TAIL.exec(rest);
    if (tail && tail.index > 0 && Number(tail[1]) === id) {
      return [...this.read(`#${id} ${rest.slice(0, tail.index)}`), ...this.read(`#${id} ${tail[2]}`)];
    }
    return this.update(known, rest);
  }

  private update(step: BuildStep, rest: string): ProgressEvent[] {
    if (rest === "CACHED") return this.change(step, { status: "cached" });
    const done = /^DONE ([\d.]+)s$/.exec(rest);
    if (done) return this.change(step, { status: step.status === "cached" ? "cached" : "done", ms: Math.round(Number(done[1]) * 1000) });
    const error = /^ERROR: (.*)$/.exec(rest);
    if (error) return this.change(step, { status: "failed", error: error[1] ?? "" });
    const output = /^\d+\.\d+ (.*)$/.exec(rest);
    if (output) return [{ type: "output", step: { ...step }, line: output[1] ?? "" }];
    const bytes = this.bytesIn(step.id, rest);
    if (bytes !== undefined && bytes !== step.bytes) step.bytes = bytes;
    return [];
  }

  private change(step: BuildStep, update: Partial<BuildStep>): ProgressEvent[] {
    Object.assign(step, update);
    return [{ type: "step", step: { ...step } }];
  }

  /** `transferring context: 1.2MB 0.3s done`, or a layer pull `sha256:ab… 12MB / 30MB`: the step's bytes. */
  private bytesIn(id: number, rest: string): number | undefined {
    const transfer = /^transferring \w+: ([\d.]+)([kKMGT]?B)\b/.exec(rest);
    if (transfer) return toBytes(transfer[1] ?? "0", transfer[2] ?? "B");
    const pull = /^(sha256:[0-9a-f]+) [\d.]+[kKMGT]?B \/ ([\d.]+)([kKMGT]?B)\b/.exec(rest);
    if (!pull) return undefined;
    const layers = this.pulled.get(id) ?? new Map<string, number>();
    layers.set(pull[1] ?? "", toBytes(pull[2] ?? "0", pull[3] ?? "B"));
    this.pulled.set(id, layers);
    return [...layers.values()].reduce((sum, size) => sum + size, 0);
  }
}

/** `[base 3/5] COPY app.py .` → stage, position and instruction; `[internal] …` and others are BuildKit's own. */
function parseName(name: string): Pick<BuildStep, "instruction" | "stage" | "index" | "total"> {
  const match = /^\[(?:(\S+) )?(\d+)\/(\d+)\] (.*)$/.exec(name);
  if (!match) return {};
  return { stage: match[1], index: Number(match[2]), total: Number(match[3]), instruction: match[4] };
}

const UNITS: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };

/** BuildKit prints sizes with go-units' HumanSize: decimal units. */
function toBytes(value: string, unit: string): number {
  return Math.round(Number(value) * (UNITS[unit] ?? 1));
}
