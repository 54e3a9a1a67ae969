"""Real data for the experiments, read offline from files on the machine.

* :mod:`.method_naming`: method-naming corpora (AST of a method → its name as
  subtokens) from Python sources (the standard library by default), Java
  sources through tree-sitter-java (a directory or the JDK's ``src.zip``) and
  ASTs exported as JSON lines; split train/validation/test by project.
* :mod:`.parallel_text`: French–English sentence pairs from the gettext
  catalogs (``.mo``) of the French locale, and a loader for Tatoeba TSV files.
* :mod:`.vocab`: tokenisation and vocabularies (``<pad> <unk> <s> </s>``).
* :mod:`.cache`: atomic, pickle-free cache files (JSON or ``.npz``).
* :mod:`.files`: hostile inputs: regular files only, bounded reads, skips with a
  reason; safe cache file names.
"""
from .cache import default_cache_dir
from .files import SkippedInput
from .method_naming import (
    METHOD_NAME,
    MethodCorpus,
    MethodExample,
    Problem,
    Tree,
    TreeBatch,
    batch_examples,
    batch_trees,
    build_java_corpus,
    build_python_corpus,
    encode_tree,
    java_available,
    java_methods_from_source,
    load_jsonl_corpus,
    python_methods_from_source,
    split_by_project,
)
from .parallel_text import (
    ParallelCorpus,
    find_mo_files,
    load_gettext_pairs,
    load_tatoeba_tsv,
    read_mo,
)
from .vocab import (
    BOS,
    EOS,
    PAD,
    SPECIALS,
    UNK,
    Vocab,
    VocabError,
    detokenize,
    pad_sequences,
    split_subtokens,
    tokenize,
)

__all__ = [
    "METHOD_NAME", "MethodCorpus", "MethodExample", "Problem", "Tree", "TreeBatch", "batch_examples",
    "batch_trees", "build_java_corpus", "build_python_corpus", "encode_tree", "java_available",
    "java_methods_from_source", "load_jsonl_corpus", "python_methods_from_source", "split_by_project",
    "ParallelCorpus", "find_mo_files", "load_gettext_pairs", "load_tatoeba_tsv", "read_mo",
    "BOS", "EOS", "PAD", "SPECIALS", "UNK", "Vocab", "detokenize", "pad_sequences", "split_subtokens",
    "tokenize", "default_cache_dir", "VocabError", "SkippedInput",
]
