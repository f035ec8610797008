"""
How the units form
==================

The essay shows trained weights only. The next question is *when* and *how* a
hidden unit becomes what it is: does it grow out of its random start, or is it
replaced by something new? This example records the weights of the two
trainings of the comparison (:data:`mlpinspect.experiments.STUDY_COMPARISON`:
Nielsen's ``network.py`` and ``network2.py``) while they train, then

* draws a few units at a few moments of training (a *film strip*);
* measures, per unit and per snapshot, how far it is from its initial and from
  its final weights, and at which epoch it *forms*;
* animates the whole layer of weight images over training, and writes the
  animation to a GIF;
* streams the snapshots of a run to one file instead of keeping them in memory.
"""

# %%
# Record the weights while training
# ---------------------------------
# :class:`mlpinspect.SnapshotRecorder` tells :meth:`~mlpinspect.Network.fit`
# when to copy the weights: here after every epoch and every 250 mini-batches
# (four times per epoch of the 10,000-image sample), always at the start and
# at the end. Recording does not change the arithmetic: the same seed trains
# the same network with or without it.
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from mlpinspect import Network, SnapshotRecorder, Snapshots, unit_dynamics
from mlpinspect.datasets import load_mnist_sample
from mlpinspect.experiments import STUDY_COMPARISON
from mlpinspect.plotting import (
    animate_weight_images,
    plot_film_strip,
    plot_unit_dynamics,
    save_weight_animation,
)

EPOCHS = 1 if os.environ.get("MLPINSPECT_EXAMPLES_QUICK") else 10

data = load_mnist_sample()
histories = {}
for name, settings in STUDY_COMPARISON.items():
    net = Network([784, 30, 10], init=settings["init"], seed=0)
    histories[name] = net.fit(
        data.X_train,
        data.y_train,
        epochs=EPOCHS,
        batch_size=10,
        learning_rate=settings["learning_rate"],
        cost=settings["cost"],
        l2=settings["l2"],
        validation_data=(data.X_test, data.y_test),
        progress=False,
        snapshots=SnapshotRecorder(every_epochs=1, every_batches=250),
    )
    print(f"{name}: {histories[name].snapshots}")
first, second = STUDY_COMPARISON

# %%
# The film strips
# ---------------
# One row per hidden unit, one column per moment of training (with the test
# accuracy), one colour scale for every tile: blue positive, red negative,
# white zero. First ``network.py``'s training:
fig = plt.figure(figsize=(9.5, 8.4))
plot_film_strip(histories[first], frames=8, fig=fig)

# %%
# Then ``network2.py``'s:
fig = plt.figure(figsize=(9.5, 8.4))
plot_film_strip(histories[second], frames=8, fig=fig)

# %%
# **What to notice.** The first strip barely changes from column to column:
# its units keep the random pattern they started with, a little sharpened.
# In the second, the faint noise of the start (N(0, 1/784) weights) is gone
# after the first snapshots, replaced by strokes and blobs that then only
# get refined.
#
# Measuring it
# ------------
# :func:`mlpinspect.unit_dynamics` follows every hidden unit through the
# snapshots. A unit *forms* at the first snapshot from which the cosine
# similarity of its weights to its final weights stays at or above 0.9.
dynamics = {name: unit_dynamics(history) for name, history in histories.items()}
for name, dyn in dynamics.items():
    formed_at_start = np.mean(dyn.formed_at == 0)
    print(
        f"{name}: {100 * formed_at_start:.0f}% of the units formed at "
        f"initialisation; median epoch of formation {dyn.median_formed_at:g}, "
        f"last {np.nanmax(dyn.formed_at):g}; at the end, cosine to the initial "
        f"weights {dyn.mean('cosine_to_init')[-1]:.2f}, smoothness "
        f"{dyn.mean('smoothness')[-1]:.2f}"
    )

fig = plt.figure(figsize=(11.5, 6.8))
plot_unit_dynamics(dynamics, fig=fig)

# %%
# **What to notice.** The ``network.py`` units never leave their start: their
# cosine to their initial weights stays near 1, so they are within 0.9 of
# their final weights from the very beginning ("formed" at epoch 0), and their
# smoothness stays near that of noise. The ``network2.py`` units move several
# times their initial size within the first epoch, their cosine to the start
# falls towards 0, and they form one after another during the first epochs,
# while the accuracy has already almost reached its final value.
#
# The animation
# -------------
# :func:`~mlpinspect.plotting.animate_weight_images` animates the whole
# hidden layer over the snapshots, under one fixed symmetric colour scale
# (the largest weight of any frame), so that growing weights look stronger.
animation_first = animate_weight_images(
    histories[first], interval=250, fig=plt.figure(figsize=(11.4, 4.4))
)

# %%
# The same for ``network2.py``'s training:
animation_second = animate_weight_images(
    histories[second], interval=250, fig=plt.figure(figsize=(11.4, 4.4))
)

# %%
# :func:`~mlpinspect.plotting.save_weight_animation` writes such an animation
# to a GIF (with Pillow, which matplotlib already needs) or an MP4 (when
# ffmpeg is installed), one frame per snapshot. The file is written to a
# temporary file and renamed into place, so it is never half-written.
with tempfile.TemporaryDirectory() as folder:
    gif = save_weight_animation(histories[second], Path(folder) / "units.gif", fps=4)
    with Image.open(gif) as image:
        n_frames = image.n_frames
    print(f"{gif.name}: {n_frames} frames for {len(histories[second].snapshots)} "
          f"snapshots, {gif.stat().st_size / 1e6:.1f} MB")  # fmt: skip

# %%
# Long runs: stream the snapshots to a file
# -----------------------------------------
# With a ``path``, the recorder writes each snapshot to one ``.npz`` file as
# it is taken instead of keeping it: memory holds one snapshot at a time,
# however long the run. :meth:`mlpinspect.Snapshots.load` reads the file back
# one snapshot at a time too, and every analysis and figure above accepts it.
# (For checkpoints saved by another framework, e.g. PyTorch modules,
# :meth:`mlpinspect.Snapshots.from_models` builds the same object.)
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "run.npz"
    net = Network([784, 30, 10], init="scaled", seed=0)
    net.fit(
        data.X_train,
        data.y_train,
        epochs=1,
        learning_rate=0.5,
        cost="cross_entropy",
        l2=5.0,
        progress=False,
        snapshots=SnapshotRecorder(every_epochs=None, every_batches=50, path=path),
    )
    on_disk = Snapshots.load(path)
    streamed = unit_dynamics(on_disk)
    print(f"{on_disk}: {path.stat().st_size / 1e6:.1f} MB")
    formed_steps = on_disk.steps[streamed.formed_index]
    print(
        f"within this one epoch, the median unit forms after "
        f"{np.median(formed_steps):.0f} of {on_disk.steps[-1]} mini-batches"
    )
