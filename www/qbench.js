// qbench page module: loads the wasm package and exposes it as `window.qbench`
// for the runner (over WebDriver) and for the buttons of index.html.
import init, * as wasm from "/pkg/qbench_wasm.js";

const ready = init().then(() => wasm);

// Runs one cell. `requestJson` is a qbench CellRequest; the optional `fault`
// field ("throw" | "hang") is a testing aid that fails the cell on purpose.
async function runCell(requestJson) {
  const request = JSON.parse(requestJson);
  if (request.fault === "throw") {
    throw new Error("injected fault: the cell threw");
  }
  if (request.fault === "hang") {
    for (;;) { /* injected fault: the main thread never yields */ }
  }
  const q = await ready;
  return q.runCell(requestJson);
}

window.qbench = {
  ready,
  probe: async () => (await ready).probe(),
  runCell,
  summarize: async (samples) => JSON.parse((await ready).summarize(Float64Array.from(samples))),
  matrix: async () => JSON.parse((await ready).matrix()),
};
