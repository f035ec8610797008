"""
A network with two hidden layers: what do second-layer units look like?
=======================================================================

The essay points at 3Blue1Brown's network: 784 inputs, two hidden layers of
16 sigmoid units and 10 outputs. The hope drawn in its video is that the
first layer finds small strokes and the second combines them into loops and
lines. A first-layer unit can be drawn as its 784 weights; a second-layer
unit has only 16 incoming weights, one per first-layer unit, so to see it as
a picture we need a way into input space. This example tries two:

* the **effective weights**: multiply the two weight matrices,
  ``W_eff = W_1 @ W_0``, ignoring the sigmoid in between
  (:func:`mlpinspect.input_space_images`): a linear, first-order picture;
* the **preferred input**: the image of bounded size that drives the unit
  hardest, found by gradient ascent through the real, nonlinear network
  (:func:`mlpinspect.preferred_input`, "activation maximisation").
"""

# %%
# Train the 784-16-16-10 network
# ------------------------------
# Sigmoid units, quadratic cost, mini-batches of 10 and learning rate 3.0, as
# for the study's network.
import os

import matplotlib.pyplot as plt
import numpy as np

import mlpinspect
from mlpinspect.datasets import load_mnist_sample
from mlpinspect.plotting import plot_top_units, plot_weight_images

EPOCHS = 1 if os.environ.get("MLPINSPECT_EXAMPLES_QUICK") else 10

data = load_mnist_sample()
X, y = data.X_test, data.y_test
net = mlpinspect.Network([784, 16, 16, 10], seed=0)
net.fit(data.X_train, data.y_train, epochs=EPOCHS, learning_rate=3.0, progress=False)
print(f"test accuracy: {100 * net.score(X, y):.2f}%")

# %%
# The first layer
# ---------------
# As with the 30-unit network: no strokes, mostly noise with a smudge in the
# middle. ``layer=0`` is the first weight layer.
fig = plt.figure(figsize=(9.3, 3.2))
plot_weight_images(net, layer=0, fig=fig)

# %%
# The second layer in input space: effective weights
# --------------------------------------------------
# For ``layer=1``, :func:`~mlpinspect.plotting.plot_weight_images` draws each
# unit's row of ``W_1 @ W_0`` (``space="input"``, the default; ``space="own"``
# would draw its 16 weights as a 4 x 4 image instead).
fig = plt.figure(figsize=(9.3, 3.2))
plot_weight_images(net, layer=1, space="input", fig=fig)

# %%
# The effective weights are a weighted sum of the first layer's noisy
# images, so they are noisy too, but the averaging gives them more
# large-scale structure: compare the smoothness numbers.
effective = mlpinspect.effective_weights(net, layer=1)
print("exact (no nonlinearity in between)?", effective.exact)
first_layer = mlpinspect.smoothness(net, layer=0)
second_layer = mlpinspect.smoothness(effective.images())
print(f"smoothness, first layer (weights):            {first_layer.mean:+.3f}")
print(f"smoothness, second layer (effective weights): {second_layer.mean:+.3f}")

# %%
# The second layer through the real network: preferred inputs
# -----------------------------------------------------------
# The effective weights ignore the sigmoid between the layers, which is
# where the network is most nonlinear. Activation maximisation does not: it
# searches for the image that maximises the unit's pre-activation, keeping
# every pixel in [0, 1] (``box``) and the image's size (its L2 norm) about
# that of a real digit (the default ``norm``). All 16 units are searched at
# once.
preferred = mlpinspect.preferred_input(
    net, list(range(16)), layer=1, box=(0, 1), seed=0
)

fig, axes = plt.subplots(2, 8, figsize=(9.3, 3.4), layout="constrained")
for unit, ax in enumerate(axes.ravel()):
    ax.imshow(preferred.image[unit], cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(f"{unit}: z = {preferred.activation[unit]:.1f}", fontsize="small")
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle(
    "Layer 1: preferred input of each unit (pixels in [0, 1], ink dark)",
    fontsize="medium",
)

# %%
# How does the search compare with the best real digits, and with the
# linear picture? For each unit: the pre-activation the preferred input
# reaches, the largest over the 2,000 test images, the correlation between
# the preferred input and the effective weights, and the largest value the
# unit can reach at all: its bias plus its positive incoming weights (every
# first-layer sigmoid is between 0 and 1, so none can add more than its
# weight).
W1, b1 = net.weights[1], net.biases[1]
bound = b1 + np.maximum(W1, 0).sum(axis=1)
best_real = net.trace(X).pre[1].max(axis=0)
print("unit  preferred  best test image  upper bound  corr. with W_eff")
for unit in range(16):
    corr = np.corrcoef(preferred.image[unit].ravel(), effective.weight[unit])[0, 1]
    print(
        f"{unit:>4}  {preferred.activation[unit]:9.2f}  {best_real[unit]:15.2f}"
        f"  {bound[unit]:11.2f}  {corr:16.2f}"
    )

# %%
# **What to notice.** The search reaches the upper bound: it drives every
# first-layer unit that the second-layer unit weighs positively to 1 and
# every one it weighs negatively to 0. A second-layer unit is a vote over
# the first layer's units, and how high it can go is set by its 16 weights
# alone. The image that gets there is no stroke or loop but speckle, darkest
# where the effective weights are most positive (the correlation column):
# the first layer's weights are large and random, so many speckled patterns
# saturate it, including ink at the border, where no digit is ever written.
# The best test images come close to the same bound with real strokes.
# Neither picture looks like the strokes and loops the video hoped for; the
# unit is defined by what it does to the first layer, not by a shape.
#
# What each digit is built from
# -----------------------------
# The recipe of one digit in this network: its output weights (a 4 x 4
# image, one pixel per second-layer unit) and its top second-layer units by
# mean contribution on its own test images, drawn in input space.
fig = plt.figure(figsize=(8.4, 2.8))
plot_top_units(net, 8, k=3, by="contribution", X=X, y=y, fig=fig)

# %%
# Finally, the drift from initialisation of both layers: the second layer's
# 16 x 16 weights moved much further from their random start than the first
# layer's 16 x 784.
for layer in (0, 1):
    drift = mlpinspect.drift_from_init(net, layer=layer)
    print(
        f"layer {layer}: median cosine with the initial weights "
        f"{drift.median_cosine:.3f}, median relative change "
        f"{drift.median_relative_change:.2f}"
    )
