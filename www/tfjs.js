// TF.js, the engine qbench is measured against (`qbench run --baseline-tfjs`):
// the same network on the same weights and held-out digits, run in the same
// page as qbench's cell, behind the interface of a qbench module's paired
// cells (openCell / warmCell / sampleCell / finishCell, JSON in and out).
//
// CPU cells run TF.js's wasm backend (XNNPACK, SIMD) on one thread, as
// qbench's CPU cells run on one; WebGPU cells run its WebGPU backend. Every
// inference is timed from the upload of the images to the probabilities read
// back, as qbench's are. Float32 weights only: the quantizers are qbench's.
// TF.js's network is checked like qbench's: its probabilities against native.

// The runner serves tfjs/node_modules/@tensorflow here for a --baseline-tfjs run.
const DIR = "/base";

function script(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`loading ${src}`));
    document.head.append(s);
  });
}

let library;
function tfjs() {
  library ??= (async () => {
    await script(`${DIR}/tfjs-core/dist/tf-core.min.js`);
    await script(`${DIR}/tfjs-backend-wasm/dist/tf-backend-wasm.min.js`);
    await script(`${DIR}/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js`);
    const tf = window.tf;
    tf.wasm.setWasmPaths(`${DIR}/tfjs-backend-wasm/dist/`);
    // A cross-origin isolated page would get the threaded module: one thread,
    // as qbench's CPU cells, means the SIMD module.
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    return tf;
  })();
  return library;
}

// safetensors: an 8-byte little-endian header length, a JSON header naming
// each tensor's dtype, shape and byte range, then the bytes.
function safetensors(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  const start = 8 + length;
  const tensors = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [from, to] = t.data_offsets;
    const raw = bytes.slice(start + from, start + to);
    const data = t.dtype === "F32" ? new Float32Array(raw.buffer) : raw;
    tensors[name] = { shape: t.shape, data };
  }
  return tensors;
}

