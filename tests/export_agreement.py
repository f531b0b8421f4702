"""Checks a script written by `lamina export --pytorch` against Lamina.

With --lamina and --data: imports the script, rebuilds the model, loads the
checkpoint's weights with the script's own load_lamina_weights, predicts the
first --count test images of an IDX dataset folder (read with gzip and
numpy: no downloads) and compares with the predictions of
`lamina export --predictions` for the same images. Prints the agreement and
exits 1 when it is below --min-agreement.

With --table (a model trained on a table of numbers): reads the table with
the script's own read_table, predicts its test rows and compares with
`lamina export --predictions`: for a regression the values in the targets'
units, which must agree within --max-abs-diff; for a classification the
classes, which must agree at --min-agreement.

With --smoke: runs one training step of the script's model, loss and
optimizer on random images of the script's input shape instead.

Exits 2 when something fails before the comparison: a script that does
not load or lacks a name the export promises, or lamina failing.
"""
import argparse
import gzip
import importlib.util
import os
import subprocess
import sys

import numpy as np
import torch

PROMISED_NAMES = ("build_model", "load_lamina_weights", "normalize", "MEAN",
                  "STD", "INPUT_SHAPE", "NUM_CLASSES", "loss_fn",
                  "make_optimizer", "load_datasets", "main")


def fail(message):
    print(f"export_agreement: {message}", file=sys.stderr)
    sys.exit(2)


