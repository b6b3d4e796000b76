#!/usr/bin/env python3
"""Train a fraud model in Python on FraudStream's training matrix and save what `fraudstream models import` reads.

    python3 Fixtures/python/train_model.py --library xgboost --rows rows.csv --out model/

reads an `fraudstream export-features` CSV (in event-time order), trains one binary classifier on the first 80% of its
rows (--train-fraction), so the last 20% stay unseen for `models import`'s evaluation and `fraudstream backtest`, and
writes into --out:

    model.json | model.txt | model.onnx   the model, in the format `models import --format` names
    predictions.csv                       transaction_id,probability: the library's own predictions for every row
    check.csv                             the rows the predictions are for (--missing-rate blanks some cells to NaN)
    import.txt                            the `fraudstream models import` arguments for this model, one per line

For the scikit-learn models the predictions are the ONNX model's (onnxruntime): skl2onnx rounds thresholds to float32.

Libraries: xgboost, lightgbm (their own file formats), and through ONNX: sklearn-rf (RandomForestClassifier),
sklearn-gb (GradientBoostingClassifier), sklearn-hgb (HistGradientBoostingClassifier) with skl2onnx, xgboost-onnx and
lightgbm-onnx with onnxmltools. The predictions always come from the library that trained the model, so the
import's parity check compares FraudStream with the library, not with a converter.
"""
import argparse
import csv
import math
import os
import random
import sys

LABEL, SCENARIO = "is_fraud", "fraud_scenario"


