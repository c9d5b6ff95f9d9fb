// A fault the runner's tests inject into the page: served only from the
// temporary page folder a test builds (`faulty_root` in tests/browsers.rs),
// never from www/. It wraps `window.qbench.runCell` so the cells of one
// precision fail the way FAULT says; every other cell runs as usual.
//   throw:  the cell rejects;
//   hang:   the main thread never yields;
//   panic:  what a wasm panic in a WebGPU callback leaves: the panic hook's
//           message, and a cell that never settles;
//   garble: the cell runs, but its answer breaks the protocol (an unknown status).
const PRECISION = "@PRECISION@";
const FAULT = "@FAULT@";
const runCell = window.qbench.runCell;
window.qbench.runCell = async (requestJson) => {
  if (JSON.parse(requestJson).precision !== PRECISION) {
    return runCell(requestJson);
  }
  if (FAULT === "throw") {
    throw new Error("injected fault: the cell threw");
  }
  if (FAULT === "hang") {
    for (;;) { /* injected fault: the main thread never yields */ }
  }
  if (FAULT === "panic") {
    globalThis.qbenchPanic = "injected fault: the module panicked";
    return new Promise(() => {});
  }
  const answer = JSON.parse(await runCell(requestJson));
  answer.status = "garbled";
  return JSON.stringify(answer);
};
