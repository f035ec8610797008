"""
The recipe of each digit: top units by weight and by contribution
=================================================================

The essay read each digit's "recipe" off its output unit's weights: the three
most positive weights name the hidden units the digit relies on (excitatory),
the three most negative the units that argue against it (inhibitory).

A weight only says how strongly a hidden unit *would* push the digit if the
unit were active. What it actually adds on a real image is its
**contribution**, weight x activation; the digit's pre-activation is exactly
the sum of the 30 contributions plus the bias. This example ranks the hidden
units both ways, shows where the two rankings disagree, and checks with an
ablation which ranking names the units a digit really depends on.
"""

# %%
# Train the study's network
# -------------------------
import os

import matplotlib.pyplot as plt
import numpy as np

import mlpinspect
from mlpinspect.datasets import load_mnist_sample
from mlpinspect.plotting import plot_class_contributions, plot_recipes

EPOCHS = 1 if os.environ.get("MLPINSPECT_EXAMPLES_QUICK") else 10
K = 3  # units per list, as in the essay

data = load_mnist_sample()
X, y = data.X_test, data.y_test
net = mlpinspect.Network([784, 30, 10], seed=0)
net.fit(data.X_train, data.y_train, epochs=EPOCHS, learning_rate=3.0, progress=False)
print(f"test accuracy after {EPOCHS} epochs: {100 * net.score(X, y):.2f}%")

# %%
# Two rankings of the same units
# ------------------------------
# :func:`mlpinspect.top_units` ranks the incoming connections of one unit.
# ``by="weight"`` ranks the weights, as the essay did. ``by="contribution"``
# ranks the mean of weight x activation over the test images; with the labels
# ``y`` it averages over the digit's *own* images only: what the output unit
# of "8" uses when it sees eights.
by_weight = [mlpinspect.top_units(net, digit, k=K) for digit in range(10)]
by_contribution = [
    mlpinspect.top_units(net, digit, k=K, by="contribution", X=X, y=y)
    for digit in range(10)
]

# One digit in full: the units and their values.
print(by_weight[8])
print()
print(by_contribution[8])

# %%
# The whole table, both rankings side by side. The "shared" columns count the
# units that appear in both lists.


def units_text(units):
    return " ".join(f"{u:2d}" for u in units)


print("digit   excitatory units             inhibitory units")
print("        by weight  by contrib.  shared   by weight  by contrib.  shared")
for digit in range(10):
    w, c = by_weight[digit], by_contribution[digit]
    shared_exc = len(set(w.excitatory) & set(c.excitatory))
    shared_inh = len(set(w.inhibitory) & set(c.inhibitory))
    print(
        f"{digit:>5}   {units_text(w.excitatory)}   {units_text(c.excitatory)}"
        f"   {shared_exc:>6}   {units_text(w.inhibitory)}   "
        f"{units_text(c.inhibitory)}   {shared_inh:>6}"
    )

# %%
# **What to notice.** The excitatory lists mostly agree: a large positive
# weight usually goes to a unit that is active on the digit's images. The
# inhibitory lists mostly *disagree*. The most negative weights go to units
# that are nearly silent on the digit's own images (they fire on other
# digits), so weight x activation is close to zero there: they argue against
# the digit only when it is *not* the digit. The units that actually pull the
# digit's output down on its own images have smaller negative weights but
# are strongly active.
#
# The reason, in numbers, for one digit: the mean activation of its top
# inhibitory units on its own images.
digit = 8
own = X[y == digit]
mean_activation = net.trace(own).post[0].mean(axis=0)
print(f"digit {digit}: unit, weight, mean activation on {digit}s, contribution")
for label, top in (
    ("by weight", by_weight[digit]),
    ("by contrib.", by_contribution[digit]),
):
    for unit in top.inhibitory:
        weight = net.weights[1][digit, unit]
        activation = mean_activation[unit]
        print(
            f"  {label:<11} unit {unit:2d}: w = {weight:+6.2f}, "
            f"a = {activation:.3f}, w x a = {weight * activation:+.3f}"
        )

# %%
# The essay's collage, both ways
# ------------------------------
# One row per digit: the digit's 30 output weights as a 5 x 6 image (the
# picked units' indices are written on their pixels), then its top excitatory
# hidden units (blue frames) and top inhibitory ones (red frames), each drawn
# as its 28 x 28 weight image. First ranked by weight, as in the essay:
fig = plt.figure(figsize=(8.4, 15))
plot_recipes(net, k=K, by="weight", fig=fig)

# %%
# ... then by mean contribution on each digit's own test images:
fig = plt.figure(figsize=(8.4, 15))
plot_recipes(net, k=K, by="contribution", X=X, y=y, fig=fig)

# %%
# Which ranking names the units a digit needs?
# --------------------------------------------
# Knock the three top excitatory units out (their output set to 0, which
# removes exactly their contributions) and measure how much the digit's own
# accuracy drops. :func:`mlpinspect.ablate` runs the rest of the network
# unchanged.
print("digit   accuracy drop when its top-3 excitatory units are removed")
print("        ranked by weight   ranked by contribution")
drops = np.zeros((10, 2))
for digit in range(10):
    for j, top in enumerate((by_weight[digit], by_contribution[digit])):
        result = mlpinspect.ablate(net, X, y, units=top.excitatory, mode="zero")
        drops[digit, j] = result.per_class_drop[digit]
    print(
        f"{digit:>5}   {100 * drops[digit, 0]:15.1f}%   {100 * drops[digit, 1]:21.1f}%"
    )
print(f"mean    {100 * drops[:, 0].mean():15.1f}%   {100 * drops[:, 1].mean():21.1f}%")

# %%
# Where the lists differ, the units ranked by contribution are the ones whose
# loss hurts the digit at least as much: they are what the digit's output
# actually adds up on its images.
#
# Used in part, not all-or-nothing
# --------------------------------
# The study's finding was that features are not Lego blocks. The table of
# mean contributions over each digit's images shows it at a glance: a unit
# helps several digits by different amounts, pulls others down, and some
# units are barely used at all (white columns). In each cell, ``+`` marks a
# unit that always pushes the digit up, ``−`` one that always pulls it down,
# ``·`` one it hardly uses.
contributions = mlpinspect.class_contributions(net, X, y)
fig, ax = plt.subplots(figsize=(12, 5.2), layout="constrained")
plot_class_contributions(contributions, annotate="usage", ax=ax)
