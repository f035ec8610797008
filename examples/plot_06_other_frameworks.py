"""
Inspecting scikit-learn and PyTorch models
==========================================

mlpinspect is not tied to its own :class:`~mlpinspect.Network`. Every
analysis and figure accepts any model :func:`mlpinspect.adapt` understands:
a scikit-learn ``MLPClassifier``, a PyTorch ``nn.Sequential``, a Keras model,
an ONNX file, plain weight lists. The adapter reads the weights once into
mlpinspect's read-only :class:`~mlpinspect.MLP` view (weights stored
``(out, in)``; scikit-learn's ``(in, out)`` matrices are transposed), and
the analyses never import the framework themselves.

This example trains a scikit-learn model and a PyTorch model the way their
own tutorials would (pretend they were trained elsewhere and handed to you),
checks that the adapted view computes exactly what the framework computes,
and then inspects both with the same calls as the earlier examples.

If scikit-learn or PyTorch is not installed, its part is skipped with a
message (``pip install 'mlpinspect[sklearn]'`` or ``'mlpinspect[torch]'``).
"""

# %%
# The data
# --------
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

import mlpinspect
from mlpinspect.datasets import load_mnist_sample
from mlpinspect.plotting import plot_top_units, plot_weight_images

EPOCHS = 1 if os.environ.get("MLPINSPECT_EXAMPLES_QUICK") else 10

data = load_mnist_sample()  # float32 pixels in [0, 1], rows of 784
X_train, y_train = data.X_train, data.y_train
X_test, y_test = data.X_test, data.y_test

# %%
# scikit-learn: an ``MLPClassifier``
# ----------------------------------
# 30 logistic (sigmoid) hidden units like the study's network; scikit-learn
# adds a softmax output layer and trains with Adam on the log-loss.
try:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
except ImportError:
    MLPClassifier = None
    print("scikit-learn is not installed: skipping the scikit-learn part")

if MLPClassifier is not None:
    clf = MLPClassifier(
        hidden_layer_sizes=(30,), activation="logistic", max_iter=EPOCHS, random_state=0
    )
    # Stopping after a few epochs is deliberate: silence the warning that the
    # optimiser has not converged. Matrices this small train fastest on one
    # thread, so we also keep BLAS to one.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    print(f"scikit-learn test accuracy: {100 * clf.score(X_test, y_test):.2f}%")

    # The adapted view. scikit-learn does not know the images are 28 x 28,
    # so we say it; the class names come from clf.classes_.
    sk_mlp = mlpinspect.adapt(clf, input_shape=(28, 28))
    print(sk_mlp, sk_mlp.class_names)

# %%
# Does the adapted view compute what scikit-learn computes? Compare the
# class probabilities on every test image.
if MLPClassifier is not None:
    ours = sk_mlp.forward(X_test)
    theirs = clf.predict_proba(X_test)
    sk_difference = float(np.abs(ours - theirs).max())
    print(f"largest |difference| of the probabilities: {sk_difference:.1e}")
    print(
        "same predictions:",
        bool(np.array_equal(sk_mlp.predict(X_test), clf.predict(X_test))),
    )

# %%
# Now the same questions as for the study's network. Every function also
# takes the classifier itself (``mlpinspect.top_units(clf, "3")`` adapts it
# on the fly); the adapted view just saves repeating the input shape. The
# output units are named after the classes, so a digit can be asked for by
# name.
if MLPClassifier is not None:
    print(mlpinspect.top_units(sk_mlp, "8", k=3, by="weight"))
    print()
    print(mlpinspect.top_units(sk_mlp, "8", k=3, by="contribution", X=X_test, y=y_test))

    fig = plt.figure(figsize=(11.4, 4.3))
    plot_weight_images(sk_mlp, fig=fig)

