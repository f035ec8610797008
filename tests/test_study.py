"""Tests of the study command: `mlpinspect study` and `run_study`."""

from __future__ import annotations

import importlib.util
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlpinspect import Network
from mlpinspect._io import atomic_write
from mlpinspect.cli import build_parser, main
from mlpinspect.study._report import Report

ROOT = Path(__file__).resolve().parents[1]

FIGURES = [
    "training",
    "hidden-weights",
    "output-weights",
    "recipes-by-weight",
    "recipes-by-contribution",
    "class-contributions",
    "decomposition",
    "attributions",
    "comparison",
    "units-forming-1",
    "units-forming-2",
    "unit-dynamics",
    "sweep",
    "seed-cka",
    "matched-units",
    "unit-atlas",
    "unit-profile",
    "two-hidden-first-layer",
    "two-hidden-effective",
    "two-hidden-preferred",
]


@pytest.fixture(scope="module")
def quick_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    assert main(["study", "--out", str(out), "--quick", "--quiet"]) == 0
    return out


def test_quick_study_writes_every_figure_network_and_report(quick_study):
    names = {p.name for p in quick_study.iterdir()}
    for fig in FIGURES:
        assert f"{fig}.png" in names
        assert (quick_study / f"{fig}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {
        "report.md",
        "report.html",
        "study-network.npz",
        "comparison-1.npz",
        "comparison-2.npz",
        "two-hidden-network.npz",
        "results.json",
    } <= names
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]


def test_saved_networks_load_and_match_the_reported_accuracy(quick_study):
    net = Network.load(quick_study / "study-network.npz")
    assert net.sizes == [784, 30, 10]
    assert net.history is not None
    report = (quick_study / "report.md").read_text()
    reported = float(re.search(r"Test accuracy: ([0-9.]+)%", report).group(1))
    assert reported == pytest.approx(
        100 * net.history.validation_accuracy[-1], abs=0.01
    )
    for i in (1, 2):
        other = Network.load(quick_study / f"comparison-{i}.npz")
        assert other.init == ("normal" if i == 1 else "scaled")


def test_report_has_the_study_tables(quick_study):
    report = (quick_study / "report.md").read_text()
    assert "excitatory by weight" in report and "inhibitory by contribution" in report
    assert (
        len(re.findall(r"^\| [0-9] \|", report, flags=re.M)) >= 20
    )  # two digit tables
    assert "cosine to init" in report and "smoothness" in report
    assert "| hidden units | mean |" in report
    assert "completeness error" in report
    assert "## 9. Do different seeds learn the same units?" in report
    assert "| 0 and 1 (trained) |" in report and "| 0 and 1 (untrained) |" in report
    for fig in FIGURES:
        assert f"({fig}.png)" in report


