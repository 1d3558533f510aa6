// Runs an exported model.onnx for the Python exporter (onnxruntime-node; Python has no ONNX runtime here).
// stdin: {"model": path, "runs": [{"feeds": {name: {"dims": [..], "dtype": "int64", "data": [..]}}}]}
// stdout: {"runs": [{"outputs": {name: {"dims": [..], "data": [..]}}} | {"error": message}]}
// Each run is reported on its own, so a graph that fails at one batch size still answers for the others.
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const request = JSON.parse(readFileSync(0, 'utf8'));
const session = await ort.InferenceSession.create(request.model, {
  intraOpNumThreads: 1,
  logSeverityLevel: 4,
});

function tensorOf({ dims, dtype, data }) {
  const values =
    dtype === 'int64'
      ? BigInt64Array.from(data, (v) => BigInt(v))
      : dtype === 'int32'
        ? Int32Array.from(data)
        : Float32Array.from(data);
  return new ort.Tensor(dtype, values, dims);
}

const runs = [];
for (const run of request.runs) {
  const feeds = Object.fromEntries(Object.entries(run.feeds).map(([name, t]) => [name, tensorOf(t)]));
  try {
    const results = await session.run(feeds);
    const outputs = {};
    for (const [name, tensor] of Object.entries(results)) {
      outputs[name] = { dims: [...tensor.dims], data: Array.from(tensor.data, Number) };
    }
    runs.push({ outputs });
  } catch (error) {
    runs.push({ error: String(error instanceof Error ? error.message : error) });
  }
}
process.stdout.write(JSON.stringify({ runs }));