# %%
# **What to notice.** These hidden units look nothing like the study's
# noise: smooth strokes and blobs of blue and red. scikit-learn starts from
# small weights scaled to the fan-in (Glorot's uniform scheme), so its
# sigmoids do not saturate and training can reshape them, and its default
# ``alpha`` adds a little L2 regularisation (example 5 makes the same point
# with mlpinspect's own network). Its top units for "8", by contribution:
if MLPClassifier is not None:
    fig = plt.figure(figsize=(8.4, 2.8))
    plot_top_units(sk_mlp, "8", k=3, by="contribution", X=X_test, y=y_test, fig=fig)

# %%
# PyTorch: an ``nn.Sequential``
# -----------------------------
# A standard PyTorch training loop: the model outputs logits (no softmax
# layer; ``CrossEntropyLoss`` applies it), trained with Adam on mini-batches
# of 100.
try:
    import torch
    from torch import nn
except ImportError:
    torch = None
    print("PyTorch is not installed: skipping the PyTorch part")

if torch is not None:
    torch.manual_seed(0)
    # A model this small trains fastest on one thread.
    torch.set_num_threads(1)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(784, 30), nn.Sigmoid(), nn.Linear(30, 10)
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_function = nn.CrossEntropyLoss()
    inputs, labels = torch.from_numpy(X_train), torch.from_numpy(y_train)
    for _ in range(EPOCHS):
        order = torch.randperm(len(inputs))
        for start in range(0, len(inputs), 100):
            batch = order[start : start + 100]
            optimiser.zero_grad()
            loss = loss_function(model(inputs[batch]), labels[batch])
            loss.backward()
            optimiser.step()
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(X_test)).numpy()
    print(f"PyTorch test accuracy: {100 * np.mean(logits.argmax(1) == y_test):.2f}%")

    torch_mlp = mlpinspect.adapt(model, input_shape=(28, 28))
    print(torch_mlp)

# %%
# The same check: the adapted view's outputs against the model's logits. The
# model computes in float32 and so does the view (it keeps the weights'
# dtype), so they agree to float32 rounding (about 1e-6), not bit for bit.
if torch is not None:
    torch_difference = float(np.abs(torch_mlp.forward(X_test) - logits).max())
    print(f"largest |difference| of the logits: {torch_difference:.1e}")
    print(
        "same predictions:",
        bool(np.array_equal(torch_mlp.predict(X_test), logits.argmax(1))),
    )

# %%
# And the same analyses. The model has no class names, so digits are output
# unit indices.
if torch is not None:
    print(mlpinspect.top_units(torch_mlp, 8, k=3, by="weight"))
    print()
    print(
        mlpinspect.top_units(torch_mlp, 8, k=3, by="contribution", X=X_test, y=y_test)
    )

    fig = plt.figure(figsize=(11.4, 4.3))
    plot_weight_images(torch_mlp, fig=fig)

# %%
# **What to notice.** PyTorch also starts small (``nn.Linear`` draws weights
# uniformly in ±1/sqrt(fan-in)), but here the strongest weights sit near the
# rim of the image, where ink is rare. That is Adam at work, with a learning
# rate ten times scikit-learn's: it divides each weight's step by the typical
# size of that weight's recent gradients, so a weight from a pixel that is
# rarely inked takes steps as large as one from the centre whenever it does
# see ink. (Train with ``torch.optim.SGD`` instead and those weights barely
# move.) The optimiser, not only the data, shapes what the pictures show.
# The recipe of "8" in this model:
if torch is not None:
    fig = plt.figure(figsize=(8.4, 2.8))
    plot_top_units(torch_mlp, 8, k=3, by="contribution", X=X_test, y=y_test, fig=fig)

# %%
# Other frameworks
# ----------------
# Keras 3 models and ONNX files (a path or an ``onnx.ModelProto``) are
# adapted the same way; :func:`mlpinspect.registered_adapters` lists what
# this installation understands, and :func:`mlpinspect.register_adapter`
# adds your own.
for adapter in mlpinspect.registered_adapters():
    print(f"{adapter.name:>10}: {getattr(adapter, 'description', '')}")
