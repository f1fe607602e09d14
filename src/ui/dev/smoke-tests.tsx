/** The current iteration's smoke tests: what passed, what came back instead, what changed. */
import { Box } from "ink";
import { memo, type ReactNode } from "react";
import type { Iteration, TestOutcome } from "../../core/dev/state.js";
import { describeAnsweredBy } from "../../core/verification.js";
import { clip, formatMs } from "./format.js";
import { Text } from "./theme.js";

/** Narrower than this, expected and actual go on two rows instead of side by side. */
const SIDE_BY_SIDE_COLUMNS = 70;

/** What the section shows: the app reads it from the store and hands it to smokeTestRows and SmokeTests alike. */
export interface SmokeTestsSlice {
  current: Iteration | undefined;
}

export function smokeTestRows({ current }: SmokeTestsSlice, columns: number): number {
  return current?.tests ? testLines(current, columns).length + 1 : 0;
}

export const SmokeTests = memo(function SmokeTests({ current, rows, columns }: SmokeTestsSlice & { rows: number; columns: number }) {
  const tests = current?.tests;
  if (!current || !tests || rows <= 0) return null;
  const failed = tests.filter((test) => !test.passed).length;
  const { shown, hidden } = clip(testLines(current, columns), rows - 1);
  return (
    <Box flexDirection="column" width={columns}>
      <Text wrap="truncate-end">
        <Text bold>tests </Text>
        {tests.length === 0 ? (
          <Text dimColor>none configured</Text>
        ) : (
          <>
            <Text color="green">{tests.length - failed} passed</Text>
            {failed > 0 && <Text color="red"> · {failed} failed</Text>}
          </>
        )}
      </Text>
      {shown}
      {hidden > 0 && <Text dimColor>{`  … ${hidden} more lines`}</Text>}
    </Box>
  );
});

/** One element per row: each test, each failed expectation, each change since last time. */
function testLines(iteration: Iteration, columns: number): ReactNode[] {
  const lines: ReactNode[] = [];
  for (const test of iteration.tests ?? []) {
    lines.push(<TestRow key={`test:${test.name}`} test={test} />);
    for (const [index, failure] of (test.failures ?? []).entries()) {
      const key = `failure:${test.name}:${index}`;
      if (columns >= SIDE_BY_SIDE_COLUMNS) {
        lines.push(<SideBySide key={key} {...failure} />);
      } else {
        lines.push(
          <Text key={`${key}:expected`} wrap="truncate-end">
            {"      "}
            {failure.what} <Text color="green">expected {failure.expected}</Text>
          </Text>,
          <Text key={`${key}:actual`} wrap="truncate-end">
            {"      "}
            {" ".repeat(failure.what.length)} <Text color="red">{`actual   ${failure.actual}`}</Text>
          </Text>,
        );
      }
    }
  }
  for (const [index, change] of (iteration.testChanges ?? []).entries()) {
    lines.push(
      <Text key={`change:${index}`} color="yellow" wrap="truncate-end">
        {"  Δ "}
        {change}
      </Text>,
    );
  }
  return lines;
}

function TestRow({ test }: { test: TestOutcome }) {
  return (
    <Box>
      <Box flexGrow={1} flexShrink={1}>
        <Text wrap="truncate-end">
          {"  "}
          <Text color={test.passed ? "green" : "red"}>{test.passed ? "✓" : "✗"}</Text> {test.name}
        </Text>
      </Box>
      <Box flexShrink={0} marginLeft={1}>
        <Text dimColor>
          {formatMs(test.latencyMs)}
          {test.answeredBy ? ` · ${describeAnsweredBy(test.answeredBy)}` : ""}
        </Text>
      </Box>
    </Box>
  );
}

function SideBySide({ what, expected, actual }: { what: string; expected: string; actual: string }) {
  return (
    <Box>
      <Box width={6} flexShrink={0} />
      <Box width={Math.min(24, what.length + 1)} flexShrink={0}>
        <Text wrap="truncate-end">{what}</Text>
      </Box>
      <Box flexBasis={0} flexGrow={1} flexShrink={1} marginRight={1}>
        <Text color="green" wrap="truncate-end">
          expected {expected}
        </Text>
      </Box>
      <Box flexBasis={0} flexGrow={1} flexShrink={1}>
        <Text color="red" wrap="truncate-end">
          actual {actual}
        </Text>
      </Box>
    </Box>
  );
}
