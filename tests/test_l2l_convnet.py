"""The paper's convnet as an optimizee (issue 30, item 2): shapes, seeding, splits, the
loss, the command line end to end on a tiny configuration, and the two-LSTM checkpoint."""

import json
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import grad
from minigrad.l2l import problems as P
from minigrad.l2l.checkpoints import load_learned_optimizer, read_checkpoint
from minigrad.l2l.cli import main
from minigrad.l2l.evaluate import LearnedRule, rollout
from minigrad.l2l.flat import Flattener
from minigrad.l2l.grouped import GroupedLSTMOptimizer
from minigrad.l2l.launch import build_trainer
from minigrad.l2l.lstm_optimizer import LSTMOptimizer, net_defaults
from minigrad.l2l.meta import MetaConfig
from minigrad.l2l.problems import ConvNetProblem, make_problem, problem_from_config

TINY = dict(conv_channels=(2, 3), linear=(4,), batch_size=16)


def _sgd_losses(instance, steps, lr):
    arrays = instance.init_params()
    flat = Flattener.like(arrays)
    theta, losses = flat.flatten(arrays), []
    for t in range(steps):
        leaves = flat.leaves(theta)
        loss = instance.loss(leaves, t)
        losses.append(loss.item())
        theta = theta - lr * flat.flatten([g.data for g in grad(loss, leaves)])
    return losses


def test_default_convnet_is_the_official_cifar10_network():
    prob = ConvNetProblem("mnist")
    names = prob.names
    assert names[:3] == ["conv1.weight", "conv1.bias", "conv1.bn.bias"]
    assert names[-5:] == ["fc1.weight", "fc1.bias", "fc1.bn.bias", "fc2.weight", "fc2.bias"]
    shapes = dict(zip(names, prob.shapes))
    assert shapes["conv1.weight"] == (16, 1, 5, 5) and shapes["conv3.weight"] == (16, 16, 5, 5)
    # 28 -> 14 -> 7 -> 4 with "same" pooling: 16 * 4 * 4 inputs to the 32 units
    assert shapes["fc1.weight"] == (256, 32) and shapes["fc2.weight"] == (32, 10)
    groups = prob.param_groups()
    assert groups["conv"] == ["conv1.weight", "conv2.weight", "conv3.weight"]
    assert "conv1.bias" in groups["fc"] and "fc1.bn.bias" in groups["fc"]
    assert prob.batch_size == 128 and prob.batch_norm


def test_instance_shapes_init_seeding_and_batches():
    prob = ConvNetProblem("mnist", **TINY)
    a, b, c = prob.sample((0, 1, 0)), prob.sample((0, 1, 0)), prob.sample((0, 1, 1))
    pa, pb, pc = a.init_params(), b.init_params(), c.init_params()
    assert [p.shape for p in pa] == [tuple(s) for s in prob.shapes]
    assert a.param_kinds() == prob.kinds
    for name, x, y, z in zip(prob.names, pa, pb, pc):
        np.testing.assert_array_equal(x, y)
        if ".bn." in name:
            assert not x.any()  # offsets start at 0
        else:
            assert not np.array_equal(x, z) and np.abs(x).max() < 0.06
    kernels = np.concatenate([p.ravel() for p, n in zip(pa, prob.names) if "weight" in n])
    assert 0.008 < kernels.std() < 0.012  # N(0, 0.01^2)
    x3, y3 = a.batch(3)
    assert x3.shape == (16, 1, 28, 28) and x3.dtype == np.float32 and 0 <= x3.min()
    assert x3.max() <= 1 and x3.max() > 0.9
    np.testing.assert_array_equal(b.batch(3)[0], x3)  # minibatch t: a function of (seed, t)
    assert not np.array_equal(a.batch(4)[0], x3)
    assert not np.array_equal(c.batch(3)[0], x3)
    # the loss is deterministic, starts near ln 10, and is the same however often evaluated
    l1, l2 = a.loss([mg.tensor(p) for p in pa], 3).item(), b.loss(pb, 3).item()
    assert l1 == l2 and abs(l1 - np.log(10)) < 0.05


