"""The translation study: every phase, method and metric of a tiny study; decoding and BLEU on
pairs whose translation is known; exact resume; usage errors.

The data is a small French-English phrase book written here (a Tatoeba-layout file),
so the tests do not depend on the machine's gettext catalogs.
"""
import itertools
import json

import numpy as np
import pytest

import minigrad as mg
from experiments.__main__ import main
from experiments.datasets.vocab import Vocab
from experiments.study import translation as tr
from experiments.study import translation_data as td
from experiments.study.trial import read_record, run_trial

SUBJECTS = [("le chat", "the cat"), ("le chien", "the dog"), ("la femme", "the woman"), ("l'homme", "the man"),
            ("la fille", "the girl")]
VERBS = [("mange", "eats", "eat"), ("voit", "sees", "see"), ("aime", "likes", "like"), ("prend", "takes", "take")]
OBJECTS = [("la pomme", "the apple"), ("le pain", "the bread"), ("la balle", "the ball"), ("le livre", "the book")]
# the smoke profile: two epochs of 4 steps (Lookahead, k 5, synchronises once), a 16-wide model
SETTINGS = ["--set", "eval_batch=64"]


@pytest.fixture(scope="module")
def phrasebook(tmp_path_factory):
    """160 pairs in manythings.org's layout (English<TAB>French<TAB>attribution)."""
    lines = []
    for (fs, es), (fv, e3, e1), (fo, eo) in itertools.product(SUBJECTS, VERBS, OBJECTS):
        lines.append(f"{es} {e3} {eo}.\t{fs} {fv} {fo}.\tCC-BY")
        lines.append(f"{es} does not {e1} {eo}.\t{fs} ne {fv} pas {fo}.\tCC-BY")
    path = tmp_path_factory.mktemp("tatoeba") / "fra.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def study(phrasebook, tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    args = ["study", "translation", "--profile", "smoke", "--seeds", "1", "--workers", "0",
            "--data", f"tatoeba:{phrasebook}", "--out", str(out)] + SETTINGS
    assert main(args) == 0
    return out / "translation"


def _results(study):
    with open(study / "results.json", encoding="utf-8") as f:
        return json.load(f)


def test_every_phase_method_and_metric(study):
    res = _results(study)
    trials = {(t["phase"], t["method"]): t for t in res["trials"]}
    assert set(trials) == {(p, m) for p, ms in tr.PHASES.items() for m in ms}
    assert set(tr.PHASES["main"]) == {"SGD", "SGDM", "AdaGrad", "RMSProp", "Adadelta", "Adam", "AdamW", "RAdam",
                                      "Ranger"}
    for (phase, method), t in trials.items():
        m = t["metrics"]
        assert set(m) >= {"time_s", "val_loss", "test_loss", "accuracy", "bleu"}, (phase, method)
        assert m["time_s"] > 0 and m["val_loss"] > 0 and m["test_loss"] > 0
        assert 0 <= m["accuracy"] <= 100 and 0 <= m["bleu"] <= 100
        assert m["val_loss"] == t["curves"]["valid_loss"][-1]
        assert len(t["curves"]["train_loss"]) == 2 and t["config"]["d_model"] == 16
        assert "tok:none" in t["bleu_signature"] and t["decoding"] == "greedy"
    # the settings of the phases
    assert trials[("lr", "Adam-small")]["setting"]["factor"] == 0.1
    assert trials[("lr", "Adam-large")]["setting"]["factor"] == 10.0
    assert trials[("warmup", "Adadelta-short")]["setting"]["warmup_steps"] == 2
    assert trials[("lookahead", "LaSGDM")]["setting"] == {"optimizer": "SGDM", "lookahead": True,
                                                          "warmup_steps": 60, "factor": 1.0}
    # a repeated setting is the main trial's record, not a new training
    for phase, method, same in (("lr", "Adam-moderate", "Adam"), ("warmup", "Adadelta-long", "Adadelta"),
                                ("lookahead", "SGD", "SGD"), ("lookahead", "SGDM", "SGDM"),
                                ("lookahead", "Adadelta", "Adadelta")):
        t, ref = trials[(phase, method)], trials[("main", same)]
        assert t["same_as"] == f"main/{same}/seed0" and t["metrics"] == ref["metrics"]
        assert t["curves"] == ref["curves"]
    assert "same_as" not in trials[("lookahead", "LaSGD")]
    # Lookahead changes the result
    assert trials[("lookahead", "LaSGD")]["metrics"]["test_loss"] != trials[("main", "SGD")]["metrics"]["test_loss"]


