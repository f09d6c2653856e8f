"""Export a :class:`pymodel.nn.study.Model` (the study's MLP/CNN) to ONNX.

Used to run the study's own trained networks back through the importer: the graph
has the same arithmetic (Conv with ``W`` as is, Gemm with ``transB=1``, Relu,
2x2 MaxPool, Flatten), so float and int results match the native layers.
"""

import numpy as np

from .layers import Conv2d, Dense, Flatten, MaxPool2d, ReLU

__all__ = ["export_onnx", "resnet20", "vit_tiny"]


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


def resnet20(rng, n_classes=10, width=16):
    """ONNX ModelProto of a CIFAR ResNet-20 (3 stages x 3 basic blocks, BatchNorm after every conv,
    1x1 projection shortcuts, global average pool, Gemm) with random weights, for benchmarks and tests:
    about 41 M MACs per 3x32x32 image."""
    from onnx import TensorProto, helper, numpy_helper
    nodes, inits = [], []
    count = [0]

    def name(prefix):
        count[0] += 1
        return f"{prefix}{count[0]}"

    def const(arr, prefix):
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(arr, np.float32), n))
        return n

    def conv_bn(x, c_in, c_out, k, stride, relu):
        w = const(rng.standard_normal((c_out, c_in, k, k)) * np.sqrt(2.0 / (c_in * k * k)), "w")
        c, b = name("conv"), name("bn")
        nodes.append(helper.make_node("Conv", [x, w], [c], name=c, kernel_shape=[k, k], strides=[stride] * 2,
                                      pads=[k // 2] * 4))
        bn = [const(rng.uniform(0.5, 1.5, c_out), "g"), const(rng.normal(0, 0.1, c_out), "b"),
              const(rng.normal(0, 0.1, c_out), "m"), const(rng.uniform(0.5, 1.5, c_out), "v")]
        nodes.append(helper.make_node("BatchNormalization", [c] + bn, [b], name=b, epsilon=1e-5))
        if not relu:
            return b
        r = name("relu")
        nodes.append(helper.make_node("Relu", [b], [r], name=r))
        return r

    x = conv_bn("input", 3, width, 3, 1, True)
    c_in = width
    for stage, c_out in enumerate((width, 2 * width, 4 * width)):
        for block in range(3):
            stride = 2 if stage > 0 and block == 0 else 1
            h = conv_bn(x, c_in, c_out, 3, stride, True)
            h = conv_bn(h, c_out, c_out, 3, 1, False)
            short = x if stride == 1 and c_in == c_out else conv_bn(x, c_in, c_out, 1, stride, False)
            a, r = name("add"), name("relu")
            nodes += [helper.make_node("Add", [h, short], [a], name=a), helper.make_node("Relu", [a], [r], name=r)]
            x, c_in = r, c_out
    p, f = name("gap"), name("flat")
    nodes += [helper.make_node("GlobalAveragePool", [x], [p], name=p),
              helper.make_node("Flatten", [p], [f], name=f)]
    w = const(rng.standard_normal((n_classes, c_in)) * np.sqrt(1.0 / c_in), "fc")
    b = const(np.zeros(n_classes), "fcb")
    nodes.append(helper.make_node("Gemm", [f, w, b], ["logits"], name="fc", transB=1))
    graph = helper.make_graph(nodes, "resnet20", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                                ["N", 3, 32, 32])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", n_classes])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def vit_tiny(rng, *, image=16, patch=4, channels=3, dim=32, heads=2, depth=2, mlp=64, n_classes=10, pool="mean"):
    """ONNX ModelProto of a small ViT-style encoder with random (``rng``-seeded) weights, for tests and
    benchmarks, written as PyTorch exports a ViT at opset 17: patch embedding (a Conv of stride ``patch``),
    position embedding, ``depth`` pre-norm blocks of multi-head self-attention (``Q @ K^T`` and
    ``P @ V`` as MatMuls of two activations, heads split by Reshape/Transpose/Gather, scores scaled by a
    constant Mul, Softmax) and an MLP with the erf GELU (Div, Erf, Add, Mul, Mul), LayerNormalization,
    residual Adds, a final LayerNormalization, mean pooling over the tokens (ReduceMean) and a Gemm head.
    ``pool="cls"``: a class token instead (a constant Expanded to the batch with Shape, Gather, Unsqueeze
    and Concat, as PyTorch exports it, Concatenated before the patches; the head reads its output).

    The defaults (16x16 images, 4x4 patches, dim 32, 2 heads, 2 blocks) give 16 tokens and about
    0.32 M MACs per image."""
    from onnx import TensorProto, helper, numpy_helper
    if image % patch or dim % heads:
        raise ValueError(f"image {image} must be a multiple of patch {patch}, dim {dim} of heads {heads}")
    if pool not in ("mean", "cls"):
        raise ValueError(f"pool must be 'mean' or 'cls', got {pool!r}")
    patches, hd = (image // patch) ** 2, dim // heads
    tokens = patches + (pool == "cls")
    nodes, inits = [], []
    count = [0]

    def name(prefix):
        count[0] += 1
        return f"{prefix}_{count[0]}"

    def const(arr, prefix, dtype=np.float32):
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype), n))
        return n

    def op(kind, ins, prefix, **attrs):
        out = name(prefix)
        nodes.append(helper.make_node(kind, ins, [out], name=out, **attrs))
        return out

    def linear(x, n_in, n_out, prefix):
        w = const(rng.standard_normal((n_in, n_out)) / np.sqrt(n_in), prefix + "_w")
        return op("Add", [op("MatMul", [x, w], prefix), const(rng.normal(0, 0.02, n_out), prefix + "_b")],
                  prefix + "_add")

    def layer_norm(x, prefix):
        return op("LayerNormalization", [x, const(1 + rng.normal(0, 0.1, dim), prefix + "_g"),
                                         const(rng.normal(0, 0.1, dim), prefix + "_b")], prefix, axis=-1,
                  epsilon=1e-5)

    w = const(rng.standard_normal((dim, channels, patch, patch)) / np.sqrt(channels * patch * patch), "patch_w")
    x = op("Conv", ["input", w, const(rng.normal(0, 0.02, dim), "patch_b")], "patch_embed",
           kernel_shape=[patch, patch], strides=[patch, patch])
    x = op("Reshape", [x, const([0, dim, patches], "shape", np.int64)], "flatten")
    x = op("Transpose", [x], "tokens", perm=[0, 2, 1])                                 # (N, patches, dim)
    if pool == "cls":
        n = op("Unsqueeze", [op("Gather", [op("Shape", [x], "shape_of"), const(0, "idx", np.int64)], "batch", axis=0),
                             const([0], "axes", np.int64)], "batch_1d")
        shape = op("Concat", [n, const([1, dim], "shape", np.int64)], "cls_shape", axis=0)
        cls = op("Expand", [const(rng.normal(0, 0.1, (1, 1, dim)), "cls"), shape], "cls_tokens")
        x = op("Concat", [cls, x], "with_cls", axis=1)                                 # (N, 1 + patches, dim)
    x = op("Add", [x, const(rng.normal(0, 0.1, (1, tokens, dim)), "pos")], "pos_add")
    for blk in range(depth):
        p = f"b{blk}_"
        qkv = linear(layer_norm(x, p + "ln1"), dim, 3 * dim, p + "qkv")
        qkv = op("Reshape", [qkv, const([0, tokens, 3, heads, hd], "shape", np.int64)], p + "split_heads")
        qkv = op("Transpose", [qkv], p + "qkv_t", perm=[2, 0, 3, 1, 4])              # (3, N, heads, tokens, hd)
        q, k, v = (op("Gather", [qkv, const(i, "idx", np.int64)], p + "qkv"[i], axis=0) for i in range(3))
        kt = op("Transpose", [k], p + "k_t", perm=[0, 1, 3, 2])
        s = op("Mul", [op("MatMul", [q, kt], p + "scores"), const(1 / np.sqrt(hd), "scale")], p + "scaled")
        a = op("MatMul", [op("Softmax", [s], p + "softmax", axis=-1), v], p + "attn_v")
        a = op("Transpose", [a], p + "merge_t", perm=[0, 2, 1, 3])
        a = op("Reshape", [a, const([0, tokens, dim], "shape", np.int64)], p + "merge_heads")
        x = op("Add", [x, linear(a, dim, dim, p + "proj")], p + "res1")
        h = linear(layer_norm(x, p + "ln2"), dim, mlp, p + "fc1")
        erf = op("Erf", [op("Div", [h, const(np.sqrt(2.0), "sqrt2")], p + "gelu_div")], p + "gelu_erf")
        h = op("Mul", [op("Mul", [h, op("Add", [erf, const(1.0, "one")], p + "gelu_add")], p + "gelu_mul"),
                       const(0.5, "half")], p + "gelu")
        x = op("Add", [x, linear(h, mlp, dim, p + "fc2")], p + "res2")
    if pool == "cls":
        x = op("Gather", [layer_norm(x, "ln_f"), const(0, "idx", np.int64)], "pool", axis=1)
    else:
        x = op("ReduceMean", [layer_norm(x, "ln_f")], "pool", axes=[1], keepdims=0)
    w = const(rng.standard_normal((n_classes, dim)) / np.sqrt(dim), "head_w")
    nodes.append(helper.make_node("Gemm", [x, w, const(np.zeros(n_classes), "head_b")], ["logits"], name="head",
                                  transB=1))
    graph = helper.make_graph(nodes, "vit_tiny", [helper.make_tensor_value_info(
        "input", TensorProto.FLOAT, ["N", channels, image, image])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", n_classes])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8              # readable by every onnxruntime >= 1.17
    return m