def test_splits_are_disjoint_and_follow_the_mnist_discipline():
    data = P._convnet_data("mnist", 0)
    assert [len(data[s][1]) for s in ("train", "val", "test")] == [3000, 1000, 1000]
    assert data["train"][0].dtype == np.uint8 and data["train"][0].shape[1:] == (1, 28, 28)
    from minigrad.data import mnist_splits

    ref = mnist_splits(seed=0, normalize=None)
    np.testing.assert_array_equal(data["test"][0].reshape(1000, -1), ref.test.images)
    for split in ("val", "test"):
        prob = ConvNetProblem("mnist", split=split, **TINY)
        assert prob.data()[1].shape == (1000,)


def test_sgd_lowers_the_loss():
    inst = ConvNetProblem("mnist", conv_channels=(4, 4), linear=(8,), batch_size=32).sample(1)
    losses = _sgd_losses(inst, 30, 0.5)
    assert np.isfinite(losses).all()
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.3


def test_odd_maps_pool_to_the_same_size_as_tensorflows_same_padding():
    h = mg.tensor(np.arange(2 * 1 * 7 * 5, dtype=np.float32).reshape(2, 1, 7, 5),
                  requires_grad=True)
    out = P._max_pool_same(h)
    assert out.shape == (2, 1, 4, 3)
    np.testing.assert_array_equal(out.data[0, 0, -1], h.data[0, 0, 6, [1, 3, 4]])
    out.sum().backward()
    assert h.grad.data.sum() == 2 * 4 * 3


def test_no_batch_norm_and_other_options():
    prob = ConvNetProblem("mnist", conv_channels=(2,), linear=(), batch_norm=False,
                          kernel_size=3, batch_size=1)
    assert prob.names == ["conv1.weight", "conv1.bias", "fc1.weight", "fc1.bias"]
    assert prob.shapes[2] == (2 * 14 * 14, 10)
    inst = prob.sample(0)
    assert np.isfinite(inst.loss(inst.init_params(), 0).item())
    cfg = prob.config()
    again = problem_from_config(cfg, split="test")
    assert again.config() == cfg and again.split == "test"
    assert json.loads(json.dumps(cfg)) == cfg


