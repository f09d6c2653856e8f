"""Export a :class:`pymodel.nn.study.Model` (the study's MLP/CNN) to ONNX.

Used to run the study's own trained networks back through the importer: the graph
has the same arithmetic (Conv with ``W`` as is, Gemm with ``transB=1``, Relu,
2x2 MaxPool, Flatten), so float and int results match the native layers.
"""

import numpy as np

from .layers import Conv2d, Dense, Flatten, MaxPool2d, ReLU

__all__ = ["export_onnx"]


def export_onnx(model, in_shape, path=None, opset=17):
    """The ``onnx.ModelProto`` of ``model`` for NCHW inputs of shape ``(N,) + in_shape``; saved to ``path``
    when given."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    nodes, inits = [], []
    x = "input"
    for i, layer in enumerate(model.layers):
        y = f"t{i}"
        if isinstance(layer, Conv2d):
            w = layer.W.reshape(layer.c_out, layer.c_in, layer.k, layer.k)
            inits += [numpy_helper.from_array(np.ascontiguousarray(w), f"conv{i}.W"),
                      numpy_helper.from_array(layer.b, f"conv{i}.b")]
            nodes.append(helper.make_node("Conv", [x, f"conv{i}.W", f"conv{i}.b"], [y], name=f"conv{i}",
                                          kernel_shape=[layer.k, layer.k], pads=[layer.pad] * 4))
        elif isinstance(layer, Dense):
            inits += [numpy_helper.from_array(layer.W, f"dense{i}.W"), numpy_helper.from_array(layer.b, f"dense{i}.b")]
            nodes.append(helper.make_node("Gemm", [x, f"dense{i}.W", f"dense{i}.b"], [y], name=f"dense{i}", transB=1))
        elif isinstance(layer, ReLU):
            nodes.append(helper.make_node("Relu", [x], [y], name=f"relu{i}"))
        elif isinstance(layer, MaxPool2d):
            nodes.append(helper.make_node("MaxPool", [x], [y], name=f"pool{i}", kernel_shape=[2, 2], strides=[2, 2]))
        elif isinstance(layer, Flatten):
            nodes.append(helper.make_node("Flatten", [x], [y], name=f"flatten{i}", axis=1))
        else:
            raise TypeError(f"cannot export layer {type(layer).__name__}")
        x = y
    graph = helper.make_graph(nodes, "mitchell_study", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                                      ["N", *in_shape])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", None])], inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="mitchell")
    onnx.checker.check_model(proto)
    if path is not None:
        onnx.save(proto, path)
    return proto