async function fetchBytes(name) {
  const response = await fetch(`/pkg/${name}`);
  if (!response.ok) throw new Error(`fetching /pkg/${name}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

// The held-out digits' pixels as the module decodes them (digits.rs, decode_pixel).
function digitPixels(codes, start, end) {
  const out = new Float32Array((end - start) * 784);
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.round((codes[start * 784 + i] * 1000) / 255) / 1000;
  }
  return out;
}

// The network in TF.js's layout (NHWC, filters HWIO), its layers fused as
// TF.js fuses them (conv + bias + ReLU, matmul + bias + ReLU).
function network(tf, w) {
  const tensor = (name) => tf.tensor(w[name].data, w[name].shape);
  // conv [out, in, kh, kw] → [kh, kw, in, out]
  const filter = (name) => tf.tidy(() => tf.transpose(tensor(name), [2, 3, 1, 0]));
  const p = {
    conv1: filter("conv1.weight"),
    conv1Bias: tensor("conv1.bias"),
    conv2: filter("conv2.weight"),
    conv2Bias: tensor("conv2.bias"),
    // dense [in, out] with inputs in (c, y, x) order → (y, x, c), TF.js's flattening.
    fc1: tf.tidy(() =>
      tf.reshape(tf.transpose(tf.reshape(tensor("fc1.weight"), [64, 7, 7, 128]), [1, 2, 0, 3]), [3136, 128])),
    fc1Bias: tensor("fc1.bias"),
    fc2: tensor("fc2.weight"),
    fc2Bias: tensor("fc2.bias"),
  };
  const conv = (x, filter, bias) => tf.maxPool(
    tf.fused.conv2d({ x, filter, bias, strides: 1, pad: "same", activation: "relu" }), 2, 2, "valid");
  const forward = (x) => {
    const batch = x.shape[0];
    const features = tf.reshape(conv(conv(x, p.conv1, p.conv1Bias), p.conv2, p.conv2Bias), [batch, 3136]);
    const hidden = tf.fused.matMul({ a: features, b: p.fc1, bias: p.fc1Bias, activation: "relu" });
    return tf.softmax(tf.fused.matMul({ a: hidden, b: p.fc2, bias: p.fc2Bias }));
  };
  return { forward, params: p };
}

const failed = (status, reason) => ({
  status, reason, first_ms: null, samples_ms: [], enqueue_ms: [], stop: null,
  probabilities: [], measured_bytes: null, measured_how: null,
});

const cells = new Map();
let nextHandle = 1;

// One inference: upload, forward, read back. Resolves to [total, until the
// forward call returned] in milliseconds, and the probabilities.
async function infer(cell, pixels) {
  const { tf, net } = cell;
  const started = performance.now();
  const probabilities = tf.tidy(() => net.forward(tf.tensor4d(pixels, [pixels.length / 784, 28, 28, 1])));
  const enqueued = performance.now() - started;
  const values = await probabilities.data();
  probabilities.dispose();
  return [performance.now() - started, enqueued, values];
}

// Opens a cell: TF.js's backend, the network and the first inference.
// `judge` (from qbench.js) says when warm-up has settled, by qbench's rule.
export async function openCell(requestJson, judge) {
  const request = JSON.parse(requestJson);
  if (request.precision !== "f32") {
    return JSON.stringify(failed("unsupported", "the TF.js side runs float32 weights only"));
  }
  try {
    const tf = await tfjs();
    const backend = request.backend === "cpu" ? "wasm" : "webgpu";
    if (!(await tf.setBackend(backend))) {
      return JSON.stringify(failed("unsupported", `TF.js could not start its ${backend} backend`));
    }
    await tf.ready();
    const [weights, digits] = await Promise.all(["weights.safetensors", "digits.safetensors"].map(fetchBytes));
    const net = network(tf, safetensors(weights));
    const codes = safetensors(digits).images.data;
    const batch = Math.max(1, Math.min(request.batch, codes.length / 784));
    const cell = {
      tf, net, request, codes, backend,
      pixels: digitPixels(codes, 0, batch),
      judge, warm: [], samples: [], enqueued: [],
    };
    [cell.first] = await infer(cell, cell.pixels);
    const handle = nextHandle++;
    cells.set(handle, cell);
    return JSON.stringify({ handle });
  } catch (e) {
    return JSON.stringify(failed("error", `TF.js: ${e?.message ?? e}`));
  }
}

// One untimed warm-up inference, if the judge still wants one; resolves to
// whether it wants another.
export async function warmCell(handle) {
  const cell = cells.get(handle);
  if (!cell.judge.wants(cell.warm)) return false;
  cell.warm.push((await infer(cell, cell.pixels))[0]);
  return cell.judge.wants(cell.warm);
}

// Times one warm sample: as many inferences back to back as qbench's rule
// gives for this page's clock, their mean recorded. Always "met": the qbench
// side's plan decides when the pairs stop, so both sides have as many samples.
export async function sampleCell(handle) {
  const cell = cells.get(handle);
  cell.repetitions ??= cell.judge.repetitions(cell.warm);
  let enqueued = 0;
  const started = performance.now();
  for (let i = 0; i < cell.repetitions; i++) {
    enqueued += (await infer(cell, cell.pixels))[1];
  }
  cell.samples.push((performance.now() - started) / cell.repetitions);
  cell.enqueued.push(enqueued / cell.repetitions);
  return true;
}

export async function finishCell(handle) {
  const cell = cells.get(handle);
  cells.delete(handle);
  const { request, codes } = cell;
  const n = Math.min(request.quality_inputs, codes.length / 784);
  const step = Math.max(1, request.quality_batch);
  const probabilities = [];
  for (let start = 0; start < n; start += step) {
    const [, , values] = await infer(cell, digitPixels(codes, start, Math.min(start + step, n)));
    probabilities.push(...values);
  }
  return JSON.stringify({
    ...failed("ok", null),
    first_ms: cell.first,
    warmup: cell.judge.record(cell.warm),
    samples_ms: cell.samples,
    repetitions: cell.repetitions,
    enqueue_ms: cell.enqueued,
    probabilities,
    // tf.memory() counts tensors' logical sizes, not what a device holds: no
    // measured bytes for this side.
    module: `tfjs-backend-${cell.backend}`,
  });
}
