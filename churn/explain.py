"""Per-customer additive attributions for scikit-learn's HistGradientBoosting trees.

Path attribution (Saabas; what XGBoost computes with ``approx_contribs=True``):
every tree node carries the cover-weighted mean of the leaf values below it;
walking a customer's path from root to leaf, each split moves the expected
value from the parent's to the child's, and that move is credited to the split
feature. Per tree, the credits sum to ``leaf value - root expectation``, so
over the ensemble

    bias + sum(contributions) == the model's raw margin (log-odds), exactly.

Implementation: the credits depend only on the leaf a customer lands in, so
each leaf's credit vector is computed once when the explainer is built. At
explain time scikit-learn's own compiled tree walker finds the leaves (we hand
it a copy of each tree whose leaf "values" are the leaf numbers), and one
sparse-times-dense product sums the leaves' credit vectors: about a second per
100k customers for 200 trees, against ~1 ms per customer for exact TreeSHAP.

This leans on HistGradientBoosting internals (``_predictors``, ``TreePredictor``);
``tests/churn/test_reasons.py`` checks the additivity on every scikit-learn
upgrade. Pure numpy/scipy: no Django.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor


class TreePathExplainer:
    def __init__(self, model) -> None:
        predictors = getattr(model, "_predictors", None)
        if predictors is None:
            raise TypeError("needs a fitted HistGradientBoostingClassifier")
        if len(predictors) and len(predictors[0]) != 1:
            raise TypeError("only binary classification is supported")
        self.n_features = int(model.n_features_in_)
        self._model = model
        self.bias = float(np.ravel(model._baseline_prediction)[0])
        self._leaf_finders: list[TreePredictor] = []
        self._leaf_row: list[np.ndarray] = []  # node index -> row of the credit matrix
        credit_rows: list[np.ndarray] = []
        offset = 0
        for (predictor,) in predictors:
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise TypeError("categorical splits are not supported; encode categories numerically")
            expected = self._expected_values(nodes)
            self.bias += expected[0]
            leaves = np.flatnonzero(nodes["is_leaf"])
            leaf_row = np.full(len(nodes), -1, dtype=np.int64)
            leaf_row[leaves] = offset + np.arange(len(leaves))
            offset += len(leaves)
            credit_rows.append(self._leaf_credits(nodes, expected, leaves))
            finder_nodes = nodes.copy()
            finder_nodes["value"] = np.arange(len(nodes), dtype=np.float64)
            self._leaf_finders.append(
                TreePredictor(finder_nodes, predictor.binned_left_cat_bitsets, predictor.raw_left_cat_bitsets)
            )
            self._leaf_row.append(leaf_row)
        self._credits = np.vstack(credit_rows) if credit_rows else np.zeros((0, self.n_features))

    @staticmethod
    def _expected_values(nodes: np.ndarray) -> np.ndarray:
        """Cover-weighted mean leaf value under each node (children have higher indices)."""
        value = nodes["value"].astype(np.float64).copy()
        count = nodes["count"].astype(np.float64).copy()
        for i in range(len(nodes) - 1, -1, -1):
            if not nodes["is_leaf"][i]:
                left, right = nodes["left"][i], nodes["right"][i]
                total = count[left] + count[right]
                value[i] = (value[left] * count[left] + value[right] * count[right]) / total if total else 0.0
                count[i] = total
        return value

    def _leaf_credits(self, nodes: np.ndarray, expected: np.ndarray, leaves: np.ndarray) -> np.ndarray:
        credits = np.zeros((len(nodes), self.n_features))
        # Parents come before children, so one forward pass accumulates each path.
        for i in range(len(nodes)):
            if not nodes["is_leaf"][i]:
                f = nodes["feature_idx"][i]
                for child in (nodes["left"][i], nodes["right"][i]):
                    credits[child] = credits[i]
                    credits[child, f] += expected[child] - expected[i]
        return credits[leaves]

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """``(n, n_features)`` contributions to the raw margin; add ``self.bias`` for the margin."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        n, trees = X.shape[0], len(self._leaf_finders)
        if n == 0 or trees == 0:
            return np.zeros((n, self.n_features))
        known_cat_bitsets, f_idx_map = self._model._bin_mapper.make_known_categories_bitsets()
        leaf_rows = np.empty((n, trees), dtype=np.int64)
        for t, (finder, leaf_row) in enumerate(zip(self._leaf_finders, self._leaf_row, strict=True)):
            node = finder.predict(X, known_cat_bitsets, f_idx_map, n_threads=1).astype(np.int64)
            leaf_rows[:, t] = leaf_row[node]
        onehot = sparse.csr_matrix(
            (np.ones(n * trees), leaf_rows.ravel(), np.arange(0, n * trees + 1, trees)),
            shape=(n, self._credits.shape[0]),
        )
        return np.asarray(onehot @ self._credits)

    def margin(self, X: np.ndarray) -> np.ndarray:
        return self.bias + self.contributions(X).sum(axis=1)
