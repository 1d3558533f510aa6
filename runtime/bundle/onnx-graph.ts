// Reads an ONNX model's declared graph inputs, outputs, opset, nodes and initializer dims from its protobuf bytes,
// without a session and without reading any weights.
// Field numbers: onnx/onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto, TypeProto).
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

export interface OnnxValueInfo {
  readonly name: string;
  readonly dtype: string;
  /** Fixed dims as numbers, symbolic dims as their names, unknown dims as '?'. */
  readonly shape: readonly (number | string)[];
}

export interface OnnxGraphInfo {
  readonly irVersion: number;
  /** Version of the default ("" or "ai.onnx") operator set. */
  readonly opset: number | undefined;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  /** The top-level graph's nodes in file order (topologically sorted, as the ONNX spec requires). */
  readonly nodes: readonly OnnxNode[];
  /** The dims of each initializer by name (its data is skipped). */
  readonly initializers: ReadonlyMap<string, readonly number[]>;
}

export interface OnnxNode {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Its integer attributes (AttributeProto.i), e.g. Gather's `axis`; other kinds are skipped. */
  readonly ints: ReadonlyMap<string, number>;
}

/** A Gather that looks rows up in an initializer by the token ids: the model's embedding table. */
export interface OnnxEmbedding {
  /** The initializer's name, e.g. `embedding.weight`. */
  readonly name: string;
  /** Its first dim: ids from 0 to rows - 1 are valid. */
  readonly rows: number;
}

// TensorProto.DataType
const DTYPES: Readonly<Record<number, string>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
};

/** Calls `onField` for each field of the message in `bytes`; skips what it does not read. */
function eachField(
  bytes: Uint8Array,
  onField: (field: number, wire: WireType, reader: BinaryReader) => boolean,
) {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wire] = reader.tag();
    if (!onField(field, wire, reader)) reader.skip(wire, field);
  }
}

function readDim(bytes: Uint8Array): number | string {
  let dim: number | string = '?';
  eachField(bytes, (field, wire, r) => {
    if (field === 1 && wire === WireType.Varint) dim = Number(r.int64());
    else if (field === 2 && wire === WireType.LengthDelimited) dim = r.string();
    else return false;
    return true;
  });
  return dim;
}

function readTensorType(bytes: Uint8Array): { dtype: string; shape: (number | string)[] } {
  let dtype = 'unknown';
  const shape: (number | string)[] = [];
  eachField(bytes, (field, wire, r) => {
    if (field === 1 && wire === WireType.Varint) {
      const code = r.int32();
      dtype = DTYPES[code] ?? `onnx-type-${code}`;
    } else if (field === 2 && wire === WireType.LengthDelimited) {
      eachField(r.bytes(), (f, w, shapeReader) => {
        if (f !== 1 || w !== WireType.LengthDelimited) return false;
        shape.push(readDim(shapeReader.bytes()));
        return true;
      });
    } else return false;
    return true;
  });
  return { dtype, shape };
}

function readValueInfo(bytes: Uint8Array): OnnxValueInfo {
  let name = '';
  let type = { dtype: 'unknown', shape: [] as (number | string)[] };
  eachField(bytes, (field, wire, r) => {
    if (field === 1 && wire === WireType.LengthDelimited) name = r.string();
    else if (field === 2 && wire === WireType.LengthDelimited) {
      eachField(r.bytes(), (f, w, typeReader) => {
        if (f !== 1 || w !== WireType.LengthDelimited) return false; // 1 = tensor_type
        type = readTensorType(typeReader.bytes());
        return true;
      });
    } else return false;
    return true;
  });
  return { name, ...type };
}

function readNode(bytes: Uint8Array): OnnxNode {
  let opType = '';
  let domain = '';
  const inputs: string[] = [];
  const outputs: string[] = [];
  const ints = new Map<string, number>();
  eachField(bytes, (field, wire, r) => {
    if (wire !== WireType.LengthDelimited) return false;
    if (field === 1) inputs.push(r.string());
    else if (field === 2) outputs.push(r.string());
    else if (field === 4) opType = r.string();
    else if (field === 7) domain = r.string();
    else if (field === 5) {
      let name = '';
      let value: number | undefined;
      eachField(r.bytes(), (af, aw, attributeReader) => {
        if (af === 1 && aw === WireType.LengthDelimited) name = attributeReader.string();
        else if (af === 3 && aw === WireType.Varint) value = Number(attributeReader.int64());
        else return false;
        return true;
      });
      if (value !== undefined) ints.set(name, value);
    } else return false;
    return true;
  });
  // Operators of other domains (com.microsoft...) may share a name with a standard one but not its meaning.
  const qualified = domain === '' || domain === 'ai.onnx' ? opType : `${domain}.${opType}`;
  return { opType: qualified, inputs, outputs, ints };
}

