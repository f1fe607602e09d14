/**
 * The health endpoints of the common model-serving stacks, asked in this order once a zero-config
 * server's port is open (issue #16.1): the first that answers 2xx becomes the readiness probe.
 * Specific protocols come first, so a server that also answers "/" gets its real readiness check.
 */
export interface HealthCandidate {
  path: string;
  /** Shown to the user: "readiness: GET /v2/health/ready (Open Inference Protocol)". */
  protocol: string;
}

/**
 * KServe v1 names its readiness path after the model (`GET /v1/models/NAME`, the model ready when
 * 200); NAMES are what `GET /v1/models` listed (KServe v1's list of models), else the model's own name.
 */
export function healthCandidates(names: readonly string[]): HealthCandidate[] {
  return [
    // Open Inference Protocol (KServe v2, MLServer, Triton): server readiness.
    { path: "/v2/health/ready", protocol: "Open Inference Protocol" },
    ...names.map((name) => ({ path: `/v1/models/${encodeURIComponent(name)}`, protocol: "KServe v1 model readiness" })),
    // TorchServe's inference API health check.
    { path: "/ping", protocol: "TorchServe" },
    // BentoML's readiness endpoint.
    { path: "/readyz", protocol: "BentoML" },
    { path: "/healthz", protocol: "a common health path" },
    { path: "/health", protocol: "a common health path" },
    { path: "/", protocol: "the server answers at /" },
  ];
}

/** The model names in a KServe v1 `GET /v1/models` answer (`{"models": ["iris"]}`); none when it is not one. */
export function kserveModelNames(body: unknown): string[] {
  const models = typeof body === "object" && body !== null ? (body as { models?: unknown }).models : undefined;
  return Array.isArray(models) ? models.filter((name): name is string => typeof name === "string" && name !== "") : [];
}

export function describeReadiness(found: HealthCandidate | undefined, tried: readonly string[]): string {
  if (found) return `readiness: GET ${found.path} (${found.protocol})`;
  return `readiness: the port accepting connections (no health endpoint answered 2xx: ${tried.join(", ")})`;
}
