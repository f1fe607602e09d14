/** Who and where: the model, the cluster, how images get there, and where the model answers. */
import { Box } from "ink";
import { memo } from "react";
import { outageReason, type ClusterInfo, type DevState } from "../../core/dev/state.js";
import { Spinner } from "./activity.js";
import { formatBytes, wrapText } from "./format.js";
import { Text } from "./theme.js";

const MAX_REASON_LINES = 3;

/** What the section shows: the app reads it from the store and hands it to headerRows and Header alike. */
export interface HeaderSlice {
  model: string;
  cluster: DevState["cluster"];
  paused: boolean;
  serving: string | undefined;
  health: DevState["health"];
  live: DevState["live"];
  pruned: DevState["pruned"];
  /** Also say why this delivery path was chosen (the `d` key). */
  why: boolean;
}

export function headerRows({ cluster, why }: HeaderSlice, columns: number): number {
  return 2 + (why ? reasonLines(cluster.info, columns).length : 0);
}

function reasonLines(info: ClusterInfo | undefined, columns: number): string[] {
  const endpoint = info?.endpointReason ? `; endpoint: ${info.endpointReason}` : "";
  const text = info ? `why ${info.deliveryPath}: ${info.deliveryReason}${endpoint}` : "why: the delivery path is decided once the cluster is ready";
  return wrapText(text, columns).slice(0, MAX_REASON_LINES);
}

export const Header = memo(function Header({
  model,
  cluster,
  paused,
  serving,
  health,
  live,
  pruned,
  why,
  rows,
  columns,
}: HeaderSlice & { rows: number; columns: number }) {
  const outage = outageReason(health);
  const info = cluster.info;
  if (rows <= 0) return null;
  return (
    <Box flexDirection="column" width={columns}>
      <Text wrap="truncate-end">
        <Text bold color="magenta">
          {model}
        </Text>
        {paused && (
          <Text color="yellow" bold>
            {" "}
            [paused]
          </Text>
        )}
        {"  "}
        {outage ? (
          <Text color="red" bold>
            ✗ {outage}
            {health.cluster.status === "deleted" && health.recreate === "offer" ? ": press y to re-create it" : ""}
          </Text>
        ) : cluster.status === "ready" && info ? (
          <>
            <Text color="green">●</Text> {info.provider} {info.name} <Text dimColor>context</Text> {info.context}
          </>
        ) : cluster.status === "failed" ? (
          <Text color="red">
            ✗ cluster not available{cluster.retry ? ` (attempt ${cluster.retry.attempt} failed; next in ${Math.round(cluster.retry.delayMs / 1000)} s)` : ""}
          </Text>
        ) : (
          <>
            <Spinner /> cluster starting{cluster.retry ? ` (attempt ${cluster.retry.attempt + 1})` : ""}
            {cluster.detail ? `: ${cluster.detail}` : ""}
          </>
        )}
      </Text>
      {rows >= 2 && (
        <Text wrap="truncate-end">
          <Text dimColor>delivery </Text>
          {info?.deliveryPath ?? "-"}
          <Text dimColor>{"  endpoint "}</Text>
          {info?.endpoint ? <Text color="cyan">{info.endpoint}</Text> : "-"}
          <Text dimColor>{"  serving "}</Text>
          {serving ?? "nothing yet"}
          {live.ahead.length > 0 && (
            <Text color="yellow">{`  live: ${live.ahead.length === 1 ? "1 file" : `${live.ahead.length} files`} ahead of the image`}</Text>
          )}
          {live.off && <Text dimColor>{`  live update off: ${live.off}`}</Text>}
          {pruned.engine.images > 0 && <Text dimColor>{`  pruned ${pruned.engine.images} old image(s), ${formatBytes(pruned.engine.reclaimedBytes)}`}</Text>}
          {pruned.registry.images > 0 && <Text dimColor>{`  registry: ${pruned.registry.images}, ${formatBytes(pruned.registry.reclaimedBytes)}`}</Text>}
        </Text>
      )}
      {why &&
        reasonLines(info, columns)
          .slice(0, Math.max(0, rows - 2))
          .map((line, index) => (
            <Text key={index} dimColor wrap="truncate-end">
              {line}
            </Text>
          ))}
    </Box>
  );
});
