"""
Comparing attribution methods on one network
============================================

An attribution method answers "which pixels made this output what it is?"
with one number per pixel. There are many, they often disagree, and they
promise different things. mlpinspect computes six of them through one call,
``mlpinspect.attribute(model, X, target, method=...)``, and every result
carries the check of its method's guarantee (``completeness_error``), so the
promises can be verified instead of trusted:

================================  ==========================================
method                            what the attributions add up to
================================  ==========================================
``gradient``                      nothing: a local slope per pixel
``gradient_x_input``              f(x) - f(0) only for bias-free ReLU or
                                  linear networks
``integrated_gradients``          f(x) - f(baseline), in the limit of many
                                  integration steps
``deeplift``                      f(x) - f(baseline), exactly
``lrp`` (epsilon rule)            f(x), only without biases and epsilon = 0
``occlusion``                     nothing: one pixel removed at a time
================================  ==========================================

Here f is the target output unit's pre-activation (its logit) and the
baseline a blank image. We compare the six on one image, first on the
study's sigmoid network, then on a ReLU network.
"""

# %%
# The study's network and one image
# ---------------------------------
import os

import matplotlib.pyplot as plt
import numpy as np

import mlpinspect
from mlpinspect.datasets import load_mnist_sample
from mlpinspect.plotting import plot_attribution

EPOCHS = 1 if os.environ.get("MLPINSPECT_EXAMPLES_QUICK") else 10
METHODS = [
    "gradient",
    "gradient_x_input",
    "integrated_gradients",
    "deeplift",
    "lrp",
    "occlusion",
]

data = load_mnist_sample()
net = mlpinspect.Network([784, 30, 10], seed=0)
net.fit(data.X_train, data.y_train, epochs=EPOCHS, learning_rate=3.0, progress=False)

x = data.X_test[:1]  # the first test image, as a batch of one
target = int(net.predict(x)[0])  # explain the predicted digit's logit
print(f"image of a {data.y_test[0]}, predicted {target}")

# %%
# Six methods, one call each
# --------------------------
results = {
    method: mlpinspect.attribute(net, x, target, method=method) for method in METHODS
}


def completeness_table(results):
    """Print, per method, the sum of the attributions and its completeness error."""
    print(f"{'method':<22}{'sum of attributions':>21}{'completeness error':>20}")
    for method, result in results.items():
        error = result.completeness_error
        text = "(no guarantee)" if error is None else f"{error[0]:+.2e}"
        print(f"{method:<22}{result.values.sum():21.6f}{text:>20}")


print(f"logit f(x) = {results['deeplift'].output[0]:+.6f}")
print(f"logit at the blank image f(0) = {results['deeplift'].baseline_output[0]:+.6f}")
print()
completeness_table(results)

# %%
# **What to notice.** Integrated gradients and DeepLIFT keep their promise:
# the attributions add up to f(x) - f(0) to within 1e-13 or better.
# Gradient x input misses by a lot: its guarantee needs a network without
# biases whose units are linear or ReLU, and this one has biases and
# sigmoids. LRP is off too, for the same reasons: every bias absorbs a share
# of the relevance. The gradient and occlusion promise no total at all.
#
# The maps
# --------
# Each column is one method (blue: the pixel raises the logit, red: lowers
# it), each on its own colour scale since the methods measure different
# things; the second row overlays the map on the image.
fig = plt.figure(figsize=(13.3, 5))
plot_attribution(results, fig=fig)

# %%
# How much do the methods agree? The correlation between the maps, pixel by
# pixel:


def agreement_table(results):
    """Print the correlation between every pair of attribution maps."""
    names = list(results)
    maps = np.array([results[name].values.ravel() for name in names])
    correlation = np.corrcoef(maps)
    short = [name[:8] for name in names]
    print(" " * 22 + "".join(f"{s:>9}" for s in short))
    for name, row in zip(names, correlation):
        print(f"{name:<22}" + "".join(f"{r:9.2f}" for r in row))


agreement_table(results)

# %%
# **What to notice.** Integrated gradients and DeepLIFT are almost the same
# map. Occlusion (which removes one pixel at a time) and gradient x input
# (its first-order estimate) usually agree closely with each other. The bare
# gradient is its own thing: it says how the logit would react to *more*
# ink, also where there is none, and on blank paper it mostly reads the
# random initial weights that training never touched (see the first
# example).
#
# And LRP may even come out *anti*-correlated with the rest. Its rules assume
# ReLU-like units, whose output equals their pre-activation when they are
# on. A sigmoid unit with a negative pre-activation still outputs a positive
# value and passes relevance on, and dividing by that negative
# pre-activation flips the sign of every pixel feeding it. On sigmoid
# networks, read LRP maps with care.
#
# Integrated gradients: how many steps?
# -------------------------------------
# Integrated gradients average the gradient along the straight path from the
# baseline to the image; the integral is computed by a quadrature rule with
# ``n_steps`` nodes. The completeness error measures how good that is.
steps = [2, 4, 8, 16, 32, 64]
rules = ["gauss_legendre", "riemann_trapezoid", "riemann_middle"]
errors = np.array(
    [
        [
            abs(
                mlpinspect.attribute(
                    net, x, target, n_steps=n, rule=rule
                ).completeness_error[0]
            )
            for n in steps
        ]
        for rule in rules
    ]
)
print(f"{'rule / n_steps':<18}" + "".join(f"{n:>9}" for n in steps))
for rule, row in zip(rules, errors):
    print(f"{rule:<18}" + "".join(f"{e:9.0e}" for e in row))

fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
for rule, row in zip(rules, errors):
    ax.plot(steps, np.maximum(row, 1e-16), marker="o", label=rule)
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xticks(steps, [str(n) for n in steps])
ax.minorticks_off()
ax.set_xlabel("n_steps")
ax.set_ylabel("|completeness error|")
ax.set_title("Integrated gradients on the sigmoid network", fontsize="medium")
ax.legend(fontsize="small")
ax.grid(color="0.9")

# %%
# On a smooth (sigmoid) network, Gauss-Legendre quadrature, the default,
# reaches rounding error with a few dozen steps; the Riemann sums improve by
# a factor of only 2 to 4 per doubling of ``n_steps`` and would need
# thousands of times more steps for the same accuracy.
#
# The same comparison on a ReLU network
# -------------------------------------
# A ReLU hidden layer with a softmax output, trained on the cross-entropy
# cost. We still attribute the logit.
relu_net = mlpinspect.Network(
    [784, 30, 10], activation=["relu", "softmax"], init="he", seed=0
)
relu_net.fit(
    data.X_train,
    data.y_train,
    epochs=EPOCHS,
    learning_rate=0.1,
    cost="cross_entropy",
    progress=False,
)
relu_target = int(relu_net.predict(x)[0])
relu_results = {
    method: mlpinspect.attribute(relu_net, x, relu_target, method=method)
    for method in METHODS
}
relu_results["lrp, epsilon=0"] = mlpinspect.attribute(
    relu_net, x, relu_target, method="lrp", epsilon=0.0
)
completeness_table(relu_results)
print()
agreement_table(relu_results)

# %%
# **What to notice.** On ReLU units the methods agree much better. LRP with
# epsilon = 0 and gradient x input give the *same* map (correlation 1.00):
# for a ReLU network the two are identical, a known result that this
# comparison confirms. DeepLIFT is still exact; integrated gradients now
# leave a visible error, because the path from the blank image crosses ReLU
# kinks, where the integrand jumps and every quadrature rule converges
# slowly (raise ``n_steps`` to shrink it).
fig = plt.figure(figsize=(15, 5))
plot_attribution(relu_results, fig=fig)