@pytest.mark.parametrize("kwargs, match", [
    ({"dataset": "svhn"}, "unknown dataset"),
    ({"split": "dev"}, "unknown split"),
    ({"conv_channels": ()}, "at least one convolutional"),
    ({"conv_channels": (4, 0)}, "conv_channels must be >= 1"),
    ({"linear": (-1,)}, "linear must be >= 1"),
    ({"kernel_size": 4}, "odd"),
    ({"batch_size": 1}, "batch_size must be >= 2 with batch norm"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConvNetProblem(**kwargs)


def test_make_problem_and_config_errors():
    assert isinstance(make_problem("convnet", split="val", **TINY), ConvNetProblem)
    with pytest.raises(ValueError, match="no optimizee choice"):
        make_problem("convnet", "sigmoid-20")
    with pytest.raises(ValueError, match="got also optimizee"):
        problem_from_config({"name": "convnet", "optimizee": "sigmoid-20"})


def test_cifar10_is_loaded_lazily_and_split_like_the_others(monkeypatch):
    P._convnet_data.cache_clear()
    P._convnet_split_on_device.cache_clear()
    try:
        monkeypatch.setitem(sys.modules, "minigrad.data.cifar10", None)  # not installed
        with pytest.raises(ValueError, match="needs minigrad.data.cifar10"):
            ConvNetProblem("cifar10")
        monkeypatch.undo()
        rng = np.random.default_rng(0)
        train_y = np.arange(10100) % 10
        train_x = np.broadcast_to((train_y * 25).astype(np.uint8)[:, None, None, None],
                                  (10100, 3, 32, 32))
        test_x, test_y = train_x[:50], rng.integers(0, 10, 50)
        monkeypatch.setattr(P, "_load_cifar10", lambda: (train_x, train_y, test_x, test_y))
        prob = ConvNetProblem("cifar10", **TINY)
        sizes = {s: len(P._convnet_data("cifar10", 0)[s][1]) for s in ("train", "val", "test")}
        assert sizes == {"train": 100, "val": 10000, "test": 50}
        x, y = prob.sample(0).batch(0)
        assert x.shape == (16, 3, 32, 32)
        np.testing.assert_allclose(x[:, 0, 0, 0], (y * 25) / 255, rtol=1e-6)  # p / 255
        assert prob.shapes[-5] == (3 * 8 * 8, 4)  # 32 -> 16 -> 8
    finally:
        P._convnet_data.cache_clear()
        P._convnet_split_on_device.cache_clear()


# ----- the learned optimizer on the convnet -------------------------------------------------------
def test_the_paper_default_is_two_lstms_with_the_problems_assignment():
    assert net_defaults("convnet")["groups"] == ["conv", "fc"]
    trainer = build_trainer("convnet", {**net_defaults("convnet"), "hidden_size": 3},
                            MetaConfig(steps=2, unroll=1).to_dict(), dict(TINY), "float32")
    net = trainer.net
    assert isinstance(net, GroupedLSTMOptimizer) and net.groups == ("conv", "fc")
    assert net.assignment == trainer.problem.param_groups()
    trainer.train(1)
    merged = build_trainer("convnet", {**net_defaults("convnet"), "groups": []},
                           MetaConfig().to_dict(), dict(TINY), "float32")
    assert type(merged.net) is LSTMOptimizer  # one LSTM for all (LSTM-merged)


def _train_args(out, *extra):
    return ["train", "--problem", "convnet", "--conv-channels", "2,2", "--linear", "4",
            "--steps", "4", "--unroll", "2", "--hidden-size", "3", "--out", str(out),
            "--no-progress", "--threads", "1", *extra]


def test_train_evaluate_and_resume_a_tiny_convnet_optimizer(tmp_path, capsys):
    out = tmp_path / "cnn.npz"
    assert main(_train_args(out, "--meta-iters", "2", "--val-every", "1", "--val-runs",
                            "1")) == 0
    arrays, meta = read_checkpoint(out, "convnet")
    assert meta["iteration"] == 2 and meta["problem"]["conv_channels"] == [2, 2]
    assert meta["net"]["groups"] == ["conv", "fc"]
    assert meta["net"]["assignment"]["conv"] == ["conv1.weight", "conv2.weight"]
    assert {k.split(".")[1] for k in arrays if k.startswith(("net.", "best."))} == {"conv",
                                                                                   "fc"}
    # round trip: the loaded optimizer is the trained one, and steps the same
    net, info = load_learned_optimizer(out, "convnet", weights="last")
    assert isinstance(net, GroupedLSTMOptimizer) and info["weights_used"] == "last"
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, arrays[f"net.{k}"])
    inst = ConvNetProblem("mnist", split="test", conv_channels=(2, 2), linear=(4,)).sample(0)
    losses = rollout(LearnedRule(net), inst, 3)
    np.testing.assert_array_equal(losses, rollout(LearnedRule(net), inst, 3))
    # resume continues; a different --groups is refused
    assert main(_train_args(out, "--resume", "--meta-iters", "3")) == 0
    assert read_checkpoint(out)[1]["iteration"] == 3
    assert main(_train_args(out, "--resume", "--meta-iters", "4", "--groups", "all")) == 2
    assert "--groups" in capsys.readouterr().err
    capsys.readouterr()
    js = tmp_path / "e.json"
    assert main(["evaluate", "--problem", "convnet", "--checkpoint", str(out), "--steps", "3",
                 "--runs", "2", "--lr-min", "0.1", "--lr-max", "0.3", "--optimizers",
                 "lstm,sgd", "--no-progress", "--threads", "1", "--json", str(js)]) == 0
    result = json.loads(js.read_text())
    assert result["problem_config"]["dataset"] == "mnist"
    assert len(result["lstm"]["curve"]) == 4 and "paired" in result
    assert "LSTM (learned)" in capsys.readouterr().out


def test_one_lstm_for_all_and_cli_errors(tmp_path, capsys):
    out = tmp_path / "merged.npz"
    assert main(_train_args(out, "--meta-iters", "1", "--groups", "all")) == 0
    meta = read_checkpoint(out)[1]
    assert "groups" not in meta["net"]
    assert type(load_learned_optimizer(out, "convnet")[0]) is LSTMOptimizer
    assert main(_train_args(out, "--resume", "--meta-iters", "2")) == 0  # stays one LSTM
    assert "groups" not in read_checkpoint(out)[1]["net"]
    for args, match in [
        (["train", "--problem", "mnist", "--dataset", "mnist"], "--dataset applies to the "
                                                               "convnet"),
        (["train", "--problem", "mnist", "--groups", "conv,fc"], "needs the convnet"),
        (["train", "--problem", "quadratic", "--linear", "3"], "--linear applies"),
        (["evaluate", "--problem", "convnet", "--optimizee", "relu-20"], "mnist problem only"),
    ]:
        capsys.readouterr()
        assert main(args + ["--out", str(tmp_path / "x.npz")] if args[0] == "train"
                    else args) == 2
        assert match in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--problem", "convnet", "--groups", "conv,bias"])


def test_evaluate_the_baselines_on_another_dataset(tmp_path, capsys):
    assert main(["evaluate", "--problem", "convnet", "--dataset", "mnist", "--steps", "2",
                 "--runs", "1", "--optimizers", "adam", "--lr-min", "0.01", "--lr-max", "0.01",
                 "--no-progress", "--threads", "1"]) == 0
    assert "Adam" in capsys.readouterr().out


@pytest.mark.slow
def test_parallel_trainer_gives_the_single_process_numbers_for_two_lstms():
    net_cfg = {**net_defaults("convnet"), "hidden_size": 3}
    meta = MetaConfig(steps=4, unroll=2, meta_lr=1e-2).to_dict()
    one = build_trainer("convnet", net_cfg, meta, dict(TINY), "float32")
    two = build_trainer("convnet", net_cfg, meta, dict(TINY), "float32", processes=2)
    try:
        one.train(2)
        two.train(2)
    finally:
        two.close()
    np.testing.assert_allclose(two.curve, one.curve, rtol=1e-5)
    for k, v in one.net.state_dict().items():
        np.testing.assert_allclose(two.net.state_dict()[k], v, rtol=1e-4, atol=1e-6, err_msg=k)


def test_two_lstms_take_the_meta_gradient_through_a_subset_on_one_process_or_two():
    """--meta-coordinates < 1 with one LSTM per group: both LSTMs train, and two processes give
    the one-process numbers (the subset is drawn from the horizon's seed, not per process)."""
    net_cfg = {**net_defaults("convnet"), "hidden_size": 3}
    meta = MetaConfig(steps=4, unroll=2, meta_lr=1e-2, meta_coordinates=0.25).to_dict()
    one = build_trainer("convnet", net_cfg, meta, dict(TINY), "float32")
    two = build_trainer("convnet", net_cfg, meta, dict(TINY), "float32", processes=2)
    before = one.net.state_dict()
    try:
        one.train(2)
        two.train(2)
    finally:
        one.close()
        two.close()
    after = one.net.state_dict()
    for grp in ("conv", "fc"):
        assert not np.array_equal(before[f"{grp}.head.weight"], after[f"{grp}.head.weight"])
    np.testing.assert_allclose(two.curve, one.curve, rtol=1e-5)
    for k, v in after.items():
        np.testing.assert_allclose(two.net.state_dict()[k], v, rtol=1e-4, atol=1e-6, err_msg=k)


# ----- a subset of the classes (the paper's LSTM-sub) ------------------------------------------
def test_a_class_subset_keeps_only_its_images_relabelled_and_sizes_the_output_layer():
    whole = ConvNetProblem("mnist", split="val", **TINY)
    sub = ConvNetProblem("mnist", split="val", classes="5-9", **TINY)
    assert sub.classes == (5, 6, 7, 8, 9) and sub.num_classes == 5
    assert dict(zip(sub.names, sub.shapes))["fc2.weight"] == (4, 5)
    images, labels = (np.asarray(a) for a in whole.data())
    sub_images, sub_labels = (np.asarray(a) for a in sub.data())
    keep = labels >= 5
    np.testing.assert_array_equal(sub_images, images[keep])  # the same images, in order
    np.testing.assert_array_equal(sub_labels, labels[keep] - 5)  # labelled 0..4
    inst = sub.sample((0, 1, 0))
    x, y = inst.batch(3)
    assert x.shape[0] == 16 and set(np.asarray(y).tolist()) <= set(range(5))
    loss = inst.loss(inst.init_params(), 3).item()
    assert abs(loss - np.log(5)) < 0.05  # chance among five classes, not ten
    assert "of classes 5,6,7,8,9" in sub.describe()
    assert sub.config()["classes"] == [5, 6, 7, 8, 9] and whole.config()["classes"] is None
    again = problem_from_config(sub.config(), split="test")
    assert again.classes == sub.classes and again.split == "test"
    assert P.parse_classes("0,2,4") == (0, 2, 4) and P.parse_classes(range(10)) is None
    for bad in ("3", "0,0", "8-10", "a-b", [1]):
        with pytest.raises(ValueError, match="classes must be"):
            ConvNetProblem("mnist", classes=bad, **TINY)


def test_train_on_some_classes_and_evaluate_on_others(tmp_path, capsys):
    out = tmp_path / "sub.npz"
    assert main(_train_args(out, "--meta-iters", "1", "--classes", "0-4")) == 0
    meta = read_checkpoint(out, "convnet")[1]
    assert meta["problem"]["classes"] == [0, 1, 2, 3, 4]
    capsys.readouterr()
    assert main(_train_args(out, "--resume", "--meta-iters", "2", "--classes", "5-9")) == 2
    assert "--classes [5, 6, 7, 8, 9] (checkpoint: [0, 1, 2, 3, 4])" in capsys.readouterr().err
    js = tmp_path / "held-out.json"
    assert main(["evaluate", "--problem", "convnet", "--checkpoint", str(out), "--steps", "2",
                 "--runs", "1", "--val-runs", "1", "--lr-min", "0.1", "--lr-max", "0.1",
                 "--optimizers", "lstm,sgd", "--classes", "5-9", "--no-progress",
                 "--threads", "1", "--json", str(js)]) == 0
    assert json.loads(js.read_text())["problem_config"]["classes"] == [5, 6, 7, 8, 9]
    capsys.readouterr()
    assert main(["train", "--problem", "mnist", "--classes", "0-4", "--out",
                 str(tmp_path / "x.npz")]) == 2
    assert "--classes applies to the convnet problem only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--problem", "convnet", "--classes", "0"])


