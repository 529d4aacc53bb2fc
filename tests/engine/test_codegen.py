"""The seam between brains and the sandbox: sanitising plot code, extracting code, refusing target use."""

from pipeline.run.codegen import sanitise_plot_code, strip_fences, target_referenced


def test_style_overrides_are_stripped_but_plotting_stays():
    code = """
import matplotlib.pyplot as plt
import seaborn as sns
sns.set_theme(style="white")
plt.style.use("ggplot")
plt.rcParams["axes.facecolor"] = "red"

def make_plots(df, target, task):
    sns.set_palette("pastel")
    with plt.rc_context({"axes.facecolor": "white"}):
        fig, ax = plt.subplots()
        sns.histplot(df[target], ax=ax)
    return [("t", fig, "ok")]
"""
    clean = sanitise_plot_code(code)
    for banned in ("set_theme", "style.use", "rcParams", "set_palette", "rc_context"):
        assert banned not in clean
    assert "sns.histplot(df[target], ax=ax)" in clean and "def make_plots" in clean
    compile(clean, "<clean>", "exec")


def test_code_is_extracted_from_markdown_fences():
    text = "Here you go:\n```python\ndef transform(df):\n    return df\n```\nThanks"
    assert strip_fences(text) == "def transform(df):\n    return df\n"


def test_target_reference_is_detected_only_as_a_literal():
    assert target_referenced("def transform(df):\n    return df.drop(columns=['churn'])", "churn")
    assert not target_referenced("def transform(df):\n    churn_rate = 1\n    return df", "churn")


def _harness_meta(tmp_path, code):
    import json

    import numpy as np
    import pandas as pd

    import sandbox
    from pipeline.run.codegen import feature_harness

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=300),
            "b": rng.choice(["x", "y", None], 300),
            "c": np.where(rng.random(300) < 0.2, np.nan, rng.integers(0, 9, 300)),
        }
    )
    frame.to_parquet(tmp_path / "train_X.parquet")
    result = sandbox.Executor(tmp_path, timeout_s=60).run(code, harness=feature_harness([]))
    assert result.ok, result.error
    return json.loads((tmp_path / "features_meta.json").read_text())


def test_rowwise_check_accepts_row_wise_code_on_missing_values(tmp_path):
    meta = _harness_meta(
        tmp_path,
        "def transform(df):\n    out = df.copy()\n    out['c2'] = out['c'] * 2\n"
        "    out['b_missing'] = out['b'].isna().astype('int8')\n    return out\n",
    )
    assert meta["rowwise"] is True
    assert set(meta["required"]) == {"a", "b", "c"}


def test_rowwise_check_rejects_whole_table_statistics(tmp_path):
    meta = _harness_meta(
        tmp_path,
        "def transform(df):\n    out = df.copy()\n    out['a_centred'] = out['a'] - out['a'].mean()\n    return out\n",
    )
    assert meta["rowwise"] is False


def test_required_columns_leave_out_what_the_code_drops(tmp_path):
    meta = _harness_meta(
        tmp_path, "def transform(df):\n    return df.drop(columns=[c for c in ['b'] if c in df.columns])\n"
    )
    assert meta["rowwise"] is True and set(meta["required"]) == {"a", "c"}