def test_html_report_is_self_contained(quick_study):
    page = (quick_study / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("data:image/png;base64,") == len(FIGURES)
    assert not re.search(r'src="(?!data:)', page)  # nothing loaded from elsewhere
    assert "<table>" in page


def test_each_network_is_trained_once_and_its_units_followed(tmp_path, monkeypatch):
    from mlpinspect.experiments import STUDY_COMPARISON
    from mlpinspect.study import run_study

    fits = []
    fit = Network.fit

    def counting(self, *args, **kwargs):
        fits.append((tuple(self.sizes), self.init, self.seed))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(Network, "fit", counting)
    result = run_study(
        tmp_path, quick=True, quiet=True, sweep_sizes=(2, 30), n_jobs=1
    )  # --quick: one seed per size
    # The study network is the comparison's first training, the seeds
    # section's seed-0 network and the sweep's 30-unit seed-0 network: each
    # distinct training happens once.
    assert len(fits) == len(set(fits))
    assert sorted(fits) == sorted(
        [((784, 16, 16, 10), "normal", 0)]
        + [((784, 30, 10), "normal", s) for s in (0, 1, 2)]
        + [((784, 30, 10), "scaled", 0)]
        + [((784, 2, 10), "normal", 0)]
    )
    sweep = result.numbers["sweep"]["results"]
    assert sweep[1]["hidden"] == 30
    study = Network.load(tmp_path / "study-network.npz")
    assert sweep[1]["runs"][0] == study.history.validation_accuracy[-1]
    dynamics = result.numbers["dynamics"]
    assert list(dynamics) == list(STUDY_COMPARISON)
    for name, numbers in dynamics.items():
        assert numbers["epochs"] == [0.0, 1.0]  # --quick: one epoch
        assert len(numbers["formed_at"]) == 30
        assert set(numbers["formed_at"]) <= {0.0, 1.0}
        assert numbers["mean_cosine_to_init"][0] == pytest.approx(1.0)
        assert numbers["mean_cosine_to_final"][-1] == pytest.approx(1.0)
        compared = result.numbers["comparison"][name]
        assert numbers["mean_cosine_to_init"][-1] == pytest.approx(
            compared["mean_cosine_to_init"], abs=1e-6
        )
        assert numbers["mean_smoothness"][-1] == pytest.approx(
            compared["smoothness"], abs=1e-6
        )
        assert numbers["test_accuracy"][-1] == pytest.approx(
            compared["test_accuracy"], abs=1e-6
        )
    report = (tmp_path / "report.md").read_text()
    assert "## 7. How the units form" in report
    assert "median epoch of formation" in report


def test_python_dash_m_runs_the_command(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlpinspect",
            "study",
            "--out",
            str(tmp_path / "o"),
            "--quick",
            "--sweep-sizes",
            "",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, result.stderr
    assert "loading data" in result.stderr  # the progress display
    assert "done:" in result.stderr
    assert not (tmp_path / "o" / "sweep.png").exists()  # an empty sweep is skipped


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["study", "--epochs", "0"], "must be >= 1"),
        (["study", "--epochs", "many"], "whole number"),
        (["study", "--sweep-sizes", "2,x"], "comma-separated"),
        (["study", "--jobs", "0"], "-1 for every core"),
        (["study", "--seed", "-3"], "must be >= 0"),
        (["study", "--colour", "blue"], "unrecognized arguments"),
        (["study", "--engine", "cuda"], "invalid choice"),
    ],
)
def test_bad_options_exit_with_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "study" in capsys.readouterr().err


