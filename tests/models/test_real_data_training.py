"""The models learn real data: each overfits a few dozen real examples (a learning
test, not a smoke test).

* ``Tree2Seq`` on method naming: ~40 small, ordinary Python functions (a tiny
  "project" written into ``tmp_path``) go through the project's own pipeline:
  :func:`~experiments.datasets.method_naming.build_python_corpus` (ASTs, name
  hidden by the placeholder, name subtokens as targets), the vocabularies of
  :meth:`MethodCorpus.build_vocabs` and :func:`batch_examples`; the model must
  reach a near-zero loss and name >= 90% of the functions exactly by greedy
  decoding. The same for a few Java methods when tree-sitter-java is installed.
* ``Transformer`` (d_model 32, 2 heads, 2 + 2 layers, the review paper's
  setting) on ~30 French-English messages written into a ``.mo`` catalog built
  here, read back with :func:`load_gettext_pairs` (its cleaning included) and
  tokenised with :mod:`experiments.datasets.vocab`; greedy translation must
  reproduce >= 90% of the English sides.
* ``LSTM`` + ``Linear``: a word-level language model of a short English text,
  batched as language models are (the text cut into a few parallel streams),
  must predict every next word.

Every fixture is written by the test itself, so the tests read nothing that only
some machines have. Seeds are fixed (minigrad and NumPy).
"""
import struct

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
import optim
from experiments.datasets import method_naming as mn
from experiments.datasets import parallel_text as pt
from experiments.datasets.vocab import Vocab, pad_sequences, tokenize
from minigrad import nn
from models import LSTM, Transformer, Tree2Seq


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Never write into the user's cache directory."""
    monkeypatch.setenv("MINIGRAD_DATA_DIR", str(tmp_path / "cache"))


def seed_all(seed):
    mg.manual_seed(seed)
    np.random.seed(seed)


def train(model, loss_fn, lr, max_steps, target):
    """Full-batch Adam until the loss is below ``target``; returns the losses."""
    opt = optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(max_steps):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if losses[-1] < target:
            break
    model.eval()
    final = loss_fn().item()   # the loss of the trained parameters, measured after the last step
    model.train()
    return losses, final


def exact_match(predicted, expected):
    return sum(p == e for p, e in zip(predicted, expected)) / len(expected)


# =========================================================================== method naming

PY_TEXT = '''\
"""Text helpers."""
import re

EMAIL_RE = re.compile(r"^[\\w.+-]+@[\\w-]+\\.[\\w.]+$")


def is_valid_email(address):
    """True when the address looks like an e-mail address."""
    return bool(EMAIL_RE.match(address.strip()))


def strip_comments(line, marker="#"):
    index = line.find(marker)
    return line if index < 0 else line[:index].rstrip()


def split_words(text):
    return [w for w in text.split() if w]


def count_words(text):
    counts = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 0) + 1
    return counts


def to_snake_case(name):
    out = []
    for ch in name:
        if ch.isupper() and out:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def truncate_text(text, limit=80, suffix="..."):
    if len(text) <= limit:
        return text
    return text[:limit - len(suffix)] + suffix


def normalize_whitespace(text):
    return " ".join(text.split())


def parse_header(line):
    key, _, value = line.partition(":")
    return key.strip().lower(), value.strip()
'''

PY_FILES = '''\
"""File helpers."""
import hashlib
import json
import os
import zlib


def read_config_file(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def write_config_file(path, config):
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(config, fh, indent=2, sort_keys=True)


def read_lines(path):
    with open(path) as fh:
        return [line.rstrip("\\n") for line in fh]


def compute_checksum(path, chunk_size=65536):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def crc_of_bytes(data):
    return zlib.crc32(data) & 0xFFFFFFFF


def ensure_directory(path):
    if not os.path.isdir(path):
        os.makedirs(path)
    return path


def file_extension(path):
    return os.path.splitext(path)[1].lower()


def list_python_files(root):
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if name.endswith(".py"):
                found.append(os.path.join(dirpath, name))
    return sorted(found)
'''

PY_MATH = '''\
"""Number and list helpers."""


def clamp_value(x, low, high):
    return max(low, min(high, x))


def mean_value(values):
    return sum(values) / len(values) if values else 0.0


def running_average(values):
    total, out = 0.0, []
    for i, v in enumerate(values, 1):
        total += v
        out.append(total / i)
    return out


def is_prime(n):
    if n < 2:
        return False
    for d in range(2, int(n ** 0.5) + 1):
        if n % d == 0:
            return False
    return True


def greatest_common_divisor(a, b):
    while b:
        a, b = b, a % b
    return a


def chunk_list(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]


def flatten_list(nested):
    return [x for sub in nested for x in sub]


def merge_dicts(base, extra):
    merged = dict(base)
    merged.update(extra)
    return merged
'''

