/** Starts the interactive screen; the dev command owns everything else (signals, shutdown). */
import { render } from "ink";
import type { DevAction, DevState } from "../../core/dev/state.js";
import type { LogStore } from "../../engine/log-store.js";
import type { Store } from "../../engine/store.js";
import { DevApp } from "./app.js";
import type { QuitRequest } from "./keys.js";
import { colorsFromEnvironment } from "./theme.js";

interface DevUiOptions {
  store: Store<DevState, DevAction>;
  logs: LogStore;
  holdReason: () => string | undefined;
  /** `q` or Ctrl-C. The UI never exits the process; the dev command shuts down and unmounts. */
  onQuit: (request: QuitRequest) => void;
  stdout?: NodeJS.WriteStream | undefined;
  stdin?: NodeJS.ReadStream | undefined;
  /** Default: NO_COLOR from the environment. */
  noColor?: boolean | undefined;
}

interface DevUi {
  unmount(): void;
  waitUntilExit(): Promise<void>;
}

export function renderDevUi(options: DevUiOptions): DevUi {
  const colors = options.noColor === undefined ? colorsFromEnvironment() : !options.noColor;
  const instance = render(<DevApp store={options.store} logs={options.logs} holdReason={options.holdReason} onQuit={options.onQuit} colors={colors} />, {
    stdout: options.stdout ?? process.stdout,
    stdin: options.stdin ?? process.stdin,
    // Ctrl-C reaches the key handler as a quit request, so the dev command can shut down in
    // order (and force the exit on a second Ctrl-C) instead of Ink exiting underneath it.
    exitOnCtrlC: false,
    // Not Ink 6.8's incremental rendering: after a frame that ends with a newline (every frame
    // shorter than the screen, as ours is) it moves the cursor up one row too few, so each frame
    // lands one row lower than the last. Measured in tmux: a 5-line frame re-rendered 7 times
    // left 6 stale copies of its first line above it; on our screen-high frame each redraw
    // scrolled one line into the scrollback and the first frame's "cluster starting" line stayed
    // above the header. The standard renderer erases the previous frame and writes the new one
    // in one write, between synchronized-output markers that tell terminals supporting them to
    // show the frame at once.
    incrementalRendering: false,
    // A cap on bursts of state changes only: what changes on its own sets the frame rate
    // (spinners and clocks tick together every 100 ms; the log pane redraws every 100 ms, or 3
    // times a second under a flood, log-pane.tsx). A frame costs Ink 15-25 ms at 120x40, so with
    // a cap of 10 a key press that came just after a frame waited up to 100 ms for the next one;
    // with 30 it waits at most 33 ms.
    maxFps: 30,
  });
  return {
    unmount: () => instance.unmount(),
    waitUntilExit: async () => {
      await instance.waitUntilExit();
    },
  };
}
