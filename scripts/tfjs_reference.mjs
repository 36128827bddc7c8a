// Run a TF.js graph model in TensorFlow.js itself (its pure-JavaScript CPU backend) on raw RGB
// frames, and write the named outputs as float32 files: the reference that the ONNX conversion and
// vtx's Rust decoding are checked against.
//
// Usage: node tfjs_reference.mjs MODEL_JSON FRAME.rgb WIDTH HEIGHT OUT_DIR OUTPUT_NODE...
// Writes OUT_DIR/<node with '/' as '_'>.f32 (little-endian float32) and OUT_DIR/shapes.json.
import fs from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { loadGraphModel } from "@tensorflow/tfjs-converter";

const [modelJson, framePath, width, height, outDir, ...outputs] = process.argv.slice(2);
if (!outputs.length) {
  console.error("usage: tfjs_reference.mjs MODEL_JSON FRAME.rgb WIDTH HEIGHT OUT_DIR OUTPUT_NODE...");
  process.exit(2);
}
await tf.setBackend("cpu");
const model = JSON.parse(fs.readFileSync(modelJson, "utf8"));
const dir = path.dirname(modelJson);
const weightSpecs = model.weightsManifest.flatMap((g) => g.weights);
const shards = model.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
const joined = Buffer.concat(shards);
const weightData = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
const graph = await loadGraphModel({
  load: async () => ({ modelTopology: model.modelTopology, format: model.format, weightSpecs, weightData }),
});

const [w, h] = [Number(width), Number(height)];
const bytes = fs.readFileSync(framePath);
if (bytes.length !== w * h * 3) {
  console.error(`${framePath}: ${bytes.length} bytes, expected ${w * h * 3}`);
  process.exit(2);
}
// The graph's own input type: MoveNet takes int32 pixels, CenterNet float ones.
const dtype = graph.inputs[0].dtype === "int32" ? "int32" : "float32";
const input = tf.tensor4d(dtype === "int32" ? Int32Array.from(bytes) : Float32Array.from(bytes), [1, h, w, 3], dtype);
const results = graph.execute(input, outputs);
fs.mkdirSync(outDir, { recursive: true });
const shapes = {};
for (const [i, name] of outputs.entries()) {
  const t = Array.isArray(results) ? results[i] : results;
  const file = name.replaceAll("/", "_") + ".f32";
  fs.writeFileSync(path.join(outDir, file), Buffer.from(t.dataSync().buffer));
  shapes[name] = { file, shape: t.shape };
}
fs.writeFileSync(path.join(outDir, "shapes.json"), JSON.stringify(shapes, null, 1));
