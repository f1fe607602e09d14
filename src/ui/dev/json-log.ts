/**
 * Structured (JSON) log lines read compactly: `ERROR model not loaded +3 fields` instead of a
 * screen-wide object. Only lines on screen are parsed (at most one screen per refresh), and only
 * those starting with "{", so the cost does not grow with the log rate.
 */

interface CompactJsonLine {
  /** Upper case, as Python's logging prints levels; undefined when the object names none. */
  level: string | undefined;
  message: string;
  /** Fields besides the level, message and time stamp. */
  otherFields: number;
}

// The names the common JSON loggers use: python-json-logger (levelname, message), structlog
// (level, event), pino/bunyan (level as a number, msg), zap and logrus (level, msg), GCP (severity).
const LEVEL_KEYS = ["level", "levelname", "severity", "lvl"];
const MESSAGE_KEYS = ["message", "msg", "event"];
const TIME_KEYS = new Set(["time", "timestamp", "ts", "asctime", "@timestamp"]);
/** pino and bunyan write levels as numbers. */
const NUMERIC_LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };

/** The level and message of a JSON log line; undefined when the line is not a JSON object with a message. */
export function compactJsonLine(text: string): CompactJsonLine | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") || !trimmed.endsWith("}")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const fields = parsed as Record<string, unknown>;
  const messageKey = MESSAGE_KEYS.find((key) => typeof fields[key] === "string");
  if (!messageKey) return undefined;
  const levelKey = LEVEL_KEYS.find((key) => typeof fields[key] === "string" || typeof fields[key] === "number");
  const rawLevel = levelKey === undefined ? undefined : fields[levelKey];
  const level = typeof rawLevel === "number" ? (NUMERIC_LEVELS[rawLevel] ?? String(rawLevel)) : rawLevel?.toString().toUpperCase();
  const otherFields = Object.keys(fields).filter((key) => key !== messageKey && key !== levelKey && !TIME_KEYS.has(key)).length;
  return { level, message: fields[messageKey] as string, otherFields };
}
