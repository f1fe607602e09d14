/**
 * `mlkube dev` without a terminal (CI, a pipe, --no-tui, --json): every state change and every
 * log line as a timestamped line, or as one JSON object per event (NDJSON, docs/events.md).
 *
 * Log lines are read from the log store at the output's pace: when the output pushes back (a slow
 * pipe), the printer stops reading until it drains, the bounded store absorbs the burst, and what
 * it had to evict is reported as one "lines dropped" event instead of memory growing without end.
 */
import type { DevAction, DevState } from "../../core/dev/state.js";
import { describeLive, describeRoute } from "../../core/live/describe.js";
import { describeAnsweredBy, verdictWord } from "../../core/verification.js";
import type { LogStore } from "../../engine/log-store.js";
import type { Store } from "../../engine/store.js";
import { eventsOf, type DevEvent, type StepEvent } from "./events.js";
import { formatBytes, formatCount, formatMs, logSource } from "./format.js";

interface PlainPrinterOptions {
  store: Store<DevState, DevAction>;
  logs: LogStore;
  holdReason: () => string | undefined;
  out: NodeJS.WritableStream;
  format: "text" | "json";
  now?: (() => Date) | undefined;
  /** At most one progress event per stage this often; default 1 s. */
  progressIntervalMs?: number | undefined;
}

interface PlainPrinter {
  /** An event that does not come from the state (diagnostics), printed like the others. */
  emit(event: DevEvent): void;
  stop(): void;
}

export function startPlainPrinter(options: PlainPrinterOptions): PlainPrinter {
  const { store, logs, out } = options;
  const now = options.now ?? (() => new Date());
  const progressIntervalMs = options.progressIntervalMs ?? 1000;
  let hold: string | undefined;
  let checkpoint = 1;
  let waitingForDrain = false;
  let stopped = false;
  const lastProgressAt = new Map<string, number>();

  const write = (events: DevEvent[]): boolean => {
    if (events.length === 0) return true;
    const ts = now().toISOString();
    const text = events.map((event) => (options.format === "json" ? `${JSON.stringify({ ts, ...event })}\n` : formatText(event, ts))).join("");
    return out.write(text);
  };

  /** The newest progress each stage had throttled away, printed when its interval ends (nothing newer came). */
  const pendingProgress = new Map<string, { event: DevEvent; timer: NodeJS.Timeout }>();

  const dropPending = (key: string): void => {
    clearTimeout(pendingProgress.get(key)?.timer);
    pendingProgress.delete(key);
  };

  const keepProgress = (event: DevEvent): boolean => {
    // A finished stage or iteration makes its held-back progress old news.
    if (event.type === "stage.done" || event.type === "stage.failed") dropPending(`${event.iteration}:${event.stage}`);
    // A finished build step is news of its own (and there are few): only the running detail is throttled.
    if (event.type !== "stage.progress" || event.step) return true;
    const key = `${event.iteration}:${event.stage}`;
    const at = now().getTime();
    const wait = (lastProgressAt.get(key) ?? -Infinity) + progressIntervalMs - at;
    dropPending(key);
    if (wait > 0) {
      // Without this, a stage whose detail then stays put (a rollout waiting on a node) would show a stale line.
      const timer = setTimeout(() => {
        pendingProgress.delete(key);
        lastProgressAt.set(key, now().getTime());
        if (!stopped) write([event]);
      }, wait);
      timer.unref();
      pendingProgress.set(key, { event, timer });
      return false;
    }
    lastProgressAt.set(key, at);
    return true;
  };

  /** Events of the actions since the last print: printed together once the burst of dispatches is over. */
  let unprinted: DevEvent[] = [];
  const onAction = (action: DevAction, before: DevState, after: DevState) => {
    unprinted.push(...eventsOf(action, before, after).filter(keepProgress));
  };

  const printState = () => {
    const events = unprinted;
    unprinted = [];
    const reason = options.holdReason();
    if (reason && reason !== hold) events.push({ type: "hold", reason });
    hold = reason;
    write(events);
  };

  const printLogs = () => {
    if (waitingForDrain || stopped) return;
    const batch = logs.since(checkpoint);
    checkpoint = batch.checkpoint;
    const events: DevEvent[] = batch.missed > 0 ? [{ type: "log.dropped", count: batch.missed }] : [];
    for (const line of batch.lines) events.push({ type: "log", pod: line.pod, container: line.container, time: line.time, text: line.text, kind: line.kind });
    if (write(events)) return;
    waitingForDrain = true;
    out.once("drain", () => {
      waitingForDrain = false;
      printLogs();
    });
  };

  // Started before the loop's first action (live update's rules, read earlier, are settings, not news).
  const unsubscribeActions = store.onAction(onAction);
  const unsubscribeState = store.subscribe(printState);
  const unsubscribeLogs = logs.subscribe(printLogs);
  printState();
  printLogs();
  return {
    emit: (event) => void (stopped || write([event])),
    stop: () => {
      if (stopped) return;
      unsubscribeActions();
      unsubscribeState();
      unsubscribeLogs();
      // The last changes and lines still go out: `--once` prints its result and then exits.
      printState();
      waitingForDrain = false;
      printLogs();
      stopped = true;
      for (const key of [...pendingProgress.keys()]) dropPending(key);
    },
  };
}