PY_NET = '''\
"""URL helpers and a small cache."""
from urllib.parse import urlparse


def parse_query_string(query):
    params = {}
    for part in query.split("&"):
        if "=" in part:
            key, value = part.split("=", 1)
            params[key] = value
    return params


def build_url(host, path, port=80):
    return "http://%s:%d/%s" % (host, port, path.lstrip("/"))


def get_host_name(url):
    return urlparse(url).hostname


def is_local_address(host):
    return host in ("localhost", "127.0.0.1", "::1")


class Cache:
    def __init__(self):
        self._items = {}

    def get_item(self, key, default=None):
        return self._items.get(key, default)

    def set_item(self, key, value):
        self._items[key] = value

    def has_key(self, key):
        return key in self._items

    def clear_all(self):
        self._items.clear()
'''

PY_PROJECT = {"tinyproj/__init__.py": "", "tinyproj/text.py": PY_TEXT, "tinyproj/files.py": PY_FILES,
              "tinyproj/mathx.py": PY_MATH, "tinyproj/net.py": PY_NET}
PY_NAMES = 8 + 8 + 8 + 8   # __init__ is dropped (one subtoken)


JAVA_UTIL = """\
package org.tiny.util;

import java.util.ArrayList;
import java.util.List;

public final class Strings {
    private Strings() {}

    public static boolean isBlank(String s) {
        return s == null || s.trim().isEmpty();
    }

    public static String repeatString(String s, int times) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < times; i++) {
            sb.append(s);
        }
        return sb.toString();
    }

    public static List<String> splitLines(String text) {
        List<String> out = new ArrayList<>();
        for (String line : text.split("\\n")) {
            out.add(line);
        }
        return out;
    }

    public static int countVowels(String s) {
        int n = 0;
        for (char c : s.toCharArray()) {
            if ("aeiou".indexOf(c) >= 0) n++;
        }
        return n;
    }

    public static String capitalizeFirst(String s) {
        if (s.isEmpty()) return s;
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
"""

JAVA_MODEL = """\
package org.tiny.model;

public class Account {
    private long balance;
    private String owner;

    public long getBalance() {
        return balance;
    }

    public void setOwner(String owner) {
        this.owner = owner;
    }

    public void depositAmount(long amount) {
        if (amount <= 0) {
            throw new IllegalArgumentException("amount");
        }
        balance += amount;
    }

    public boolean canWithdraw(long amount) {
        return amount > 0 && amount <= balance;
    }

    @Override
    public String toString() {
        return owner + ": " + balance;
    }
}
"""


def write_files(root, files):
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def train_tree2seq(corpus, *, size, lr, max_steps, seed=0):
    """Build the vocabularies and the batch the project's way and fit a Tree2Seq."""
    examples = corpus.train
    types, tokens, targets = corpus.build_vocabs(min_freq=1)
    trees, tgt, _ = mn.batch_examples(examples, types, tokens, targets)
    assert tgt[0, 0] == targets.bos_id == 2 and targets.eos_id == 3 and targets.pad_id == 0
    seed_all(seed)
    model = Tree2Seq(len(tokens), len(types), len(targets), embed_size=size, hidden_size=size,
                     pad_idx=targets.pad_id, bos_idx=targets.bos_id, eos_idx=targets.eos_id)
    args = (trees.token_ids, trees.node_type_ids, trees.parent)
    losses, final = train(model, lambda: model.loss(*args, tgt), lr, max_steps, target=0.01)
    max_len = tgt.shape[1]
    decoded = [targets.decode(ids) for ids in model.greedy_decode(*args, max_len=max_len)]
    return losses, final, decoded, [e.target for e in examples]


def test_tree2seq_overfits_real_python_functions(tmp_path):
    root = write_files(tmp_path / "src", PY_PROJECT)
    corpus = mn.build_python_corpus(root, fractions=(1.0, 0.0, 0.0), cache=False, progress=False)
    examples = corpus.train
    # the fixture is what the pipeline made of it: every function but __init__, names hidden
    assert len(examples) == PY_NAMES and not corpus.problems
    assert corpus.stats["dropped_short_name"] == 1
    assert all(e.tree.tokens[-1] == mn.METHOD_NAME and e.name not in e.tree.tokens for e in examples)
    by = {e.name: e for e in examples}
    assert by["is_valid_email"].target == ["is", "valid", "email"]
    assert "<str>" not in by["is_valid_email"].tree.tokens          # docstring removed
    assert sum(len(e.tree) for e in examples) > 400 and max(len(e.tree) for e in examples) > 30

    losses, final, decoded, expected = train_tree2seq(corpus, size=32, lr=1e-2, max_steps=300)
    assert final < 0.05, (final, losses[::25])
    acc = exact_match(decoded, expected)
    assert acc >= 0.9, (acc, [(d, e) for d, e in zip(decoded, expected) if d != e])