def test_comparisons_and_report(study):
    res = _results(study)
    comps = res["comparisons"]
    sizes = {p: len(ms) * (len(ms) - 1) // 2 for p, ms in tr.PHASES.items()}
    assert len(comps) == sum(sizes.values()) * len(tr.METRICS) * 2
    n_test = res["corpus"]["splits"]["test"]["pairs"]
    for c in comps:
        assert c["metric"] in ("bleu", "accuracy", "test_loss") and c["test"] in ("wilcoxon", "mannwhitneyu")
        assert 0 <= c["p"] <= c["p_holm"] <= 1
        if c["test"] == "wilcoxon":
            assert c["n"] == n_test
    report = (study / "report.md").read_text(encoding="utf-8")
    for text in ("| Optimizer | time (s) | val loss | test loss | accuracy (%) | BLEU | seeds | original BLEU |",
                 "| 0.37 |", "| 8.45 |", "| 22.7 |", "peak lr", "warmup steps", "### Significance (lookahead)",
                 "Lookahead speeds up SGD and SGDM but not Adadelta", "60 warmup steps beat 6,000",
                 "far higher BLEU", "tok:none", "curves_main.png", "Adam-moderate = main Adam"):
        assert text in report, text
    for phase in tr.PHASES:
        assert (study / f"curves_{phase}.png").stat().st_size > 1000


def _identity_split(n=12, seed=0):
    words = "un deux trois quatre cinq six".split()
    rng = np.random.default_rng(seed)
    sents = [[str(w) for w in rng.choice(words, size=rng.integers(2, 5), replace=False)] for _ in range(n)]
    vocab = Vocab(words)
    return td.PreparedSplit(td.encode_pairs([(s, s) for s in sents], vocab, vocab)), vocab, sents


def test_a_transformer_trained_to_copy_translates_exactly():
    import optim

    split, vocab, sents = _identity_split()
    cfg = dict(tr.PROFILES["smoke"].to_dict(), d_model=32, dim_feedforward=64, dropout=0.0, max_len=8)
    model = tr.build_model(cfg, {"src": vocab, "tgt": vocab}, 0)
    opt = optim.Adam(model.parameters(), lr=0.01)
    src, tgt = split.batch(np.arange(len(split)))
    for _ in range(200):
        opt.zero_grad()
        loss = model.loss(src, tgt)
        loss.backward()
        opt.step()
        if loss.item() < 2e-3:
            break
    metrics, per, preds, signature = tr.evaluate(model, split, vocab, max_len=7, batch=5)
    assert preds == sents
    assert metrics["accuracy"] == 100.0 and metrics["bleu"] == pytest.approx(100.0)
    assert np.allclose(per["bleu"], 100.0) and np.all(per["accuracy"] == 100.0)
    assert metrics["test_loss"] < 0.01 and "tok:none" in signature


class _FixedModel:
    """Translates every source into a given output; its logits always favour token 4."""

    def __init__(self, outputs, vocab):
        self.outputs, self.vocab, self.calls = outputs, vocab, 0

    def eval(self):
        pass

    def greedy_decode(self, src, max_len=None):
        out = self.outputs[self.calls:self.calls + len(src)]
        self.calls += len(src)
        return [self.vocab.encode(o, add_eos=True) for o in out]

    def __call__(self, src, tgt_in):
        logits = np.zeros(tgt_in.shape + (len(self.vocab),), dtype=np.float32)
        logits[..., 4] = 1.0
        return mg.tensor(logits)


def test_bleu_and_accuracy_of_known_translations():
    from sacrebleu.metrics import BLEU

    split, vocab, sents = _identity_split(n=6, seed=1)
    outputs = [list(sents[0]), [], sents[2][:-1], list(sents[3]), ["six", "six"], list(sents[5])]
    metrics, per, preds, _ = tr.evaluate(_FixedModel(outputs, vocab), split, vocab, max_len=7, batch=4)
    assert preds == outputs
    hyps, refs = [" ".join(o) for o in outputs], [" ".join(s) for s in sents]
    assert metrics["bleu"] == pytest.approx(BLEU(tokenize="none").corpus_score(hyps, [refs]).score)
    sent = BLEU(tokenize="none", effective_order=True)
    assert per["bleu"] == pytest.approx([sent.sentence_score(h, [r]).score for h, r in zip(hyps, refs)])
    assert per["bleu"][0] == pytest.approx(100.0) and per["bleu"][1] == 0.0
    # teacher forced: token id 4 ("un") is always predicted, so a sentence's accuracy counts its "un"s
    # among its tokens and </s>
    expected = [100.0 * s.count("un") / (len(s) + 1) for s in sents]
    assert per["accuracy"] == pytest.approx(expected)
    total = sum(len(s) + 1 for s in sents)
    assert metrics["accuracy"] == pytest.approx(100.0 * sum(s.count("un") for s in sents) / total)


def test_resumed_trial_equals_an_uninterrupted_one(phrasebook, tmp_path):
    profile = tr.get_profile("smoke")
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        tr.prepare(tmp_path / name, f"tatoeba:{phrasebook}", profile)
    spec = next(s for s in tr.trial_specs(profile, [0], tr.select_methods("lookahead:LaAdadelta"))
                if s.method == "LaAdadelta")
    whole = run_trial(spec, tmp_path / "a", tr.make_trainer)
    assert run_trial(spec, tmp_path / "b", tr.make_trainer, stop_after_epochs=1)["status"] == "stopped"
    assert read_record(tmp_path / "b", spec) is None
    resumed = run_trial(spec, tmp_path / "b", tr.make_trainer)
    assert resumed["metrics"] == {**whole["metrics"], "time_s": resumed["metrics"]["time_s"]}
    assert resumed["curves"] == whole["curves"] and len(whole["curves"]["train_loss"]) == profile.epochs


def test_data_split_and_vocabulary(phrasebook, tmp_path):
    profile = tr.get_profile("smoke")
    corpus = tr.prepare(tmp_path, f"tatoeba:{phrasebook}", profile)
    sizes = {k: v["pairs"] for k, v in corpus["splits"].items()}
    assert sizes == {"train": 128, "valid": 16, "test": 16}
    splits, vocabs = td.load(tmp_path)
    assert splits["test"].references[0][-1] == "." and vocabs["src"]["l'"] != vocabs["src"].unk_id
    train = {tuple(r) for r in splits["train"].references}
    assert all(tuple(r) not in train for r in splits["test"].references)    # no test sentence is trained on
    assert (splits["train"].tgt[:, 0] == vocabs["tgt"].bos_id).all()
    assert tr.prepare(tmp_path, f"tatoeba:{phrasebook}", profile) == corpus   # prepared once
    with pytest.raises(ValueError, match="other data settings"):
        tr.prepare(tmp_path, f"tatoeba:{phrasebook}", tr.get_profile("quick"))


@pytest.mark.parametrize("args, message", [
    (["--methods", "SGD,Nope"], "unknown method 'Nope'"),
    (["--methods", "nophase:SGD"], "unknown phase 'nophase'"),
    (["--data", "europarl"], "'gettext' or 'tatoeba:PATH'"),
    (["--data", "tatoeba:/no/such/file.tsv"], "no file"),
    (["--set", "hidden_size=3"], "--set expects KEY=VALUE"),
    (["--set", "epochs=0"], "epochs must be >= 1"),
    (["--set", "nhead=3"], "multiple of nhead"),
])
def test_usage_errors(args, message, capsys, tmp_path):
    assert main(["study", "translation", "--profile", "smoke", "--out", str(tmp_path)] + args) == 2
    assert message in capsys.readouterr().err


def test_method_selection_and_estimate():
    assert tr.select_methods("lookahead:LaSGD,Adadelta") == {
        "main": ["Adadelta"], "lr": [], "warmup": [], "lookahead": ["Adadelta", "LaSGD"]}
    assert tr.select_methods("warmup,main:Adam") == {"main": ["Adam"], "lr": [], "warmup": list(tr.WARMUP),
                                                      "lookahead": []}
    full = tr.get_profile("full")
    assert (full.epochs, full.batch_size, full.max_len, full.d_model, full.nhead, full.num_layers,
            full.warmup_steps, full.short_warmup) == (15, 128, 32, 32, 2, 2, 6000, 60)
    specs = tr.trial_specs(full, [0, 1], tr.select_methods(None))
    assert len(specs) == 2 * 20 and sum(1 for s in specs if s.depends_on) == 2 * 5
    # only main selected for the copies' settings: lookahead's SGD is trained on its own
    alone = tr.trial_specs(full, [0], tr.select_methods("lookahead:SGD"))
    assert [s.depends_on for s in alone] == [()]
    corpus = {"splits": {"train": {"pairs": 1000}}}
    assert tr.estimate_seconds(full, corpus, tr.select_methods(None), 5, 1e-3) == pytest.approx(
        1e-3 * 1000 * 15 * 15 * 5 * 1.15)
