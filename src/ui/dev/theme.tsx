/**
 * Colour, or none at all: NO_COLOR (no-color.org) asks for no colour codes, and Ink's chalk does
 * not read it. Every component writes through this Text, which drops colour and emphasis props
 * when colours are off, so no section can forget; and which makes every string one row exactly
 * as wide as Ink measures it (format.ts, oneRow), so no message, however long or wide its
 * characters, can push a line past the screen or a box's border out of place.
 */
import { Text as InkText, type TextProps } from "ink";
import { Children, createContext, Fragment, isValidElement, useContext, type ReactNode } from "react";
import { oneRow } from "./format.js";

const ColorsContext = createContext(true);

export const ColorsProvider = ColorsContext.Provider;

export function useColors(): boolean {
  return useContext(ColorsContext);
}

export function Text(props: TextProps) {
  const colors = useColors();
  const children = safeChildren(props.children);
  if (colors) return <InkText {...props}>{children}</InkText>;
  return <InkText wrap={props.wrap}>{children}</InkText>;
}

/** Strings made one safe row, also inside fragments; nested Texts clean their own. */
function safeChildren(children: ReactNode): ReactNode {
  return Children.map(children, (child) => {
    if (typeof child === "string") return oneRow(child);
    if (isValidElement<{ children?: ReactNode }>(child) && child.type === Fragment) return <>{safeChildren(child.props.children)}</>;
    return child;
  });
}

/** NO_COLOR counts when present and not empty, as the convention says. */
export function colorsFromEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  return !env["NO_COLOR"];
}

const POD_COLORS = ["cyan", "magenta", "green", "yellow", "blue", "redBright"] as const;

/** A stable colour per pod, so lines of two pods are told apart at a glance. */
export function podColor(pod: string): (typeof POD_COLORS)[number] {
  let hash = 0;
  for (let index = 0; index < pod.length; index++) hash = (hash * 31 + pod.charCodeAt(index)) >>> 0;
  return POD_COLORS[hash % POD_COLORS.length] ?? "cyan";
}
