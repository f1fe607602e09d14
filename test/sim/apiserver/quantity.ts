/**
 * Kubernetes resource quantities ("512Mi", "1.5", "250m", "1e3"), as in
 * k8s.io/apimachinery/pkg/api/resource. Only conversion to plain numbers is needed here: bytes for
 * memory and millicores for CPU.
 */

const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;

const SUFFIX: Record<string, number> = {
  "": 1,
  n: 1e-9,
  u: 1e-6,
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

export const QUANTITY_FORMAT_MESSAGE = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** The value of a quantity, or undefined when it is not a valid quantity. */
export function parseQuantity(input: string | number): number | undefined {
  if (typeof input === "number") return Number.isFinite(input) ? input : undefined;
  const match = QUANTITY.exec(input.trim());
  if (!match) return undefined;
  const [, numberPart = "", suffix = ""] = match;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(numberPart)) return undefined;
  const base = Number(numberPart);
  let factor: number | undefined;
  if (/^[eE][-+]?\d+$/.test(suffix)) factor = 10 ** Number(suffix.slice(1));
  else factor = SUFFIX[suffix];
  if (factor === undefined) return undefined;
  return base * factor;
}

/** Memory quantity in bytes (rounded up, as the kubelet does). */
export function memoryBytes(input: string | number | undefined): number | undefined {
  if (input === undefined) return undefined;
  const value = parseQuantity(input);
  return value === undefined ? undefined : Math.ceil(value);
}

/** CPU quantity in millicores (rounded up: 0.0001 CPU still asks for 1m). */
export function cpuMillis(input: string | number | undefined): number | undefined {
  if (input === undefined) return undefined;
  const value = parseQuantity(input);
  return value === undefined ? undefined : Math.ceil(Math.round(value * 1e9) / 1e6);
}