/** TensorProto: its name (field 8) and dims (field 1, packed or not); the data fields are skipped by length. */
function readInitializer(bytes: Uint8Array): { name: string; dims: number[] } {
  let name = '';
  const dims: number[] = [];
  eachField(bytes, (field, wire, r) => {
    if (field === 8 && wire === WireType.LengthDelimited) name = r.string();
    else if (field === 1 && wire === WireType.Varint) dims.push(Number(r.int64()));
    else if (field === 1 && wire === WireType.LengthDelimited) {
      const packed = new BinaryReader(r.bytes());
      while (packed.pos < packed.len) dims.push(Number(packed.int64()));
    } else return false;
    return true;
  });
  return { name, dims };
}

/**
 * Parses the graph signature of an ONNX model. Initializers are skipped by length, so this is cheap.
 * Throws when the bytes are not a protobuf-encoded ModelProto.
 */
export function readOnnxGraphInfo(model: Uint8Array): OnnxGraphInfo {
  let irVersion = 0;
  let opset: number | undefined;
  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  const nodes: OnnxNode[] = [];
  const initializers = new Map<string, readonly number[]>();
  let sawGraph = false;
  eachField(model, (field, wire, r) => {
    if (field === 1 && wire === WireType.Varint) irVersion = Number(r.int64());
    else if (field === 8 && wire === WireType.LengthDelimited) {
      let domain = '';
      let version: number | undefined;
      eachField(r.bytes(), (f, w, opReader) => {
        if (f === 1 && w === WireType.LengthDelimited) domain = opReader.string();
        else if (f === 2 && w === WireType.Varint) version = Number(opReader.int64());
        else return false;
        return true;
      });
      if (domain === '' || domain === 'ai.onnx') opset = version;
    } else if (field === 7 && wire === WireType.LengthDelimited) {
      sawGraph = true;
      eachField(r.bytes(), (f, w, graphReader) => {
        if (w !== WireType.LengthDelimited) return false;
        if (f === 11) inputs.push(readValueInfo(graphReader.bytes()));
        else if (f === 12) outputs.push(readValueInfo(graphReader.bytes()));
        else if (f === 1) nodes.push(readNode(graphReader.bytes()));
        else if (f === 5) {
          const { name, dims } = readInitializer(graphReader.bytes());
          initializers.set(name, dims);
        } else return false;
        return true;
      });
    } else return false;
    return true;
  });
  if (!sawGraph) throw new Error('no graph in the model (is this an ONNX file?)');
  return {
    irVersion,
    opset,
    inputs: inputs.filter((input) => !initializers.has(input.name)),
    outputs,
    nodes,
    initializers,
  };
}

/** Operators whose first output holds the same values as their first input (reshaped or retyped), so ids stay ids. */
const ID_PRESERVING = new Set([
  'Cast',
  'Identity',
  'Unsqueeze',
  'Squeeze',
  'Reshape',
  'Flatten',
  'Transpose',
]);

/**
 * The embedding tables that `input` (the token ids) indexes: each Gather on axis 0 whose indices are `input`, directly or
 * through operators that keep the values (Cast, Unsqueeze, Reshape...; never Shape, Add or Range), and whose data is
 * an initializer of two or more dims. Empty when the graph does not tell (weights held in Constant nodes, ids
 * offset by arithmetic, a custom operator): then nothing can be said about the vocabulary's size.
 */
export function findEmbeddings(graph: OnnxGraphInfo, input: string): OnnxEmbedding[] {
  const ids = new Set([input]);
  const found: OnnxEmbedding[] = [];
  for (const node of graph.nodes) {
    const [data, indices] = node.inputs;
    const axis = node.ints.get('axis') ?? 0;
    if (
      node.opType === 'Gather' &&
      axis === 0 &&
      indices !== undefined &&
      ids.has(indices) &&
      data !== undefined
    ) {
      const dims = graph.initializers.get(data);
      if (dims !== undefined && dims.length >= 2 && dims[0] !== undefined && dims[0] > 0) {
        found.push({ name: data, rows: dims[0] });
      }
    } else if (ID_PRESERVING.has(node.opType) && data !== undefined && ids.has(data)) {
      const [output] = node.outputs;
      if (output !== undefined) ids.add(output);
    }
  }
  return found;
}
