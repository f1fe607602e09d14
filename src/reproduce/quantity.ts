/**
 * Kubernetes resource quantities ("250m", "1", "256Mi", "1G", "2e3") as numbers, for deciding how
 * many production replicas fit on the local cluster, and back into words for the messages.
 */

const SUFFIXES: Readonly<Record<string, number>> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The quantity in base units (cores, bytes), or undefined when it is not one. */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const match = /^(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/.exec(value.trim());
  if (!match?.[1]) return undefined;
  const number = Number(`${match[1]}${match[2] ?? ""}`);
  return number * (SUFFIXES[match[3] ?? ""] ?? 1);
}

/** 0.25 cores -> "250m", 2 -> "2". */
export function formatCpu(cores: number): string {
  return Number.isInteger(cores) ? String(cores) : `${Math.round(cores * 1000)}m`;
}

/** Bytes in the largest binary unit that keeps a number >= 1: "256Mi", "3.8Gi". */
export function formatMemory(bytes: number): string {
  for (const unit of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"] as const) {
    const size = SUFFIXES[unit] ?? 1;
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))}${unit}`;
  }
  return String(Math.round(bytes));
}
