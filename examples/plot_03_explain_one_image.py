"""
Why was this image classified as it was?
========================================

One test image, one decision, explained twice:

1. **Exact decomposition.** An output unit's pre-activation (its "logit" z)
   is a sum: ``z = bias + sum_j w_j a_j`` over the 30 hidden units. The terms
   ``w_j a_j`` are the hidden units' contributions, and they add up to z
   exactly, not approximately. The same holds one layer down: a hidden
   unit's pre-activation is its bias plus one contribution per pixel.
2. **Pixel attributions.** Methods such as integrated gradients and DeepLIFT
   assign the whole decision to the input pixels at once, through the
   nonlinearities. They come with a *completeness* guarantee: the
   attributions add up to the change of the output between a baseline input
   (here a blank image) and the image. mlpinspect reports how well each
   result keeps it.

We pick an image the network gets *wrong*, which makes the question
interesting: why this digit and not the right one?
"""

# %%
# A trained network and a mistake
# -------------------------------
import os

import matplotlib.pyplot as plt
import numpy as np

import mlpinspect
from mlpinspect.datasets import load_mnist_sample
from mlpinspect.plotting import plot_attribution, plot_decomposition

EPOCHS = 1 if os.environ.get("MLPINSPECT_EXAMPLES_QUICK") else 10

data = load_mnist_sample()
X, y = data.X_test, data.y_test
net = mlpinspect.Network([784, 30, 10], seed=0)
net.fit(data.X_train, data.y_train, epochs=EPOCHS, learning_rate=3.0, progress=False)

predictions = net.predict(X)
mistakes = np.flatnonzero(predictions != y)
index = int(mistakes[0]) if mistakes.size else 0
x = X[index : index + 1]  # keep a batch of one: shape (1, 784)
true, predicted = int(y[index]), int(predictions[index])
print(f"test image {index}: a {true}, classified as {predicted}")
print("outputs:", np.round(net.forward(x)[0], 3))

# %%
# Decompose the output layer
# --------------------------
# :func:`mlpinspect.decompose` splits every output unit's pre-activation into
# the contributions of the 30 hidden units. ``contributions`` has shape
# (images, output units, hidden units).
dec = mlpinspect.decompose(net, x, layer=-1)
print("contributions:", dec.contributions.shape)

z = net.trace(x).pre[-1][0]  # the logits as the forward pass computes them
rebuilt = dec.contributions[0].sum(axis=-1) + dec.bias
print(f"z of '{predicted}': forward pass {z[predicted]:+.12f}")
print(f"         bias + sum of 30 terms {rebuilt[predicted]:+.12f}")
print(f"largest |difference| over the 10 outputs: {np.abs(rebuilt - z).max():.1e}")

# %%
# The difference is float rounding (about 1e-15): nothing is approximated.
#
# Here are the two competing outputs as waterfalls: start at the bias (top),
# add each hidden unit's contribution (blue adds, red subtracts; the ten
# largest get their own bar, the others are summed), and end at z (bottom).
fig, axes = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
plot_decomposition(dec, sample=0, unit=predicted, top=10, ax=axes[0])
plot_decomposition(dec, sample=0, unit=true, top=10, ax=axes[1])

# %%
# Why the wrong digit won
# -----------------------
# The decision between the two digits is the sign of ``z[predicted] -
# z[true]``. Because both logits are exact sums, so is their difference: one
# term per hidden unit plus the difference of the biases.
difference = dec.contributions[0, predicted] - dec.contributions[0, true]
bias_difference = dec.bias[predicted] - dec.bias[true]
order = np.argsort(-np.abs(difference))
print(f"z[{predicted}] - z[{true}] = {z[predicted] - z[true]:+.4f}")
print(f"  = bias difference {bias_difference:+.4f}")
for unit in order[:5]:
    print(f"  + hidden unit {unit:2d}: {difference[unit]:+.4f}")
rest = difference[order[5:]].sum()
print(f"  + the other 25 units: {rest:+.4f}")
print(f"  = {bias_difference + difference.sum():+.4f}")

# %%
# One layer down: which pixels drive the decisive hidden unit?
# ------------------------------------------------------------
# Take the hidden unit that tips the balance most towards the wrong digit
# and decompose *its* pre-activation over the 784 pixels (``layer=0``). The
# figure shows the image, each pixel's contribution ``w x pixel`` (blue
# raises the unit, red lowers it; blank pixels contribute exactly 0), and
# the largest pixel contributions as a waterfall.
decisive = int(np.argmax(difference))
dec0 = mlpinspect.decompose(net, x, layer=0, units=[decisive])
error0 = np.abs(dec0.completeness_error).max()
print(
    f"hidden unit {decisive}: z = {dec0.pre_activation[0, 0]:+.4f} (error {error0:.1e})"
)
fig = plt.figure(figsize=(11.7, 5.6))
plot_decomposition(dec0, sample=0, unit=decisive, top=12, fig=fig)

# %%
# Pixel attributions through the whole network
# --------------------------------------------
# :func:`mlpinspect.attribute` explains an output in terms of the pixels
# directly. ``target`` says which output: a class index, or a vector of
# weights over the outputs. The vector ``+1`` on the predicted digit and
# ``-1`` on the true one attributes the *margin* ``z[predicted] - z[true]``:
# which pixels make the image look more like the wrong digit than the right
# one. The baseline is a blank image (all zeros).
margin = np.zeros(10)
margin[predicted], margin[true] = 1.0, -1.0

results = {
    f"IG, z[{predicted}]": mlpinspect.attribute(
        net, x, predicted, method="integrated_gradients"
    ),
    f"IG, z[{predicted}] - z[{true}]": mlpinspect.attribute(
        net, x, margin, method="integrated_gradients"
    ),
    f"DeepLIFT, z[{predicted}] - z[{true}]": mlpinspect.attribute(
        net, x, margin, method="deeplift"
    ),
}

print(f"{'attribution':<26} {'sum':>10} {'f(x) - f(0)':>12} {'completeness error':>19}")
for name, result in results.items():
    explained = result.output[0] - result.baseline_output[0]
    print(
        f"{name:<26} {result.values.sum():10.6f} {explained:12.6f} "
        f"{result.completeness_error[0]:19.1e}"
    )

# %%
# **What to notice.** Both methods keep completeness: the pixel attributions
# add up to the change of the output from the blank image to this one, to
# about 1e-13 for integrated gradients (a 50-node quadrature of a smooth
# integral) and to rounding for DeepLIFT (exact by construction). The maps
# show blue ink that pushes towards the wrong digit and red ink that
# argues for the right one; blank pixels get nothing, since they do not
# differ from the baseline.
fig = plt.figure(figsize=(9, 6))
plot_attribution(results, fig=fig)