@pytest.mark.skipif(not mn.java_available(), reason="tree-sitter-java not installed")
def test_tree2seq_overfits_real_java_methods(tmp_path):
    root = write_files(tmp_path / "jsrc", {"tiny.util/org/tiny/util/Strings.java": JAVA_UTIL,
                                           "tiny.model/org/tiny/model/Account.java": JAVA_MODEL})
    corpus = mn.build_java_corpus(root, fractions=(1.0, 0.0, 0.0), cache=False, progress=False)
    examples = corpus.train
    assert sorted(e.name for e in examples) == sorted(
        ["isBlank", "repeatString", "splitLines", "countVowels", "capitalizeFirst", "getBalance",
         "setOwner", "depositAmount", "canWithdraw", "toString"])
    assert all(e.tree.node_types[-1] == "method_declaration" for e in examples)

    losses, final, decoded, expected = train_tree2seq(corpus, size=24, lr=1e-2, max_steps=200)
    assert final < 0.05, (final, losses[::25])
    assert decoded == expected


# =========================================================================== translation

def write_mo(path, messages):
    """A minimal little-endian GNU ``.mo`` file: ``messages`` maps msgid to msgstr
    (``""`` is the header)."""
    items = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in messages.items())
    n = len(items)
    orig_off = 28
    trans_off = orig_off + 8 * n
    ids_start = trans_off + 8 * n
    ids = b"".join(k + b"\0" for k, _ in items)
    strs_start = ids_start + len(ids)
    otab, ttab, pos_i, pos_s = [], [], 0, 0
    for k, v in items:
        otab.append(struct.pack("<2I", len(k), ids_start + pos_i))
        ttab.append(struct.pack("<2I", len(v), strs_start + pos_s))
        pos_i += len(k) + 1
        pos_s += len(v) + 1
    header = struct.pack("<7I", 0x950412DE, 0, n, orig_off, trans_off, 0, 0)
    strs = b"".join(v + b"\0" for _, v in items)
    path.write_bytes(header + b"".join(otab) + b"".join(ttab) + ids + strs)
    return path


# Messages of the kind real programs translate (msgid English, msgstr French),
# with the markup, accelerators and format specifiers that the reader cleans.
MESSAGES = {
    "": "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n > 1);\n",
    "Open file": "Ouvrir le fichier",
    "Save all files": "Enregistrer tous les fichiers",
    "_Quit": "_Quitter",
    "Close the window": "Fermer la fenêtre",
    "Could not open %s": "Impossible d'ouvrir %s",
    "The file is empty.": "Le fichier est vide.",
    "Delete the selected items?": "Supprimer les éléments sélectionnés ?",
    "Permission denied": "Permission refusée",
    "No such file or directory": "Aucun fichier ou dossier de ce type",
    "Show hidden files": "Afficher les fichiers cachés",
    "Print the document": "Imprimer le document",
    "Copy to clipboard": "Copier dans le presse-papiers",
    "Search for text": "Rechercher du texte",
    "Replace all": "Tout remplacer",
    "Connection lost": "Connexion perdue",
    "Network is unreachable": "Le réseau est inaccessible",
    "Waiting for the server": "En attente du serveur",
    "Download finished": "Téléchargement terminé",
    "The password is too short.": "Le mot de passe est trop court.",
    "Enter your name": "Entrez votre nom",
    "Choose a folder": "Choisissez un dossier",
    "Undo the last change": "Annuler la dernière modification",
    "<b>Warning:</b> the disk is full": "<b>Attention :</b> le disque est plein",
    "Remove %s from the list": "Retirer %s de la liste",
    "Settings saved": "Paramètres enregistrés",
    "Check for updates": "Rechercher des mises à jour",
    "Unknown error": "Erreur inconnue",
    "Restart the application now?": "Redémarrer l'application maintenant ?",
    "Keyboard shortcuts": "Raccourcis clavier",
    "%d file\x00%d files": "%d fichier\x00%d fichiers",
}


