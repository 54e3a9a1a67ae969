r"""Method naming from real code: (AST of a method) → (its name as subtokens).

An example is one function or method with a body. Its input is the method's
abstract syntax tree, every node carrying a *node type* and possibly a *token*;
its target is the method's name split into lower-case subtokens
(:func:`~experiments.datasets.vocab.split_subtokens`: camelCase, snake_case,
digits dropped, as code2seq). Sources:

* Python, parsed with the standard :mod:`ast` module (:func:`build_python_corpus`);
  by default the running interpreter's own standard library, tests excluded;
* Java, parsed with tree-sitter-java, from a directory or a ``.zip`` of sources
  such as the JDK's ``src.zip`` (:func:`build_java_corpus`);
* ASTs already exported as JSON lines (:func:`load_jsonl_corpus`).

The tree
--------
:class:`Tree` holds three parallel sequences over its nodes, in **post-order**:
every node comes after all of its children, children in source order, and the
root is the last node. ``parent[i]`` is the index of node i's parent (always
greater than i) and ``-1`` for the root. The Child-Sum TreeLSTM schedules nodes
by height from ``parent`` alone, so it does not rely on this order, but a
simple sequential evaluator can walk the arrays from 0 to n-1.

``node_types[i]`` is the syntactic category (Python: the ``ast`` class name,
``Call``, ``Name``; Java: the tree-sitter node type, ``method_invocation``,
``identifier``). ``tokens[i]`` is the text the node carries, ``""`` when it
carries none:

* identifiers: the identifier (``Name.id``, ``Attribute.attr``, ``arg.arg``,
  keyword names, imported names; Java ``identifier``, ``type_identifier``);
* operators are folded into the node that applies them: a Python ``BinOp``
  gets the token ``Add``, a ``Compare`` ``Lt`` (``Lt,Eq`` for a chain); a Java
  ``binary_expression`` gets ``+``; Python's ``Load``/``Store`` contexts are
  dropped;
* literals: numbers as written when at most 10 characters, otherwise
  ``<num>``; strings kept when they look like an identifier of at most 30
  characters (``"utf_8"``, a key, an attribute name), otherwise ``<str>``;
  ``True``/``False``/``None`` (Java ``true``, ``null``) as themselves;
* Java nodes without named children but with keywords (``modifiers``,
  ``integral_type``) get the keywords joined by spaces (``public static``).

Docstrings of the method and of functions and classes nested in it are
removed (they often spell out the name); Java comments are skipped.

The method's own name is hidden: the root (the definition) gets the token
:data:`METHOD_NAME` instead of the name, and so does every other node whose
token equals the name (recursive calls ``f(...)``, ``self.f(...)``, a string
``"f"``). Names inside other identifiers (``_f_impl``) are left alone.

Which methods are kept
----------------------
Python: every ``def`` and ``async def`` at any depth (module functions,
methods, nested functions). Java: every ``method_declaration`` that has a body
(not abstract, interface or native methods; not constructors, whose name is
the class's). Then names with fewer than ``min_subtokens`` subtokens (default
2: ``__init__``, ``run``) are dropped, and trees larger than ``max_nodes``
when given. Every drop is counted in ``corpus.stats``.

Bad input
---------
Source trees are read as they are found, so anything may sit under a source
name. Only regular files are read, at most 64 MiB each
(:mod:`experiments.datasets.files`): a FIFO named ``x.py`` is not opened for a
blocking read, a device or directory is not read, a symlink loop is an
unreadable file. A Python file that is binary (NUL bytes), not decodable
(neither UTF-8 nor its declared encoding), does not parse (``SyntaxError``) or
nests too deeply is skipped. tree-sitter recovers from syntax errors, so a Java
file always parses: its methods whose subtree contains an error node are
dropped and counted, and the file is listed with the line of the first error;
a binary Java source, and a zip member that cannot be read (encrypted, an
unknown compression, a wrong checksum), are skipped. A JSON line that is not
UTF-8, not JSON, not an object, or has a bad tree, name, project or target is
skipped; the lines after it are still read.

Every skipped file and line is listed in ``corpus.problems`` (path, line,
message and ``reason``) and counted in ``corpus.stats``: ``files_skipped`` and
``lines_skipped`` in total, ``files_skipped_by_reason`` and
``lines_skipped_by_reason`` per reason (``not_regular``, ``unreadable``,
``too_large``, ``binary``, ``not_text``, ``syntax_error``, ``too_deep``,
``bad_tree``, ``bad_zip_member``; ``not_utf8``, ``bad_json``, ``not_an_object``,
``bad_tree``, ``bad_name``, ``bad_project``, ``bad_target``), also shown by
:meth:`MethodCorpus.summary`.

Splits
------
:func:`split_by_project` assigns whole *projects* to train/validation/test
(default 80/10/10 of the examples, seeded), so no project contributes to two
splits, as the method-naming studies split by repository. The project of a
Python file is its top-level module or package (``email`` for
``email/mime/text.py``, ``json`` for ``json/__init__.py``, ``os`` for
``os.py``); of a Java file the JPMS module directory when the sources are laid
out by module, as the JDK's ``src.zip`` is (``java.base/java/util/List.java``
→ ``java.base``), otherwise the top-level package directory.

Caching
-------
Extracted examples are cached (see :mod:`.cache`) under a key made of the
extraction options and a fingerprint of the source files (path, size, mtime),
as one ``.npz`` of flat integer arrays plus a JSON manifest; the split is
recomputed on load (cheap), so changing ``seed`` or ``fractions`` reuses the
cache. A cache file that is corrupted or inconsistent in any way (indices out
of range, malformed records, arrays declaring more bytes than the file holds,
not a regular file) is ignored with a warning and rebuilt; a cache that
cannot be written is warned about and the corpus returned anyway.

Modules
-------
:mod:`.records` (the trees, examples, problems and corpora, and the rules every
extractor shares), :mod:`.python_ast` (Python extraction), :mod:`.java_ast` (Java
extraction), :mod:`.corpus` (building, loading and splitting corpora),
:mod:`.caching` (the cache layout), :mod:`.batching` (trees and targets batched for
the models). Every name is importable from this package.
"""
from .batching import TreeBatch, batch_examples, batch_trees, encode_tree
from .caching import EXTRACTOR_VERSION
from .corpus import _progress, build_java_corpus, build_python_corpus, load_jsonl_corpus, split_by_project
from .java_ast import java_available, java_methods_from_source
from .python_ast import iter_python_files, python_methods_from_source, python_stdlib_dir
from .records import METHOD_NAME, MethodCorpus, MethodExample, Problem, Tree

__all__ = [
    "METHOD_NAME",
    "Tree",
    "MethodExample",
    "Problem",
    "MethodCorpus",
    "TreeBatch",
    "python_methods_from_source",
    "java_methods_from_source",
    "iter_python_files",
    "build_python_corpus",
    "build_java_corpus",
    "load_jsonl_corpus",
    "split_by_project",
    "python_stdlib_dir",
    "java_available",
    "encode_tree",
    "batch_trees",
    "batch_examples",
]