# ----- transfer: another problem's learned optimizer on the convnet --------------------------
def test_the_shipped_mnist_optimizer_is_evaluated_on_the_convnet(tmp_path, capsys):
    js = tmp_path / "transfer.json"
    assert main(["evaluate", "--problem", "convnet", "--trained-on", "mnist", "--checkpoint",
                 "pretrained", "--steps", "2", "--runs", "1", "--lr-min", "0.1", "--lr-max",
                 "0.1", "--optimizers", "lstm,sgd", "--no-progress", "--threads", "1",
                 "--json", str(js)]) == 0
    result = json.loads(js.read_text())
    assert result["checkpoint"]["trained_on"] == "mnist"
    assert result["problem_config"]["name"] == "convnet"
    assert result["problem_config"]["dataset"] == "mnist"  # the convnet's defaults
    assert len(result["lstm"]["curve"]) == 3 and "paired" in result
    # the same weights as on MNIST: the shipped optimizer's, one LSTM
    net, _ = load_learned_optimizer("pretrained", "mnist")
    assert type(net) is LSTMOptimizer


def test_a_transfer_needs_one_lstm_and_the_learned_optimizer(tmp_path, capsys):
    out = tmp_path / "cnn.npz"
    assert main(_train_args(out, "--meta-iters", "1")) == 0  # two LSTMs: conv and fc
    capsys.readouterr()
    for args, match in [
        (["--problem", "mnist", "--trained-on", "convnet", "--checkpoint", str(out)],
         "a transfer needs a one-LSTM optimizer"),
        (["--problem", "convnet", "--trained-on", "mnist", "--checkpoint", str(out)],
         "trained on the 'convnet' problem, not the 'mnist' one"),
        (["--problem", "convnet", "--trained-on", "mnist", "--optimizers", "sgd"],
         "add 'lstm' to --optimizers"),
        (["--problem", "convnet", "--trained-on", "cifar", "--checkpoint", str(out)],
         "--trained-on 'cifar': unknown problem"),
    ]:
        assert main(["evaluate", *args, "--steps", "2", "--runs", "1", "--no-progress"]) == 2
        assert match in capsys.readouterr().err
