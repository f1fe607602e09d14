/** The key list, shown in place of the lower sections while `?` is on. */
import { Box } from "ink";
import { KEY_HELP } from "./keys.js";
import { Text } from "./theme.js";

export const HELP_ROWS = KEY_HELP.length + 1;

export function Help({ rows, columns }: { rows: number; columns: number }) {
  if (rows <= 0) return null;
  return (
    <Box flexDirection="column" width={columns}>
      <Text bold>keys</Text>
      {KEY_HELP.slice(0, rows - 1).map(([keys, meaning]) => (
        <Text key={keys} wrap="truncate-end">
          {"  "}
          <Text color="cyan">{keys.padEnd(14)}</Text> {meaning}
        </Text>
      ))}
    </Box>
  );
}