def test_missing_data_folder_is_a_clear_error(tmp_path, capsys):
    code = main(
        [
            "study",
            "--out",
            str(tmp_path / "o"),
            "--data",
            str(tmp_path / "nowhere"),
            "--quick",
            "--quiet",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("mlpinspect study: error:")
    assert "nowhere" in err


@pytest.mark.skipif(
    os.geteuid() == 0 if hasattr(os, "geteuid") else True,
    reason="root can write anywhere",
)
def test_unwritable_output_folder_is_a_clear_error(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    code = main(["study", "--out", str(locked / "o"), "--quick", "--quiet"])
    assert code == 1
    assert "`out` must be a folder" in capsys.readouterr().err


def test_output_path_that_is_a_file_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["study", "--out", str(blocker / "o"), "--quick", "--quiet"])
    assert code == 1
    assert "`out` must be a folder" in capsys.readouterr().err


def test_parser_defaults_are_the_studys():
    args = build_parser().parse_args(["study"])
    assert args.data == "sample"
    assert args.epochs == 30
    assert args.sweep_sizes == (2, 3, 4, 5, 10, 30)
    assert args.sweep_seeds == 3
    assert args.engine == "auto"
    assert args.jobs == -1


def test_numba_engine_without_numba_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import mlpinspect

    monkeypatch.setitem(sys.modules, "numba", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "mlpinspect.network._numba_engine", raising=False)
    monkeypatch.delattr(mlpinspect.network, "_numba_engine", raising=False)
    out = tmp_path / "o"
    code = main(["study", "--out", str(out), "--quick", "--quiet", "--engine", "numba"])
    assert code == 1
    assert "pip install numba" in capsys.readouterr().err
    assert not out.exists()  # refused before anything was written


REPORT_COLUMN_PX = 992
"""The report's text column at a 1280 px window (measured in Chromium)."""


def test_every_study_figure_keeps_its_labels_legible_in_the_report(
    tmp_path, monkeypatch
):
    """The smallest text of each figure, shown at the report's column width
    (a wider figure is scaled down to it), is at least 8 px tall, and no text
    of a laid-out figure runs past its edges."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    import mlpinspect.study._run as run
    from mlpinspect.study import run_study

    smallest, outside = {}, []
    render = run.figure_png

    def measured(fig, **kwargs):
        texts = [
            t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
        ]
        dpi = kwargs.get("dpi", 100)
        shown = min(dpi, REPORT_COLUMN_PX / fig.get_figwidth())  # px per inch
        title = (fig._suptitle.get_text() if fig._suptitle else repr(fig))[:50]
        smallest[title] = min(t.get_fontsize() for t in texts) / 72 * shown
        if fig.get_layout_engine() is not None:  # else saved with a tight box
            renderer = FigureCanvasAgg(fig).get_renderer()
            fig.draw(renderer)
            box = fig.bbox.padded(1)
            outside.extend(
                (title, t.get_text()[:30]) for t in texts
                if not box.contains(*t.get_window_extent(renderer).min)
                or not box.contains(*t.get_window_extent(renderer).max)
            )  # fmt: skip
        return render(fig, **kwargs)

    monkeypatch.setattr(run, "figure_png", measured)
    run_study(tmp_path, quick=True, quiet=True, n_jobs=1, sweep_sizes=(2, 30))
    assert len(smallest) >= 15
    small = {t: round(px, 1) for t, px in smallest.items() if px < 8.0}
    assert not small, f"labels under 8 px in the report: {small}"
    assert not outside, f"text past a figure's edge: {outside}"


@pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="numba is not installed"
)
def test_quick_study_runs_on_the_numba_engine(tmp_path):
    out = tmp_path / "o"
    assert (
        main(["study", "--out", str(out), "--quick", "--quiet", "--engine", "numba"])
        == 0
    )
    net = Network.load(out / "study-network.npz")
    assert net.history.config["engine"] == "numba"


def test_atomic_write_leaves_the_old_file_when_interrupted(tmp_path):
    target = tmp_path / "report.md"
    atomic_write(target, lambda fh: fh.write(b"complete"))

    def interrupted(fh):
        fh.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, interrupted)
    assert target.read_bytes() == b"complete"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_report_renders_tables_and_figures_in_both_formats(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    report = Report("Title")
    report.heading("Part")
    report.paragraph("Text with `code` & <html>")
    report.table(["a", "b"], [[1, 2.5]])
    fig = Figure()
    fig.add_subplot().imshow(np.eye(3))
    report.figure("eye", fig, "An eye")
    written = report.write(tmp_path)
    md = written["report.md"].read_text()
    assert "| a | b |" in md and "| 1 | 2.5 |" in md and "![An eye](eye.png)" in md
    page = written["report.html"].read_text()
    assert "<code>code</code> &amp; &lt;html&gt;" in page
    assert "<td>2.5</td>" in page
    assert '<meta name="viewport"' in page
    assert '<div class="table-wrap"><table>' in page
    assert Path(written["eye"]).exists()


def test_report_markdown_is_rendered_by_a_markdown_library(tmp_path):
    report = Report("T")
    report.paragraph(
        "**Test accuracy: 94.91%**, *emphasis*, a [link](https://x.org) "
        "and a pipe | in text"
    )
    report.table(["method", "value"], [["a | b", "**1**"]])
    page = report.to_html()
    assert "<strong>Test accuracy: 94.91%</strong>" in page and "**" not in page
    assert "<em>emphasis</em>" in page
    assert '<a href="https://x.org">link</a>' in page
    assert "<td>a | b</td>" in page and "<td><strong>1</strong></td>" in page
    md = report.to_markdown()
    assert "| a \\| b | **1** |" in md


@pytest.mark.slow
def test_full_mnist_study_trains_to_the_published_range_and_matches_the_docs(
    tmp_path,
):
    folder = os.environ.get("MLPINSPECT_MNIST_DIR")
    if not folder or not Path(folder).is_dir():
        pytest.skip("set MLPINSPECT_MNIST_DIR to a folder with the MNIST IDX files")
    from mlpinspect.study import run_study
    from mlpinspect.study._results import load_results

    result = run_study(tmp_path, data="mnist", quiet=True)  # from that folder
    # The essay reports one run of "about 95%". Over 5 seeds the mean is 94.7%
    # (range 94.3-95.0%; an independent implementation: 94.87% over 10 seeds);
    # seed 0 gives 94.91% here, so the claim tested is the seed-robust one.
    assert result.test_accuracy >= 0.94
    # Section 9: training makes the seeds' hidden layers alike as wholes and
    # gives some units partners; untrained networks have none (2026-12-02:
    # CKA 0.78-0.80 against 0.24-0.32; 18 units against 0 at r >= 0.5).
    seeds = result.numbers["seeds"]
    assert seeds["cka_trained"]["min"] > seeds["cka_untrained"]["max"] + 0.2
    trained, untrained = seeds["partners_trained"], seeds["partners_untrained"]
    assert trained["0.5"]["any"] >= untrained["0.5"]["any"] + 5

    # The docs' study pages are generated from a committed results file: a
    # fresh run must give every number in it (only the run's date and times
    # differ), on the platform it was made on; elsewhere BLAS and numba round
    # differently and 30 epochs of SGD carry that into every digit.
    fresh = load_results(result.files["results.json"])
    committed = load_results(ROOT / "docs" / "study-results" / "full-mnist.json")
    versions = ("platform", "python", "numpy", "scipy", "numba", "mlpinspect")
    made_on = {k: committed.get(k) for k in versions}
    here = {k: fresh.get(k) for k in versions}
    if here != made_on:
        pytest.skip(f"the committed results were made on {made_on}; this is {here}")
    for key in set(committed) | set(fresh):
        if key not in ("date", "timing"):
            assert fresh.get(key) == committed.get(key), key


def _seed_context(tmp_path):
    """A study context on 300 sample images whose seed networks are trained
    one epoch on them; seed 0's hidden unit 5 is made always on, with outgoing
    weights of -5: a second bias, and every digit's most inhibitory unit."""
    from mlpinspect.datasets import load_mnist_sample
    from mlpinspect.study._context import (
        DIGITS,
        STUDY_SETTINGS,
        STUDY_SIZES,
        Context,
        Progress,
    )

    d = load_mnist_sample(dtype=np.float64)
    X, y = d.X_test[:300], d.y_test[:300]
    ctx = Context(
        train=(X, y), test=(X, y), data_text="", seed=0, epochs=1, engine="numpy",
        n_jobs=1, quiet=True, sweep_sizes=(), sweep_seeds=1, out=tmp_path,
        say=Progress(True),
    )  # fmt: skip
    for seed in (0, 1, 2):
        net = Network([784, 30, 10], init="normal", seed=seed, class_names=DIGITS)
        net.fit(X, y, epochs=1, batch_size=10, learning_rate=3.0, progress=False)
        if seed == 0:
            net.biases[0][5] = 60.0
            net.weights[1][:, 5] = -5.0
        ctx.networks[ctx.plan(STUDY_SIZES, STUDY_SETTINGS, seed)] = net
    return ctx


def test_seeds_section_compares_seeds_and_calls_out_the_always_on_unit(tmp_path):
    from mlpinspect import class_contributions, match_units, unit_atlas
    from mlpinspect.study._sections import seeds_section

    ctx = _seed_context(tmp_path)
    section = seeds_section(ctx)
    numbers = section.numbers
    assert section.title == "9. Do different seeds learn the same units?"
    assert numbers["seeds"] == [0, 1, 2]
    assert [(p["kind"], p["a"], p["b"]) for p in numbers["pairs"]] == [
        ("trained", 0, 1), ("trained", 0, 2), ("trained", 1, 2),
        ("untrained", 0, 1), ("untrained", 0, 2), ("untrained", 1, 2),
    ]  # fmt: skip
    X, _ = ctx.test
    main, *others = (ctx.study_network(s) for s in (0, 1, 2))
    matchings = [match_units(main, other, X) for other in others]
    assert numbers["pairs"][0]["partners_0.5"] == matchings[0].count_above(0.5)
    for t in ("0.5", "0.8"):
        has = np.array(
            [np.isin(np.arange(30), m.pairs[m.pair_correlation >= float(t), 0])
             for m in matchings]
        )  # fmt: skip
        assert numbers["partners_trained"][t] == {
            "any": int(has.any(0).sum()),
            "all": int(has.all(0).sum()),
        }
    cka_t = [p["cka"] for p in numbers["pairs"] if p["kind"] == "trained"]
    assert numbers["cka_trained"]["mean"] == pytest.approx(np.mean(cka_t))
    # the always-on unit, its equivalent bias and its place among the digits
    (flagged,) = [e for e in numbers["flagged_units"] if e["unit"] == 5]
    assert flagged["flag"] == "always on" and flagged["on_share"] == 1.0
    atlas = unit_atlas(main, X)
    np.testing.assert_allclose(
        flagged["equivalent_bias"], atlas.output_mean[5] * np.full(10, -5.0)
    )
    cc = class_contributions(main, *ctx.test)
    assert flagged["most_inhibitory_for"] == 10
    assert int(np.sum(np.argmin(cc.mean_contribution, axis=1) == 5)) == 10
    text = " ".join(v for kind, v in section.blocks if kind == "paragraph")
    assert "hidden unit 5 is always on" in text
    assert "most inhibitory unit by mean contribution for 10 of the 10 digits" in text
    tables = [v for kind, v in section.blocks if kind == "table"]
    assert tables[-1][0][:4] == ["unit", "flag", "on for", "bias on 0"]
    figures = [v[0] for kind, v in section.blocks if kind == "figure"]
    assert figures == ["seed-cka", "matched-units", "unit-atlas", "unit-profile"]
    profile = [v[1] for kind, v in section.blocks if kind == "figure"][-1]
    assert profile._suptitle.get_text().startswith("Layer 0, unit 5: always on")


# -- the results file and the sentences generated from it -----------------------


def test_results_file_holds_every_number_and_the_report_says_what_it_says(quick_study):
    import json

    from mlpinspect.study._claims import claims_markdown, essay_claims
    from mlpinspect.study._results import SCHEMA, load_results

    results = load_results(quick_study / "results.json")
    assert results["schema"] == SCHEMA
    assert results["data"]["name"] == "sample" and results["data"]["quick"] is True
    assert results["settings"]["engine"] in ("numpy", "numba")
    import scipy

    assert results["numpy"] == np.__version__ and results["scipy"] == scipy.__version__
    numba = importlib.util.find_spec("numba")
    assert (results["numba"] is None) == (numba is None)
    assert set(results["sections"]) == {
        "network", "weights", "top_units", "usage", "decision", "comparison",
        "dynamics", "sweep", "seeds", "two_hidden", "claims", "explorer",
    }  # fmt: skip
    assert set(results["timing"]["sections"]) == set(results["sections"])
    # strict JSON: no NaN, no numpy types
    json.loads((quick_study / "results.json").read_text(), parse_constant=pytest.fail)
    net = Network.load(quick_study / "study-network.npz")
    assert results["sections"]["network"]["test_accuracy"] == net.score(
        *_quick_test_data()
    )
    # The claims are a function of the numbers: regenerated from the file,
    # they are exactly the report's.
    assert essay_claims(results) == results["claims"]
    report = (quick_study / "report.md").read_text()
    assert claims_markdown(results["claims"]) in report
    assert (
        "seed(s)" not in report
        and "**" not in (quick_study / "report.html").read_text()
    )


def _quick_test_data():
    from mlpinspect.datasets import load_mnist_sample

    d = load_mnist_sample(dtype=np.float64)
    return d.X_test[:300], d.y_test[:300]


def test_load_results_refuses_other_files(tmp_path):
    from mlpinspect.errors import MlpinspectError
    from mlpinspect.study._results import load_results

    (tmp_path / "a.json").write_text('{"schema": "other/1"}')
    with pytest.raises(MlpinspectError, match="schema"):
        load_results(tmp_path / "a.json")
    (tmp_path / "b.json").write_text("not json")
    with pytest.raises(MlpinspectError, match="results file"):
        load_results(tmp_path / "b.json")


def _sweep(rows, n_seeds=3):
    return {
        "seeds": list(range(n_seeds)),
        "results": [
            {"hidden": h, "min": lo, "max": hi, "mean": (lo + hi) / 2, "std": 0.0,
             "reference": ref}
            for h, lo, hi, ref in rows
        ],
    }  # fmt: skip


def test_sweep_sentences_compare_as_the_table_displays():
    from mlpinspect.study._claims import position, sweep_sentences, sweep_summary

    # 0.38174 displays as 38.17%: an essay value of 38.17% is inside, not below
    assert position(0.3817, 0.38174, 0.6051) == "inside"
    assert position(0.3816, 0.38174, 0.6051) == "below"
    assert position(0.6052, 0.38174, 0.6051) == "above"
    sweep = _sweep(
        [
            (2, 0.2644, 0.3024, 0.2280),
            (3, 0.3817, 0.6051, 0.5875),
            (4, 0.6682, 0.7610, 0.8373),
            (30, 0.9451, 0.9491, None),
        ]
    )
    text = sweep_sentences(sweep)
    assert text == [
        "2 hidden units: the essay's 22.80% is below our 26.44% to 30.24% over "
        "3 seeds.",
        "3 hidden units: the essay's 58.75% is inside our 38.17% to 60.51% over "
        "3 seeds.",
        "4 hidden units: the essay's 83.73% is above our 66.82% to 76.10% over "
        "3 seeds.",
    ]
    assert sweep_summary(sweep) == (
        "The essay's single runs are below our range for 2 hidden units, inside "
        "our range for 3 hidden units and above our range for 4 hidden units."
    )
    one = sweep_sentences(_sweep([(1, 0.2, 0.2, 0.3)], n_seeds=1))
    assert one == ["1 hidden unit: the essay's 30.00% is above our 20.00% with 1 seed."]


def test_ties_are_reported_as_ties():
    from mlpinspect.study._claims import most_negative_sentence

    shares = {str(d): 0.2 for d in range(10)}
    shares["3"], shares["8"] = 0.3504, 0.3496  # both display as 35%
    text = most_negative_sentence(shares)
    assert "tied: 3 and 8, 35%" in text
    shares["8"] = 0.34
    assert "is 3: 35%" in most_negative_sentence(shares)


@pytest.mark.parametrize(
    ("eight", "verdict", "place"),
    [(0.27, "does not hold", "the lowest"), (0.62, "holds", "the highest")],
)
def test_the_eight_claim_is_decided_by_the_numbers(eight, verdict, place):
    from mlpinspect.study._claims import essay_claims

    shares = {str(d): 0.3 + 0.01 * d for d in range(8)}
    shares["8"], shares["9"] = eight, 0.35
    results = {
        "data": {"name": "mnist"},
        "sections": {"usage": {"negative_share": shares, "units_in_between_mean": 9}},
    }
    (claim,) = [c for c in essay_claims(results) if c["key"] == "eight"]
    assert claim["verdict"] == verdict
    assert (
        f"{round(100 * eight)}% of the '8'" in claim["text"] and place in claim["text"]
    )


def test_every_claim_has_a_verdict_from_the_numbers():
    from mlpinspect.study._claims import CLAIMS, essay_claims

    results = {
        "data": {"name": "mnist"},
        "sections": {
            "network": {"test_accuracy": 0.9491},
            "top_units": {"top3_overlap_mean": 0.5},
            "usage": {"negative_share": {str(d): 0.3 for d in range(10)},
                      "units_in_between_mean": 9.0},
            "comparison": {
                "a": {"mean_cosine_to_init": 0.77, "smoothness": 0.21},
                "b": {"mean_cosine_to_init": 0.01, "smoothness": 0.71},
            },
            "sweep": _sweep([(2, 0.26, 0.30, 0.228)]),
            "two_hidden": {"smoothness": [0.1, 0.3]},
        },
    }  # fmt: skip
    claims = essay_claims(results)
    assert [c["key"] for c in claims] == list(CLAIMS)
    verdicts = {c["key"]: c["verdict"] for c in claims}
    assert verdicts == {
        "accuracy": "holds", "pictures": "holds", "top_k": "holds in part",
        "in_part": "holds", "negative": "holds", "eight": "does not hold",
        "smaller": "does not hold", "init": "holds", "two_hidden": "holds",
    }  # fmt: skip


def test_watching_a_training_records_its_history_without_changing_the_network():
    from mlpinspect.datasets import load_mnist_sample
    from mlpinspect.study._context import STUDY_SETTINGS, STUDY_SIZES, Context, _train

    d = load_mnist_sample(dtype=np.float64)
    train, test = (d.X_train[:200], d.y_train[:200]), (d.X_test[:50], d.y_test[:50])
    key = Context.plan(STUDY_SIZES, STUDY_SETTINGS, 3)
    _, watched, _ = _train(key, train, test, 2, "numpy", watch=True)
    _, plain, _ = _train(key, train, test, 2, "numpy", watch=False)
    for a, b in zip(watched._params, plain._params):
        np.testing.assert_array_equal(a, b)
    assert len(watched.history.snapshots) == 3  # the start and 2 epochs
    assert watched.history.validation_accuracy[-1] == plain.score(*test)
    assert plain.history.snapshots is None and not plain.history.validation_accuracy
    assert np.isnan(plain.history.cost).all() and len(plain.history.seconds) == 2
