# expect: clusters.png
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

df = pd.read_csv("input.csv")
X = df[["age", "income"]].to_numpy()
labels = KMeans(n_clusters=3, n_init=5, random_state=0).fit_predict(X)
pts = PCA(n_components=2).fit_transform(X)
fig, ax = plt.subplots()
ax.scatter(pts[:, 0], pts[:, 1], c=labels, s=8)
fig.savefig("clusters.png", dpi=72)
