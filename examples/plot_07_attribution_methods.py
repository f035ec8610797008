"""
Comparing attribution methods on one network
============================================

An attribution method answers "which pixels made this output what it is?"
with one number per pixel. There are many, they often disagree, and they
promise different things. mlpinspect computes them through one call,
``mlpinspect.attribute(model, X, target, method=...)``, and every result
carries the check of its method's guarantee (``completeness_error``), so the
promises can be verified instead of trusted:

================================  ==========================================
method                            what the attributions add up to
================================  ==========================================
``gradient``                      nothing: a local slope per pixel
``gradient_x_input``              f(x) - f(0) only for bias-free ReLU or
                                  linear networks
``integrated_gradients``          f(x) - f(baseline): exactly on ReLU
                                  networks, in the limit of many steps on
                                  smooth ones
``deeplift``                      f(x) - f(baseline), exactly
``lrp`` (epsilon rule)            f(x), only without biases and epsilon = 0;
                                  for ReLU- or tanh-like units only
``occlusion``                     nothing: one pixel removed at a time
================================  ==========================================

Here f is the target output unit's pre-activation (its logit) and the
baseline a blank image. The methods are records in a registry
(``mlpinspect.analysis.attribution.registered_methods``), which is where the
list below comes from. We compare them on one image, first on the study's
sigmoid network, then on a ReLU network, and finish by measuring which maps
are *faithful* to the network.
"""

# %%
# The study's network and one image
# ---------------------------------
import os

import matplotlib.pyplot as plt
import numpy as np

import mlpinspect
from mlpinspect.analysis.attribution import registered_methods
from mlpinspect.datasets import load_mnist_sample
from mlpinspect.plotting import plot_attribution, plot_faithfulness

EPOCHS = 1 if os.environ.get("MLPINSPECT_EXAMPLES_QUICK") else 10
# The deterministic methods; the randomised ones (SmoothGrad, expected
# gradients) come at the end.
METHODS = list(registered_methods(randomized=False))

data = load_mnist_sample()
net = mlpinspect.Network([784, 30, 10], seed=0)
net.fit(data.X_train, data.y_train, epochs=EPOCHS, learning_rate=3.0, progress=False)

x = data.X_test[:1]  # the first test image, as a batch of one
target = int(net.predict(x)[0])  # explain the predicted digit's logit
print(f"image of a {data.y_test[0]}, predicted {target}")

# %%
# One call each
# -------------
# LRP passes relevance through each activation unchanged, which keeps its
# meaning only for sign-preserving units (ReLU, tanh, ...): on a sigmoid a
# negative pre-activation still gives a positive output, and LRP would flip
# the sign of every pixel feeding that unit. So LRP refuses this network,
# and says why.
results, refused = {}, {}
for method in METHODS:
    try:
        results[method] = mlpinspect.attribute(net, x, target, method=method)
    except mlpinspect.InvalidParameterError as exc:
        refused[method] = exc
        print(f"{method}: {exc}")


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
# sigmoids. The gradient and occlusion promise no total at all.
#
# The maps
# --------
# Each column is one method (blue: the pixel raises the logit, red: lowers
# it), each on its own colour scale since the methods measure different
# things; the second row overlays the map on the image.
fig = plt.figure(figsize=(12, 4.8))
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
# Zennit's EpsilonPlus read for an MLP: z+ on the hidden layer, epsilon on the
# output layer.
relu_results["lrp, epsilon_plus"] = mlpinspect.attribute(
    relu_net, x, relu_target, method="lrp", composite="epsilon_plus"
)
completeness_table(relu_results)
print()
agreement_table(relu_results)
ig = relu_results["integrated_gradients"]
print(f"\nintegrated gradients used the {ig.options['rule']!r} rule")

# %%
# **What to notice.** On ReLU units the methods agree much better. LRP with
# epsilon = 0 and gradient x input give the *same* map (correlation 1.00):
# for a ReLU network the two are identical, a known result that this
# comparison confirms. DeepLIFT is still exact, and so are integrated
# gradients: on a piecewise-linear network every pre-activation is piecewise
# linear along the path, so mlpinspect finds the points where ReLUs switch
# and integrates exactly (``rule="exact"``, chosen automatically). A
# quadrature would leave an error that falls only like ``1 / n_steps``:
quadrature = mlpinspect.attribute(
    relu_net, x, relu_target, rule="gauss_legendre", n_steps=50
)
print(
    f"completeness error: exact {ig.completeness_error[0]:+.1e}, "
    f"50 Gauss-Legendre steps {quadrature.completeness_error[0]:+.1e}"
)
fig = plt.figure(figsize=(12, 4.4))
plot_attribution(relu_results, fig=fig)

# %%
# Which maps are faithful?
# ------------------------
# Maps that disagree cannot all describe the network well. Pixel flipping
# measures it: delete the pixels a map ranks most relevant first (set them
# to the baseline) and watch the logit; a faithful map makes it fall fast
# (a small area under the deletion curve). Inserting them into a blank image
# should make it rise fast (a large area). The curves below average 100 test
# images; SmoothGrad (the gradient averaged over noisy copies of the image,
# reproducible from its seed) joins the comparison.
X100 = data.X_test[:100]
targets = relu_net.predict(X100)
curves = {}
for method, options in [
    ("gradient", {}),
    ("smoothgrad", {"seed": 0, "nt_samples": 10, "stdevs": 0.1}),
    ("integrated_gradients", {}),
    ("deeplift", {}),
    ("occlusion", {}),
]:
    result = mlpinspect.attribute(relu_net, X100, targets, method=method, **options)
    curves[method] = mlpinspect.deletion_curve(relu_net, result, n_steps=20)
    curves[method + " "] = mlpinspect.insertion_curve(relu_net, result, n_steps=20)
    infid = mlpinspect.infidelity(relu_net, result, seed=0).mean()
    print(
        f"{method:<22} deletion area {curves[method].auc.mean():7.3f}  "
        f"insertion area {curves[method + ' '].auc.mean():7.3f}  "
        f"infidelity {infid:.3g}"
    )
fig = plt.figure(figsize=(10, 4))
plot_faithfulness(curves, fig=fig)

# %%
# **What to notice.** The methods that account for where the ink is
# (integrated gradients, DeepLIFT, occlusion) bring the logit down much
# faster than the bare gradient, whose top pixels are often blank paper
# where the network never looks. These are numbers about *this* network and
# *these* images, which is the point: compare the methods on your own model
# before trusting any one map.