def import_script(path):
    spec = importlib.util.spec_from_file_location("exported_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    missing = [name for name in PROMISED_NAMES if not hasattr(module, name)]
    if missing:
        fail(f"{path}: missing {', '.join(missing)}")
    # The dataset part imports torchvision when it runs, not on import.
    if "torchvision" in sys.modules:
        fail(f"{path}: importing it imported torchvision")
    return module


def read_idx(path):
    """An IDX file, plain or gzip-compressed (by content), as an array."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    rank = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big")
                  for i in range(rank))
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank)
    return values.reshape(shape)


def find_file(folder, name):
    for candidate in (name + ".gz", name):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(os.path.join(folder, name))


def torch_predictions(module, weights, folder, count):
    model = module.build_model()
    module.load_lamina_weights(model, weights)
    model.eval()
    images = read_idx(find_file(folder, "t10k-images-idx3-ubyte"))[:count]
    labels = read_idx(find_file(folder, "t10k-labels-idx1-ubyte"))[:count]
    # As transforms.ToTensor() gives them: (N, 1, H, W) in [0, 1].
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    with torch.no_grad():
        outputs = model(module.normalize(x))
    return outputs.argmax(1).tolist(), labels.tolist()


def lamina_output(command):
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                check=False)
    except OSError as error:
        fail(f"cannot run {binary}: {error}")
    if result.returncode != 0:
        fail(f"lamina export --predictions failed ({result.returncode}): "
             f"{result.stderr.strip()}")
    return result.stdout.split()


def lamina_predictions(binary, weights, folder, count):
    return [int(line) for line in lamina_output(
        [binary, "export", "--predictions", "--load", weights, "--data",
         folder, "--count", str(count), "--device", "cpu"])]


TABLE_NAMES = ("read_table", "unscale", "TABLE", "INPUTS", "TARGETS", "TASK",
               "CLASSES", "TARGET_MEAN", "TARGET_STD")


def table_agreement(module, args):
    """The script's predictions for the table's test rows against Lamina's."""
    missing = [name for name in TABLE_NAMES if not hasattr(module, name)]
    if missing:
        fail(f"{args.script}: missing {', '.join(missing)}")
    model = module.build_model()
    module.load_lamina_weights(model, args.weights)
    model.eval()
    x, y, test = module.read_table(args.data or module.TABLE)
    with torch.no_grad():
        outputs = model(module.normalize(x[test]))
    command = [args.lamina, "export", "--predictions", "--load", args.weights,
               "--device", "cpu"]
    if args.data:
        command += ["--data", args.data]
    lines = lamina_output(command)
    if len(lines) != len(test):
        fail(f"lamina gave {len(lines)} predictions for {len(test)} test rows")
    if module.TASK == "regression":
        ours = module.unscale(outputs).double()
        theirs = torch.tensor([[float(v) for v in line.split(",")]
                               for line in lines], dtype=torch.float64)
        if ours.shape != theirs.shape:
            fail(f"shapes differ: pytorch {tuple(ours.shape)}, lamina "
                 f"{tuple(theirs.shape)}")
        diff = (ours - theirs).abs().max().item()
        actual = y[test].double()
        mse_torch = ((ours - actual) ** 2).mean().item()
        mse_lamina = ((theirs - actual) ** 2).mean().item()
        print(f"max abs difference {diff:.3g} over {ours.shape[0]} rows x "
              f"{ours.shape[1]} targets; MSE pytorch {mse_torch:.6g}, lamina "
              f"{mse_lamina:.6g}")
        return 0 if diff <= args.max_abs_diff else 1
    ours = outputs.argmax(1).tolist()
    theirs = [int(line) for line in lines]
    labels = y[test].tolist()
    same = sum(a == b for a, b in zip(ours, theirs))
    agreement = same / len(ours)
    torch_accuracy = sum(a == b for a, b in zip(ours, labels)) / len(ours)
    lamina_accuracy = sum(a == b for a, b in zip(theirs, labels)) / len(ours)
    print(f"agreement {agreement:.4f} ({same} of {len(ours)} rows); "
          f"accuracy pytorch {torch_accuracy:.4f}, lamina {lamina_accuracy:.4f}")
    return 0 if agreement >= args.min_agreement else 1


def smoke(module):
    """One training step on random images: the script's pieces fit."""
    model = module.build_model()
    optimizer = module.make_optimizer(model)
    images = module.normalize(torch.rand(4, *module.INPUT_SHAPE))
    if getattr(module, "TASK", None) == "regression":
        labels = torch.randn(4, module.NUM_CLASSES)  # standardised targets
    else:
        labels = torch.randint(0, module.NUM_CLASSES, (4,))
    outputs = model(images)
    if tuple(outputs.shape) != (4, module.NUM_CLASSES):
        fail(f"output shape {tuple(outputs.shape)}, expected "
             f"(4, {module.NUM_CLASSES})")
    # The script's own training loop, over one batch.
    before = [p.detach().clone() for p in model.parameters()]
    result = module.train_one_epoch(model, [(images, labels)], optimizer,
                                    "cpu")
    loss = result[0] if isinstance(result, tuple) else result
    changed = sum(not torch.equal(a, p.detach())
                  for a, p in zip(before, model.parameters()))
    if before and not changed:
        fail("a training step changed no parameter")
    print(f"smoke: {len(model)} layers, loss {loss:.4f}, "
          f"{changed} of {len(before)} parameter tensors changed")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", required=True)
    parser.add_argument("--weights")
    parser.add_argument("--data", help="IDX dataset folder (with --table: "
                        "the table, default the script's TABLE)")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--lamina", help="the lamina binary")
    parser.add_argument("--min-agreement", type=float, default=0.999)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--max-abs-diff", type=float, default=1e-4)
    args = parser.parse_args()

    module = import_script(args.script)
    if args.smoke:
        return smoke(module)
    if args.table:
        if not (args.weights and args.lamina):
            parser.error("--weights and --lamina are needed with --table")
        return table_agreement(module, args)
    if not (args.weights and args.data and args.lamina):
        parser.error("--weights, --data and --lamina are needed without "
                     "--smoke")

    ours, labels = torch_predictions(module, args.weights, args.data,
                                     args.count)
    theirs = lamina_predictions(args.lamina, args.weights, args.data,
                                args.count)
    if len(theirs) != len(ours):
        fail(f"lamina gave {len(theirs)} predictions for {len(ours)} "
             "images")
    same = sum(a == b for a, b in zip(ours, theirs))
    agreement = same / len(ours)
    torch_accuracy = sum(a == b for a, b in zip(ours, labels)) / len(ours)
    lamina_accuracy = sum(a == b for a, b in zip(theirs, labels)) / len(ours)
    print(f"agreement {agreement:.4f} ({same} of {len(ours)} images); "
          f"accuracy pytorch {torch_accuracy:.4f}, lamina "
          f"{lamina_accuracy:.4f}")
    return 0 if agreement >= args.min_agreement else 1


if __name__ == "__main__":
    sys.exit(main())
