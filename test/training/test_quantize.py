"""The int8 quantizer: which nodes it replaces, how close the int8 graph runs to the float one (onnxruntime-node), and
that a text's int8 logits do not depend on the other texts of its batch."""

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from shipshape_train.export import run_onnx
from shipshape_train.quantize import QuantizeError, main, quantize_graph, quantize_weight

TRANSFORMER = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "artifacts", "news-transformer")


def _graph(weight: np.ndarray, bias: np.ndarray) -> onnx.ModelProto:
    """x [batch, rows, 16] -> MatMul(w1 [16, 8]) -> Relu -> Gemm(transB w2 [4, 8], bias) per row -> logits."""
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="first"),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Reshape", ["r", "flat_shape"], ["flat"]),
        helper.make_node("Gemm", ["flat", "w2", "b2"], ["logits"], transB=1, name="second"),
        helper.make_node("MatMul", ["x", "x_t"], ["attention"], name="activations_only"),
    ]
    rng = np.random.default_rng(0)
    initializers = [
        numpy_helper.from_array(weight, "w1"),
        numpy_helper.from_array(rng.standard_normal((4, 8)).astype(np.float32), "w2"),
        numpy_helper.from_array(bias, "b2"),
        numpy_helper.from_array(np.asarray([-1, 8], dtype=np.int64), "flat_shape"),
    ]
    nodes.insert(0, helper.make_node("Transpose", ["x"], ["x_t"], perm=[0, 2, 1]))
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["rows", 4]),
         helper.make_tensor_value_info("attention", TensorProto.FLOAT, ["batch", 3, 3])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    rng = np.random.default_rng(1)
    model = _graph(rng.standard_normal((16, 8)).astype(np.float32), rng.standard_normal(4).astype(np.float32))
    quantized, replaced = quantize_graph(model)
    folder = tmp_path_factory.mktemp("quantize")
    paths = {"float": str(folder / "float.onnx"), "int8": str(folder / "int8.onnx")}
    onnx.save(model, paths["float"])
    onnx.save(quantized, paths["int8"])
    return {"quantized": quantized, "replaced": replaced, "paths": paths}


def test_weights_round_to_int8_with_one_scale_per_column():
    weight = np.asarray([[1.0, -0.5], [-2.0, 0.25]], dtype=np.float32)
    values, scales = quantize_weight(weight, per_channel=True)
    assert values.dtype == np.int8
    assert values.tolist() == [[64, -127], [-127, 64]]
    np.testing.assert_allclose(scales, [2.0 / 127, 0.5 / 127], rtol=1e-6)


def test_a_zero_weight_column_gets_scale_one():
    _, scales = quantize_weight(np.zeros((3, 2), dtype=np.float32), per_channel=True)
    assert scales.tolist() == [1.0, 1.0]


def test_replaces_matmul_and_gemm_on_initializer_weights_only(models):
    quantized = models["quantized"]
    assert models["replaced"] == ["first", "second"]
    ops = [node.op_type for node in quantized.graph.node]
    assert ops.count("MatMulInteger") == 2
    assert ops.count("MatMul") == 1  # x @ x_t: two activations, left float
    assert "Gemm" not in ops
    names = {init.name for init in quantized.graph.initializer}
    assert not {"w1", "w2"} & names


def test_int8_logits_stay_close_to_float(models):
    x = np.random.default_rng(2).standard_normal((5, 3, 16)).astype(np.float32)
    want, got = (run_onnx(models["paths"][kind], [{"x": x}])[0] for kind in ("float", "int8"))
    scale = float(np.abs(want["logits"]).max())
    assert float(np.abs(got["logits"] - want["logits"]).max()) < 0.02 * scale
    np.testing.assert_array_equal(got["attention"], want["attention"])


def test_a_rows_logits_do_not_depend_on_its_batch(models):
    rng = np.random.default_rng(3)
    alone = rng.standard_normal((1, 3, 16)).astype(np.float32)
    loud = 50 * rng.standard_normal((3, 3, 16)).astype(np.float32)
    single, batched = run_onnx(models["paths"]["int8"], [{"x": alone}, {"x": np.concatenate([alone, loud])}])
    np.testing.assert_allclose(batched["logits"][:3], single["logits"], atol=1e-6)


def test_refuses_a_graph_without_weights_to_quantize():
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "plain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    with pytest.raises(QuantizeError) as caught:
        quantize_graph(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    assert caught.value.code == "NOTHING_TO_QUANTIZE"


def test_cli_exits_2_with_accuracy_drop_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "int8"
    status = main(["--bundle", TRANSFORMER, "--out", str(out), "--max-drop", "-0.01"])
    assert status == 2
    assert "ACCURACY_DROP" in capsys.readouterr().err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
