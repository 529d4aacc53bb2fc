"""The seam between brains and the sandbox: sanitising plot code, extracting code, refusing target use."""
from pipeline.codegen import sanitise_plot_code, strip_fences, target_referenced


def test_style_overrides_are_stripped_but_plotting_stays():
    code = '''
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
'''
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
