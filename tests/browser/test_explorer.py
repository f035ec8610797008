"""The explorer page in a real browser (the system's Chromium, from file://).

Two pages: the study's 784-30-10 sigmoid network trained on the bundled MNIST
sample, and a scikit-learn pipeline (scaler + MLPClassifier) on the wine data
with feature names. Each test clicks through views and reads what the page
shows (top units, top examples, decomposition values, attributions) from the
DOM, and checks it against the library's own results: the exact float64 value
each element carries in ``data-value`` must equal the library's number, and
the text shown must be that number rounded. Every test ends with
``log.assert_clean()``: no request left the machine, no console or page error.
Screenshots at 1280 and 390 px go to the CI artifacts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mlpinspect import (
    Network,
    adapt,
    attribute,
    decompose,
    explore,
    load_mnist_sample,
    top_units,
    unit_atlas,
)

pytestmark = pytest.mark.browser

N_EXAMPLES = 300
K = 6


def shown(text: str) -> float:
    """A number as the page prints it (true minus sign) back to a float."""
    return float(text.strip().replace("\u2212", "-"))


def assert_shows(text: str, value: float) -> None:
    """The text is ``value`` rounded as the page rounds (3 decimals; 1 from
    1,000; 3 significant digits in scientific notation outside)."""
    a = abs(value)
    if a == 0 or 0.001 <= a < 1000:
        tol = 0.0005
    elif 1000 <= a < 1e6:
        tol = 0.05
    else:
        tol = 0.005 * a
    assert abs(shown(text) - value) <= tol * (1 + 1e-9), (text, value)


def number_at(locator) -> tuple[float, str]:
    """(exact value, text shown) of a ``.num`` element."""
    return float(locator.get_attribute("data-value")), locator.inner_text()


def open_page(pg, path, fragment=""):
    pg.goto(path.as_uri() + fragment)
    pg.wait_for_selector("body[data-ready]")


# -- the two pages ------------------------------------------------------------------


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    data = load_mnist_sample(dtype=np.float64)
    net = Network([784, 30, 10], seed=0)
    net.fit(data.X_train[:4000], data.y_train[:4000], epochs=2, monitor=False)
    X, y = data.X_test[:N_EXAMPLES], data.y_test[:N_EXAMPLES]
    path = explore(net, X, y, k=K, path=tmp_path_factory.mktemp("ex") / "study.html")
    return net, X, y, path


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    pytest.importorskip("sklearn")
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_wine
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = load_wine(as_frame=True)
    X = frame.data
    assert isinstance(X, pd.DataFrame)
    y = np.array(["barolo", "grignolino", "barbera"])[frame.target]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = make_pipeline(
            StandardScaler(), MLPClassifier((8,), max_iter=300, random_state=0)
        ).fit(X, y)
    path = explore(clf, X, y, k=K, path=tmp_path_factory.mktemp("ex") / "wine.html")
    return clf, X, y, path


# -- Layer view ------------------------------------------------------------------------


def test_layer_view_shows_every_unit_with_its_flags(study, page):
    net, X, y, path = study
    pg, log = page
    open_page(pg, path, "#layer")
    atlas = unit_atlas(net, X, y, layer=0, k=K)
    tiles = pg.locator("#view .tile")
    assert tiles.count() == 30
    for j in range(30):
        tile = pg.locator(f'#view .tile[data-unit="{j}"]')
        flags = tuple(tile.locator(".flag").all_inner_texts())
        assert flags == atlas.flags(j)
        assert tile.locator("canvas").count() == 1
    # A click on a tile opens that unit.
    pg.click('#view .tile[data-unit="7"]')
    pg.wait_for_selector('#view[data-view="unit"]')
    assert pg.evaluate("location.hash") == "#unit/7"
    log.assert_clean()


# -- Unit view -------------------------------------------------------------------------


@pytest.mark.parametrize("unit", [0, 13, 29])
def test_unit_view_shows_the_atlas(study, page, unit):
    net, X, y, path = study
    pg, log = page
    open_page(pg, path, f"#unit/{unit}")
    atlas = unit_atlas(net, X, y, layer=0, k=K)
    for which, idx, vals in (
        ("top", atlas.top_indices, atlas.top_values),
        ("bottom", atlas.bottom_indices, atlas.bottom_values),
    ):
        items = pg.locator(f"#unit-{which} .example")
        assert items.count() == K
        for r in range(K):
            item = items.nth(r)
            assert int(item.get_attribute("data-index")) == idx[unit, r]
            value, text = number_at(item.locator(".num"))
            assert value == vals[unit, r]
            assert_shows(text, vals[unit, r])
    for c in range(10):
        value, text = number_at(pg.locator(f'#class-means tr[data-class="{c}"] .num'))
        assert value == atlas.class_means[c, unit]
        assert_shows(text, atlas.class_means[c, unit])
    W = adapt(net).layers[1].weight
    for o in range(10):
        row = pg.locator(f'#outgoing tr[data-output="{o}"]')
        value, text = number_at(row.locator("td.w .num"))
        assert value == W[o, unit]
        assert_shows(text, W[o, unit])
        value, _ = number_at(row.locator("td.c .num"))
        assert value == atlas.equivalent_bias[unit, o]
    # A top example opens the Example view on it.
    first = int(atlas.top_indices[unit, 0])
    pg.click("#unit-top .example >> nth=0")
    pg.wait_for_selector('#view[data-view="example"]')
    assert pg.evaluate("location.hash") == f"#example/{first}"
    log.assert_clean()


# -- Class view ------------------------------------------------------------------------


def _recipe(pg, which):
    items = pg.locator(f"#recipe-{which} > li")
    units = [int(items.nth(r).get_attribute("data-unit")) for r in range(items.count())]
    values = [
        float(items.nth(r).get_attribute("data-value")) for r in range(len(units))
    ]
    return units, values


@pytest.mark.parametrize("cls", [3, 8])
def test_class_view_shows_top_units_by_weight_and_contribution(study, page, cls):
    net, X, y, path = study
    pg, log = page
    open_page(pg, path, f"#class/{cls}")
    top = top_units(net, cls, k=3)
    assert _recipe(pg, "exc") == (
        top.excitatory.tolist(),
        top.excitatory_values.tolist(),
    )
    assert _recipe(pg, "inh") == (
        top.inhibitory.tolist(),
        top.inhibitory_values.tolist(),
    )
    # k adjustable.
    pg.fill("#recipe-k", "5")
    pg.dispatch_event("#recipe-k", "change")
    top = top_units(net, cls, k=5)
    assert _recipe(pg, "exc") == (
        top.excitatory.tolist(),
        top.excitatory_values.tolist(),
    )
    texts = pg.locator("#recipe-inh > li > div > .num").all_inner_texts()
    for text, value in zip(texts, top.inhibitory_values):
        assert_shows(text, value)
    # By contribution: over the class's own examples.
    pg.click('button[data-by="contribution"]')
    top = top_units(net, cls, k=5, by="contribution", X=X, y=y)
    assert pg.get_attribute('button[data-by="contribution"]', "aria-pressed") == "true"
    assert _recipe(pg, "exc") == (
        top.excitatory.tolist(),
        top.excitatory_values.tolist(),
    )
    assert _recipe(pg, "inh") == (
        top.inhibitory.tolist(),
        top.inhibitory_values.tolist(),
    )
    # A unit of the recipe opens the Unit view.
    unit = top.excitatory[0]
    pg.click(f'#recipe-exc li[data-unit="{unit}"] a')
    pg.wait_for_selector('#view[data-view="unit"]')
    assert pg.evaluate("location.hash") == f"#unit/{unit}"
    log.assert_clean()


# -- Example view ----------------------------------------------------------------------


def _waterfall(pg):
    rows = pg.locator("#waterfall .wf-row")
    out = {}
    for r in range(rows.count()):
        row = rows.nth(r)
        value, text = number_at(row.locator(".num"))
        out[row.get_attribute("data-source")] = (value, text)
    return out


def test_example_view_decomposes_exactly_and_attributes(study, page):
    net, X, y, path = study
    pg, log = page
    predicted = adapt(net).forward(X).argmax(1)
    wrong = np.flatnonzero(predicted != y)
    assert wrong.size > 0
    open_page(pg, path, "#example/0")
    links = pg.locator("#misclassified a")
    assert [int(v) for v in links.evaluate_all(
        "els => els.map(e => e.dataset.index)")] == wrong.tolist()  # fmt: skip
    i = int(wrong[0])
    links.first.click()
    pg.wait_for_function(f"location.hash === '#example/{i}'")
    assert pg.inner_text("#ex-label") == str(y[i])
    assert pg.inner_text("#ex-pred") == str(predicted[i])
    dec = decompose(net, X, layer=-1)
    for slot, o in enumerate((predicted[i], y[i])):
        if slot == 1:
            pg.click('button[data-slot="1"]')
        assert int(pg.get_attribute("#waterfall", "data-output")) == o
        shown_rows = _waterfall(pg)
        assert set(shown_rows) == {"bias", "total", *map(str, range(30))}
        for j in range(30):
            value, text = shown_rows[str(j)]
            assert value == dec.contributions[i, o, j]
            assert_shows(text, dec.contributions[i, o, j])
        assert shown_rows["bias"][0] == dec.bias[o]
        value, text = shown_rows["total"]
        assert value == dec.pre_activation[i, o]
        assert_shows(text, dec.pre_activation[i, o])
        # The rows run from the largest |contribution| down.
        order = [
            int(s)
            for s in pg.locator("#waterfall .wf-row").evaluate_all(
                "els => els.map(e => e.dataset.source)"
            )
            if s.isdigit()
        ]
        assert order == sorted(
            range(30), key=lambda j: -abs(dec.contributions[i, o, j])
        )
    figures = pg.locator("#attributions figure.attr")
    methods = [
        figures.nth(m).get_attribute("data-method") for m in range(figures.count())
    ]
    assert methods == [
        "gradient_x_input",
        "integrated_gradients",
        "deeplift",
        "occlusion",
    ]
    for m, method in enumerate(methods):
        result = attribute(net, X, predicted, method=method)  # as the page did
        value, text = number_at(figures.nth(m).locator(".num").first)
        assert value == result.values[i].sum()
        assert_shows(text, value)
    log.assert_clean()


def test_keys_and_history_navigate(study, page):
    _, _, _, path = study
    pg, log = page
    open_page(pg, path)
    assert pg.get_attribute("#view", "data-view") == "layer"
    pg.keyboard.press("2")
    pg.wait_for_function("location.hash === '#unit/0'")
    pg.keyboard.press("ArrowRight")
    pg.wait_for_function("location.hash === '#unit/1'")
    pg.keyboard.press("j")
    pg.wait_for_function("location.hash === '#unit/2'")
    pg.keyboard.press("k")
    pg.wait_for_function("location.hash === '#unit/1'")
    pg.keyboard.press("ArrowLeft")
    pg.keyboard.press("ArrowLeft")
    pg.wait_for_function("location.hash === '#unit/29'")
    pg.keyboard.press("3")
    pg.wait_for_function("location.hash === '#class/0'")
    pg.keyboard.press("4")
    pg.wait_for_function("location.hash === '#example/0'")
    pg.keyboard.press("ArrowRight")
    pg.wait_for_function("location.hash === '#example/1'")
    assert pg.inner_text(".stepper strong").strip() == "example 1"
    pg.go_back()
    pg.wait_for_function("location.hash === '#example/0'")
    pg.go_back()
    pg.wait_for_function("location.hash === '#class/0'")
    assert pg.get_attribute("#view", "data-view") == "class"
    pg.go_forward()
    pg.wait_for_function("location.hash === '#example/0'")
    # Keys typed into a field do not navigate.
    pg.focus("#example-index")
    pg.keyboard.press("2")
    assert pg.evaluate("location.hash") == "#example/0"
    log.assert_clean()


@pytest.mark.parametrize("width", [1280, 390])
def test_every_view_fits_and_is_screenshot(
    study, wine, new_page, screenshot_dir, width
):
    pg, log = new_page(width=width, height=900)
    for name, (_, _, _, path) in (("study", study), ("wine", wine)):
        for fragment in ("#layer", "#unit/1", "#class/2", "#example/4"):
            open_page(pg, path, fragment)
            view = fragment[1:].split("/")[0]
            assert pg.get_attribute("#view", "data-view") == view
            # Nothing wider than the viewport: no sideways scrolling.
            assert pg.evaluate("document.documentElement.scrollWidth") <= width
            pg.screenshot(
                path=str(screenshot_dir / f"explorer-{name}-{view}-{width}.png"),
                full_page=True,
            )
    log.assert_clean()


# -- a tabular scikit-learn model ------------------------------------------------------


def test_tabular_model_in_every_view(wine, page):
    clf, X, y, path = wine
    mlp = adapt(clf)
    pg, log = page
    open_page(pg, path, "#layer")
    names = list(X.columns)
    n_hidden = mlp.layers[0].n_out
    assert pg.locator("#view .tile").count() == n_hidden
    for j in range(n_hidden):
        top = top_units(mlp, j, layer=0, k=5)
        box = pg.locator(f'#view .tile[data-unit="{j}"] .features.exc li .fname')
        assert box.all_inner_texts() == [names[s] for s in top.excitatory]
        box = pg.locator(f'#view .tile[data-unit="{j}"] .features.inh li .num')
        assert [shown(t) for t in box.all_inner_texts()] == pytest.approx(
            top.inhibitory_values.tolist(), abs=0.0005
        )
    # Unit view: top examples.
    atlas = unit_atlas(clf, X, y, layer=0, k=K)
    pg.click('#view .tile[data-unit="2"]')
    pg.wait_for_selector('#view[data-view="unit"]')
    items = pg.locator("#unit-top .example")
    assert [int(items.nth(r).get_attribute("data-index")) for r in range(K)] == (
        atlas.top_indices[2].tolist()
    )
    # Class view: the recipe of a class named by its label.
    classes = list(mlp.classes)
    c = classes.index("grignolino")
    open_page(pg, path, f"#class/{c}")
    assert "grignolino" in pg.inner_text("#view h2")
    top = top_units(clf, "grignolino", k=3)
    assert _recipe(pg, "exc") == (
        top.excitatory.tolist(),
        top.excitatory_values.tolist(),
    )
    # Example view: the inputs by feature name, the decomposition, attributions.
    i = 40
    open_page(pg, path, f"#example/{i}")
    rows = pg.locator(".input, table.features-table").first.locator("tr")
    assert rows.count() == len(names)
    assert rows.nth(0).locator("th").inner_text() == names[0]
    value, _ = number_at(rows.nth(0).locator(".num"))
    assert value == X.iloc[i, 0]
    dec = decompose(clf, X, layer=-1)
    predicted = mlp.forward(X).argmax(1)
    o = int(predicted[i])
    waterfall = _waterfall(pg)
    for j in range(n_hidden):
        assert waterfall[str(j)][0] == dec.contributions[i, o, j]
    assert waterfall["total"][0] == dec.pre_activation[i, o]
    result = attribute(clf, X, predicted, method="integrated_gradients")
    cells = pg.locator('#attr-table tbody td[data-method="integrated_gradients"] .num')
    values = [float(v) for v in cells.evaluate_all(
        "els => els.map(e => e.dataset.value)")]  # fmt: skip
    assert values == result.values[i].tolist()
    log.assert_clean()
