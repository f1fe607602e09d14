/**
 * Where a server says it listens, from its log: the line most servers print at start-up
 * (Flask/werkzeug "Running on http://127.0.0.1:5000", uvicorn "Uvicorn running on http://0.0.0.0:8000",
 * gunicorn "Listening at: http://0.0.0.0:8000", TorchServe "Inference API bind to: http://0.0.0.0:8080",
 * "listening on port 8080").
 * Used when the port mlkube probes refuses connections: a server on another port, or on the
 * loopback address only, is a mistake to name at once rather than wait out (issue #16.2).
 */
interface ListenAnnouncement {
  /** Undefined when the line names a port only ("listening on port 8080"): any address. */
  host: string | undefined;
  port: number;
  line: string;
}

/** Words that make a line an announcement rather than, say, a request to another server. */
const ANNOUNCING = /\b(listen(?:ing)?|running on|serving|started (?:server|http)|bound|bind(?:ing)?(?: to)?)\b/i;
const URL_ADDRESS = /\bhttps?:\/\/(\[[0-9a-f:]+\]|[\w.-]+):(\d{2,5})\b/gi;
const BARE_ADDRESS = /(?:^|[\s(=])((?:\d{1,3}\.){3}\d{1,3}|localhost|\[[0-9a-f:]+\]):(\d{2,5})\b/gi;
const PORT_ONLY = /\bport[\s:=]+(\d{2,5})\b/i;

export function listenAnnouncements(lines: readonly string[]): ListenAnnouncement[] {
  const found: ListenAnnouncement[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (!ANNOUNCING.test(line)) continue;
    const addresses = [...line.matchAll(URL_ADDRESS), ...line.matchAll(BARE_ADDRESS)].map((match) => ({
      host: match[1]!.replace(/^\[|\]$/g, ""),
      port: Number(match[2]),
    }));
    if (addresses.length > 0) {
      for (const address of addresses) found.push({ ...address, line });
      continue;
    }
    const port = PORT_ONLY.exec(line)?.[1];
    if (port) found.push({ host: undefined, port: Number(port), line });
  }
  return found.filter((entry) => entry.port > 0 && entry.port < 65536);
}

export function isLoopback(host: string | undefined): boolean {
  return host === "localhost" || host === "::1" || (host?.startsWith("127.") ?? false);
}
