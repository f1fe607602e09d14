import { describe, expect, it } from "vitest";
import { withoutSupervisorFrames } from "../../src/adapters/live/pod-access.js";

describe("the traceback shown for a server that did not come back", () => {
  it("keeps the user's frames and drops the supervisor's and runpy's", () => {
    const logged = [
      "Traceback (most recent call last):",
      '  File "/usr/local/lib/mlkube-live/supervisor.py", line 341, in run_server',
      '    runpy.run_path(launch.script, run_name="__main__")',
      '  File "<frozen runpy>", line 290, in run_path',
      '  File "<frozen runpy>", line 259, in _get_code_from_file',
      '  File "app.py", line 34',
      "    def broken(:",
      "               ^",
      "SyntaxError: invalid syntax",
    ];
    expect(withoutSupervisorFrames(logged)).toEqual([
      "Traceback (most recent call last):",
      '  File "app.py", line 34',
      "    def broken(:",
      "               ^",
      "SyntaxError: invalid syntax",
    ]);
  });
});