def read_rows(path):
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        features = header[2:header.index(LABEL)]
        ids, matrix, labels, raw = [], [], [], []
        for fields in reader:
            if not fields:
                continue
            raw.append(fields)
            ids.append(fields[0])
            matrix.append([float(v) for v in fields[2:2 + len(features)]])
            labels.append(int(fields[2 + len(features)]))
    return header, features, ids, matrix, labels, raw


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--library", required=True,
                        choices=["xgboost", "lightgbm", "sklearn-rf", "sklearn-gb", "sklearn-hgb", "xgboost-onnx", "lightgbm-onnx"])
    parser.add_argument("--rows", required=True, help="an export-features CSV")
    parser.add_argument("--out", required=True, help="the directory to write into")
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--missing-rate", type=float, default=0.0,
                        help="blank this share of feature cells to NaN (libraries with native missing values only)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--train-fraction", type=float, default=0.8,
                        help="train on this first share of the rows (event-time order); the rest stay unseen")
    args = parser.parse_args()

    import warnings
    warnings.filterwarnings("ignore", message=".*feature names.*")
    import numpy as np

    header, features, ids, matrix, labels, raw = read_rows(args.rows)
    X = np.array(matrix, dtype=np.float64)
    y = np.array(labels)
    if args.missing_rate > 0:
        if args.library in ("sklearn-rf", "sklearn-gb"):
            sys.exit(f"--missing-rate: {args.library} has no native missing values")
        rng = random.Random(args.seed)
        for row in range(X.shape[0]):
            for column in range(X.shape[1]):
                if rng.random() < args.missing_rate:
                    X[row, column] = math.nan
    os.makedirs(args.out, exist_ok=True)
    library = args.library
    extra_note = ""
    cut = max(1, min(len(ids), int(len(ids) * args.train_fraction)))
    X_train, y_train = X[:cut], y[:cut]
    extra = []

    if library in ("xgboost", "xgboost-onnx"):
        import xgboost as xgb
        model = xgb.XGBClassifier(n_estimators=args.trees, max_depth=args.depth, learning_rate=0.1,
                                  objective="binary:logistic", random_state=args.seed, n_jobs=1)
        if library == "xgboost":
            model.fit(X_train, y_train)
            model.get_booster().feature_names = features
            path, form = os.path.join(args.out, "model.json"), "xgboost-json"
            model.get_booster().save_model(path)
            probabilities = model.get_booster().inplace_predict(X)
        else:
            model.fit(X_train, y_train)
            probabilities = model.predict_proba(X)[:, 1]
            from onnxmltools import convert_xgboost
            from onnxmltools.convert.common.data_types import FloatTensorType
            onnx_model = convert_xgboost(model, initial_types=[("X", FloatTensorType([None, len(features)]))])
            path, form = os.path.join(args.out, "model.onnx"), "onnx"
            extra = ["--features", ",".join(features)]
    elif library in ("lightgbm", "lightgbm-onnx"):
        import lightgbm as lgb
        model = lgb.LGBMClassifier(n_estimators=args.trees, max_depth=args.depth, num_leaves=min(2 ** args.depth - 1, 63),
                                   learning_rate=0.1, random_state=args.seed, n_jobs=1, verbose=-1)
        model.fit(X_train, y_train, feature_name=features)
        probabilities = model.predict_proba(X)[:, 1]
        if library == "lightgbm":
            path, form = os.path.join(args.out, "model.txt"), "lightgbm-text"
            model.booster_.save_model(path)
        else:
            from onnxmltools import convert_lightgbm
            from onnxmltools.convert.common.data_types import FloatTensorType
            onnx_model = convert_lightgbm(model, initial_types=[("X", FloatTensorType([None, len(features)]))], zipmap=False)
            path, form = os.path.join(args.out, "model.onnx"), "onnx"
            extra = ["--features", ",".join(features)]
    else:
        from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
        if library == "sklearn-rf":
            model = RandomForestClassifier(n_estimators=args.trees, max_depth=args.depth, random_state=args.seed, n_jobs=1)
        elif library == "sklearn-gb":
            model = GradientBoostingClassifier(n_estimators=args.trees, max_depth=min(args.depth, 5), random_state=args.seed)
        else:
            model = HistGradientBoostingClassifier(max_iter=args.trees, max_depth=args.depth, random_state=args.seed)
        model.fit(X_train, y_train)
        from skl2onnx import to_onnx
        onnx_model = to_onnx(model, X[:1].astype(np.float32), options={id(model): {"zipmap": False}})
        # skl2onnx rounds scikit-learn's float64 thresholds to float32, so a value between a threshold and its
        # rounding takes the other branch in the ONNX model than in scikit-learn: the ONNX model's own predictions
        # (onnxruntime) are the reference, and how far scikit-learn is from them is printed.
        import onnxruntime
        session = onnxruntime.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
        outputs = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})
        probabilities = np.asarray(outputs[1], dtype=np.float64)[:, 1]
        drift = float(np.max(np.abs(probabilities - model.predict_proba(X)[:, 1])))
        extra_note = f"; scikit-learn's own predictions differ from its ONNX conversion's by up to {drift:.2e}"
        path, form = os.path.join(args.out, "model.onnx"), "onnx"
        extra = ["--features", ",".join(features)]

    if form == "onnx":
        with open(path, "wb") as handle:
            handle.write(onnx_model.SerializeToString())

    check = os.path.join(args.out, "check.csv")
    with open(check, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row, fields in enumerate(raw):
            cells = ["nan" if math.isnan(v) else fields[2 + column] for column, v in enumerate(X[row])]
            writer.writerow(fields[:2] + cells + fields[2 + len(features):])
    predictions = os.path.join(args.out, "predictions.csv")
    with open(predictions, "w") as handle:
        handle.write("transaction_id,probability\n")
        for transaction, probability in zip(ids, probabilities):
            handle.write(f"{transaction},{float(probability)!r}\n")
    arguments = [path, "--format", form, "--check", check, "--expected", predictions] + extra
    with open(os.path.join(args.out, "import.txt"), "w") as handle:
        handle.write("\n".join(arguments) + "\n")
    import shlex
    print(f"{library}: trained on the first {cut} of {len(ids)} rows ({int(y_train.sum())} fraud); wrote {path} and {predictions}{extra_note}")
    print("fraudstream models import " + " ".join(shlex.quote(a) for a in arguments))


if __name__ == "__main__":
    main()