/** `done in 1.4s: [4/6] RUN pip install -r requirements.txt (12.3 MB)`, `cached: [2/6] WORKDIR /app`. */
function describeStep(step: StepEvent): string {
  const bytes = step.bytes ? ` (${formatBytes(step.bytes)})` : "";
  if (step.status === "cached") return `cached: ${step.name}${bytes}`;
  const how = step.status === "failed" ? "FAILED" : "done";
  return `${how}${step.ms !== undefined ? ` in ${formatMs(step.ms)}` : ""}: ${step.name}${bytes}`;
}

function formatText(event: DevEvent, ts: string): string {
  return textLines(event)
    .map((line) => `${ts} ${line}\n`)
    .join("");
}

function textLines(event: DevEvent): string[] {
  switch (event.type) {
    case "cluster.progress":
      return [`cluster starting: ${event.detail}`];
    case "cluster.ready":
      return [`cluster ready: ${event.provider} ${event.name}, context ${event.context}; delivery ${event.deliveryPath} (${event.deliveryReason})`];
    case "endpoint":
      return [`endpoint ${event.url}${event.reason ? ` (${event.reason})` : ""}`];
    case "images.pruned":
      return [
        `pruned ${event.removed} old image(s) of this model from the ${event.where}: ${formatBytes(event.reclaimedBytes)} reclaimed (${event.totalRemoved}, ${formatBytes(event.totalReclaimedBytes)} this session)`,
      ];
    case "images.registryPruningOff":
      return [`old images stay in the registry: ${event.reason}`];
    case "cluster.retry":
      return [`cluster attempt ${event.attempt} failed: ${event.message}; trying again in ${formatMs(event.delayMs)}`];
    case "watch.failed":
      return [`watch FAILED: ${event.message}${event.watching === "polling" ? " (now watching by polling)" : ""}`];
    case "watch.restored":
      return [`watching again${event.watching === "polling" ? " (by polling)" : ""}`];
    case "watch.paused":
      return ["watching paused: changes are queued until resumed"];
    case "watch.resumed":
      return ["watching resumed"];
    case "hold":
      return [event.reason];
    case "iteration.started":
      return [`#${event.iteration} started: ${event.trigger} (${event.stages.join(", ")})${event.route ? `; ${describeRoute(event.route)}` : ""}`];
    case "iteration.rerouted":
      return [`#${event.iteration} rebuild instead: ${event.reason} (${event.stages.join(", ")})`];
    case "live":
      return [describeLive(event)];
    case "stage.started":
      return [`#${event.iteration} ${event.stage} started`];
    case "stage.progress": {
      if (event.step) return [`#${event.iteration} ${event.stage} step ${describeStep(event.step)}`];
      const count = event.total !== undefined ? `${event.current ?? 0}/${event.total}` : undefined;
      return [`#${event.iteration} ${event.stage} ${[count, event.detail].filter(Boolean).join(" ")}`];
    }
    case "stage.done":
      return [`#${event.iteration} ${event.stage} done in ${formatMs(event.ms)}${event.detail ? `: ${event.detail}` : ""}`];
    case "stage.failed":
      return [`#${event.iteration} ${event.stage} FAILED after ${formatMs(event.ms)}: ${event.message}`];
    case "health":
      return [event.reason ? `health: ${event.reason}; changes are held until it is back` : "health: the Docker engine and the cluster answer again"];
    case "serving":
      return [`serving ${event.image}`];
    case "tests.result":
      return [
        `#${event.iteration} tests: ${event.passed} passed, ${event.failed} failed`,
        ...event.tests.flatMap((test) => [
          `#${event.iteration} test ${test.passed ? "pass" : "FAIL"} ${test.name} (${formatMs(test.latencyMs)}${test.answeredBy ? `; answered by ${describeAnsweredBy(test.answeredBy)}` : ""})`,
          ...(test.failures ?? []).map(
            (failure) => `#${event.iteration} test FAIL ${test.name}: ${failure.what} expected ${failure.expected}, actual ${failure.actual}`,
          ),
        ]),
        ...event.changes.map((change) => `#${event.iteration} tests changed: ${change}`),
      ];
    case "problem":
      return [`problem in ${event.stage}: ${event.message}`, ...event.details.map((line) => `  ${line}`), ...(event.hint ? [`  fix: ${event.hint}`] : [])];
    case "iteration.finished": {
      const verdict =
        event.result === "success" ? `${verdictWord(event.testsPassed + event.testsFailed)}` : event.result === "failed" ? "failed after" : "cancelled after";
      const stages = Object.entries(event.stageMs).map(([stage, ms]) => `${stage} ${formatMs(ms)}`);
      const tests = event.testsPassed + event.testsFailed > 0 ? `, tests ${event.testsPassed}/${event.testsPassed + event.testsFailed} passed` : "";
      return [`#${event.iteration} finished: ${verdict} ${formatMs(event.totalMs)}${stages.length > 0 ? ` (${stages.join(", ")})` : ""}${tests}`];
    }
    case "log":
      return [`${logSource(event)} ${event.kind === "notice" ? "!" : "|"} ${event.text}`];
    case "log.dropped":
      return [`logs: ${formatCount(event.count)} lines dropped (the output could not keep up)`];
    case "diagnostics": {
      const resources = Object.entries(event.activeResources).map(([type, count]) => `${type} ${count}`);
      return [
        `diagnostics: heap ${event.heapUsedMb} of ${event.heapTotalMb} MB, external ${event.externalMb} MB, rss ${event.rssMb} MB, ${event.listeners} listeners; active: ${resources.join(", ") || "none"}`,
      ];
    }
  }
}