def test_transformer_overfits_real_french_english_pairs(tmp_path):
    mo = write_mo(tmp_path / "messages.mo", MESSAGES)
    corpus = pt.load_gettext_pairs([mo], cache=False, progress=False)
    pairs = corpus.pairs
    # read and cleaned by the project's reader: 30 entries, the plural one giving two pairs
    assert len(pairs) == 31 and not corpus.problems
    assert ("Quitter", "Quit") in pairs
    assert ("Impossible d'ouvrir <var>", "Could not open <var>") in pairs
    assert ("Attention : le disque est plein", "Warning: the disk is full") in pairs
    assert len({s for s, _ in pairs}) == len(pairs)        # every source has one translation

    tokenized = corpus.tokenize()
    src_vocab, tgt_vocab = corpus.build_vocabs(pairs, min_freq=1)
    assert tokenized[pairs.index(("Impossible d'ouvrir <var>", "Could not open <var>"))][0] == [
        "impossible", "d'", "ouvrir", "<var>"]
    src, _ = pad_sequences([src_vocab.encode(s) for s, _ in tokenized], pad_id=src_vocab.pad_id)
    tgt, _ = pad_sequences([tgt_vocab.encode(t, add_bos=True, add_eos=True) for _, t in tokenized],
                           pad_id=tgt_vocab.pad_id)
    expected = [t for _, t in tokenized]

    seed_all(0)
    model = Transformer(len(src_vocab), len(tgt_vocab), d_model=32, nhead=2, num_encoder_layers=2,
                        num_decoder_layers=2, dropout=0.0, pad_idx=tgt_vocab.pad_id,
                        bos_idx=tgt_vocab.bos_id, eos_idx=tgt_vocab.eos_id)
    losses, final = train(model, lambda: model.loss(src, tgt), lr=3e-3, max_steps=300, target=0.01)
    assert final < 0.05, (final, losses[::25])
    decoded = [tgt_vocab.decode(ids) for ids in model.greedy_decode(src, max_len=tgt.shape[1])]
    acc = exact_match(decoded, expected)
    assert acc >= 0.9, (acc, [(d, e) for d, e in zip(decoded, expected) if d != e])


# =========================================================================== language model

TEXT = """\
The cat sat on the mat and looked at the door.
A small dog ran across the garden after a red ball.
My sister reads a book every evening before she goes to sleep.
The train to the city leaves at seven in the morning.
We planted tomatoes and beans in the spring.
He forgot his umbrella, so he got wet on the way home.
The children built a castle of sand on the beach.
Please close the window when you leave the room.
The old man told us a story about the sea.
She bought fresh bread and cheese at the market.
It rained all night, and the river rose over its banks.
The teacher wrote the answer on the board.
Our neighbours are painting their house blue.
I lost my keys and found them under the sofa.
The birds sing loudly in the trees at dawn.
They walked along the river until the sun went down.
The coffee in this small cafe is very good.
He fixed the old bicycle with a new chain.
The museum opens at ten and closes at six.
A cold wind blew from the north all week.
"""


class WordLM(nn.Module):
    """Embedding -> LSTM -> Linear: logits of the next word at every position."""

    def __init__(self, vocab_size, embed_size, hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.lstm = LSTM(embed_size, hidden_size, batch_first=True)
        self.output = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids):
        out, _ = self.lstm(self.embedding(ids))
        return self.output(out)


def test_lstm_language_model_overfits_real_sentences():
    words = tokenize(TEXT, "en")
    vocab = Vocab.build([words])
    ids = np.array(vocab.encode(words), dtype=np.int64)
    assert len(ids) > 200 and len(vocab) > 100 and vocab.unk_id not in ids
    # batched as language models are: the text cut into B streams read side by side;
    # every next word is then determined by the stream read so far
    B = 8
    T = len(ids) // B
    streams = ids[:B * T].reshape(B, T)
    inputs, targets = streams[:, :-1], streams[:, 1:]

    seed_all(0)
    model = WordLM(len(vocab), 32, 64)

    def loss_fn():
        logits = model(mg.tensor(inputs))
        return F.cross_entropy(logits.reshape((-1, len(vocab))), mg.tensor(targets.reshape(-1)))

    losses, final = train(model, loss_fn, lr=1e-2, max_steps=400, target=0.01)
    assert final < 0.05, (final, losses[::25])
    with mg.no_grad():
        predicted = model(mg.tensor(inputs)).numpy().argmax(-1)
    accuracy = (predicted == targets).mean()
    assert accuracy >= 0.99, accuracy
