// Reads an ONNX model's declared graph inputs, outputs and opset from its protobuf bytes, without a session.
// Field numbers: onnx/onnx.proto (ModelProto, GraphProto, ValueInfoProto, TypeProto, TensorShapeProto).
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

/**
 * Parses the graph signature of an ONNX model. Initializers are skipped by length, so this is cheap.
 * Throws when the bytes are not a protobuf-encoded ModelProto.
 */
export function readOnnxGraphInfo(model: Uint8Array): OnnxGraphInfo {
  let irVersion = 0;
  let opset: number | undefined;
  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  const initializerNames = new Set<string>();
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
        else if (f === 5) {
          // TensorProto.name is field 8; only the name is needed to tell real inputs from initializers.
          eachField(graphReader.bytes(), (tf, tw, tensorReader) => {
            if (tf !== 8 || tw !== WireType.LengthDelimited) return false;
            initializerNames.add(tensorReader.string());
            return true;
          });
        } else return false;
        return true;
      });
    } else return false;
    return true;
  });
  if (!sawGraph) throw new Error('no graph in the model (is this an ONNX file?)');
  return { irVersion, opset, inputs: inputs.filter((input) => !initializerNames.has(input.name)), outputs };
}
