# expect: roc.png, metrics.csv
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay, f1_score, roc_auc_score, roc_curve
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

df = pd.read_csv("input.csv")
X = df[["age", "income"]].to_numpy()
y = df["churn"].to_numpy()
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=1, stratify=y)
search = GridSearchCV(
    make_pipeline(StandardScaler(), LogisticRegression()), {"logisticregression__C": [0.1, 1.0]}, cv=3
)
search.fit(X_tr, y_tr)
p = search.predict_proba(X_te)[:, 1]
fpr, tpr, _ = roc_curve(y_te, p)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.5))
ax1.plot(fpr, tpr, label=f"AUC={roc_auc_score(y_te, p):.2f}")
ax1.plot([0, 1], [0, 1], "--", color="grey")
ax1.legend()
ConfusionMatrixDisplay.from_predictions(y_te, (p > 0.5).astype(int), ax=ax2)
fig.savefig("roc.png", dpi=72)
pd.DataFrame(
    {
        "metric": ["auc", "f1", "best_C"],
        "value": [roc_auc_score(y_te, p), f1_score(y_te, p > 0.5), search.best_params_["logisticregression__C"]],
    }
).to_csv("metrics.csv", index=False)
print(np.round(p[:5], 3))
